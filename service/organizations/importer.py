"""Bulk import of an organization tree from xlsx or CSV.

All or nothing: every row is checked first and every problem is reported with its row number
and column; only a clean file is applied. Codes are the natural key, so importing the same
file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.context import Actor
from service.errors import DomainError, ImportRejected
from service.organizations import operations as ops
from service.organizations.models import KIND_LABELS, Organization, OrgKind

# Column -> accepted headers (English identifiers and the Chinese headers used in the documents).
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "组织编码", "代码"),
    "name": ("name", "名称", "组织名称", "党组织名称"),
    "kind": ("kind", "类型", "组织类型"),
    "parent_code": ("parent_code", "上级编码", "上级组织编码"),
    "domain": ("domain", "领域", "所属领域"),
    "coordination_area": ("coordination_area", "协作区"),
    "secretary": ("secretary", "书记", "党组织书记"),
    "contact_email": ("contact_email", "联系邮箱", "邮箱"),
    "member_count": ("member_count", "党员数", "党员人数"),
    "founded_on": ("founded_on", "成立日期", "成立时间"),
}
REQUIRED = ("code", "name", "kind")
KIND_BY_TEXT = {k.value: k.value for k in OrgKind} | {v: k.value for k, v in KIND_LABELS.items()}
KIND_BY_TEXT |= {"党工委": "committee", "党组": "committee", "基层党委": "committee"}
GRASSROOTS_TEXT = "基层党委"  # a committee graded like a branch (Organization.grassroots)

XLSX_MAGIC = b"PK\x03\x04"
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")  # as the API's organization code
MEMBER_COUNT = re.compile(r"^[0-9]{1,7}$")  # ASCII digits only ("²" is a digit to isdigit())
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


@dataclass
class RowError:
    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ParsedRow:
    number: int
    values: dict[str, Any]


@dataclass
class ImportReport:
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False


def read_table(data: bytes, max_rows: int) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """Headers and numbered rows (the header is row 1, as a spreadsheet shows it)."""
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, max_rows)
    return _read_csv(data, max_rows)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            "the file is neither UTF-8 nor GB18030 text, nor an xlsx workbook",
            errors=[RowError(1, None, f"undecodable byte at offset {exc.start}").as_dict()],
        ) from exc


def _read_csv(data: bytes, max_rows: int) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    text = _decode(data)
    if "\x00" in text:  # no text column stores it (PostgreSQL refuses it outright)
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportRejected(
            f"line {line} holds a NUL character",
            errors=[RowError(line, None, "NUL character").as_dict()],
        )
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        rows = list(itertools.islice(reader, max_rows + 2))  # the header, the cap, one more
    except csv.Error as exc:  # a NUL byte, a field past csv's size limit, a broken quote
        raise ImportRejected(
            f"the CSV cannot be read at line {reader.line_num}: {exc}",
            errors=[RowError(reader.line_num, None, str(exc)).as_dict()],
        ) from exc
    if not rows:
        raise ImportRejected(
            "the file is empty", errors=[RowError(1, None, "no header row").as_dict()]
        )
    _check_size(len(rows) - 1, max_rows)
    return [h.strip() for h in rows[0]], ((i, r) for i, r in enumerate(rows[1:], start=2))


# What the workbook's parts may inflate to in all, by what the zip says of itself — checked
# before any part is read, so a small file that would inflate a thousandfold costs nothing.
MAX_INFLATED = 64 * 1024 * 1024
MAX_RATIO = 200


def _check_inflation(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except zipfile.BadZipFile:
        return  # not a zip: openpyxl says what it is not
    inflated = sum(p.file_size for p in parts)
    packed = max(1, sum(p.compress_size for p in parts))
    if inflated > MAX_INFLATED or inflated / packed > MAX_RATIO:
        raise ImportRejected(
            f"the workbook would inflate to {inflated:,} bytes ({inflated // packed}× its size): "
            "not a sheet of organizations",
            errors=[RowError(1, None, "the workbook inflates too far").as_dict()],
        )


def _read_xlsx(data: bytes, max_rows: int) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:

    from openpyxl import load_workbook

    _check_inflation(data)
    workbook = None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not workbook.worksheets:
            raise ValueError("the workbook has no sheet")
        sheet = workbook.worksheets[0]
        # rows are read lazily and no further than the cap: a small file that inflates to a
        # million rows (a decompression bomb) stops here
        rows = list(itertools.islice(sheet.iter_rows(values_only=True), max_rows + 2))
    except Exception as exc:  # any parser failure is the file's fault, not ours
        raise ImportRejected(
            "the file looks like xlsx but cannot be read",
            errors=[RowError(1, None, f"unreadable workbook: {exc}"[:300]).as_dict()],
        ) from exc
    finally:
        if workbook is not None:
            workbook.close()
    if not rows:
        raise ImportRejected(
            "the sheet is empty", errors=[RowError(1, None, "no header row").as_dict()]
        )
    _check_size(len(rows) - 1, max_rows)
    headers = ["" if h is None else str(h).strip() for h in rows[0]]
    return headers, ((i, list(r)) for i, r in enumerate(rows[1:], start=2))


def _check_size(count: int, max_rows: int) -> None:
    if count > max_rows:
        raise ImportRejected(
            f"the file has more than {max_rows} rows; at most {max_rows} are imported at once",
            errors=[RowError(1, None, f"more than {max_rows} rows").as_dict()],
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell(value)
    for pattern in DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)")


def parse_rows(
    headers: list[str], rows: Iterator[tuple[int, list[Any]]], domains: dict[str, str]
) -> tuple[list[ParsedRow], list[RowError]]:
    errors: list[RowError] = []
    index: dict[str, int] = {}
    for position, header in enumerate(headers):
        for column, aliases in COLUMNS.items():
            if header in aliases or header.lower() in aliases:
                if column in index:
                    errors.append(RowError(1, header, f"column {column} appears twice"))
                index[column] = position
                break
        else:
            if header:
                errors.append(RowError(1, header, "unknown column"))
    for column in REQUIRED:
        if column not in index:
            errors.append(RowError(1, column, "required column is missing"))
    if errors:
        return [], errors

    domain_by_text = {c: c for c in domains} | {label: c for c, label in domains.items()}
    parsed: list[ParsedRow] = []
    seen: dict[str, int] = {}
    for number, raw in rows:
        cells = {c: (raw[i] if i < len(raw) else None) for c, i in index.items()}
        if all(_cell(v) == "" for v in cells.values()):
            continue  # blank lines at the end of a sheet are common
        values: dict[str, Any] = {}
        for column in REQUIRED:
            if _cell(cells.get(column)) == "":
                errors.append(RowError(number, column, "is required"))
        code = _cell(cells.get("code"))
        if code:
            if not CODE.match(code):
                errors.append(
                    RowError(number, "code", "letters, digits, '.', '_' or '-', at most 64")
                )
            if code in seen:
                errors.append(RowError(number, "code", f"{code!r} repeats row {seen[code]}"))
            seen.setdefault(code, number)
        values["code"] = code
        values["name"] = _cell(cells.get("name"))
        if len(values["name"]) > 200:
            errors.append(RowError(number, "name", "longer than 200 characters"))
        kind_text = _cell(cells.get("kind"))
        if kind_text:
            if kind_text not in KIND_BY_TEXT:
                errors.append(RowError(number, "kind", f"unknown kind {kind_text!r}"))
            values["kind"] = KIND_BY_TEXT.get(kind_text)
            values["grassroots"] = kind_text == GRASSROOTS_TEXT
        values["parent_code"] = _cell(cells.get("parent_code")) or None
        domain_text = _cell(cells.get("domain"))
        values["domain"] = None
        if domain_text:
            if domain_text not in domain_by_text:
                errors.append(RowError(number, "domain", f"unknown 领域 {domain_text!r}"))
            values["domain"] = domain_by_text.get(domain_text)
        elif values.get("kind") in (OrgKind.BRANCH, OrgKind.GENERAL_BRANCH) or values.get(
            "grassroots"
        ):
            errors.append(
                RowError(number, "domain", "required for a branch, general branch or 基层党委")
            )
        for column, limit in (("coordination_area", 100), ("secretary", 100)):
            text = _cell(cells.get(column))
            if len(text) > limit:
                errors.append(RowError(number, column, f"longer than {limit} characters"))
            values[column] = text or None
        if "contact_email" in cells:  # absent column: the address kept as it is
            email = _cell(cells.get("contact_email"))
            if email and (len(email) > 200 or not EMAIL.match(email)):
                errors.append(RowError(number, "contact_email", f"{email!r} is not an address"))
            values["contact_email"] = email or None
        count_text = _cell(cells.get("member_count"))
        values["member_count"] = 0
        if count_text:
            if not MEMBER_COUNT.match(count_text) or int(count_text) > 1_000_000:
                errors.append(
                    RowError(number, "member_count", f"{count_text!r} is not a whole number ≥ 0")
                )
            else:
                values["member_count"] = int(count_text)
        founded = cells.get("founded_on")
        values["founded_on"] = None
        if _cell(founded):
            try:
                values["founded_on"] = _parse_date(founded)
            except ValueError as exc:
                errors.append(RowError(number, "founded_on", str(exc)))
        parsed.append(ParsedRow(number, values))
    return parsed, errors


def import_tree(
    session: Session,
    actor: Actor,
    data: bytes,
    *,
    authorize_parent: Callable[[Organization], None],
    max_rows: int,
    dry_run: bool = False,
) -> ImportReport:
    headers, rows = read_table(data, max_rows)
    parsed, errors = parse_rows(headers, rows, ops.domain_codes(session))
    if errors:
        raise _rejected(errors)
    by_code = {r.values["code"]: r for r in parsed}
    existing = {
        o.code: o
        for o in session.scalars(select(Organization).where(Organization.code.in_(list(by_code))))
    }
    parent_codes = {r.values["parent_code"] for r in parsed if r.values["parent_code"]}
    outside = parent_codes - set(by_code) - set(existing)
    known_parents = {
        o.code: o
        for o in session.scalars(select(Organization).where(Organization.code.in_(list(outside))))
    }
    for row in parsed:
        pc = row.values["parent_code"]
        if pc is None:
            if (
                row.values["code"] not in existing
                or existing[row.values["code"]].parent_id is not None
            ):
                errors.append(
                    RowError(row.number, "parent_code", "is required (roots are not imported)")
                )
        elif pc not in by_code and pc not in existing and pc not in known_parents:
            errors.append(RowError(row.number, "parent_code", f"no organization has code {pc!r}"))
        elif pc == row.values["code"]:
            errors.append(
                RowError(row.number, "parent_code", "an organization cannot be its own parent")
            )
    if errors:
        raise _rejected(errors)

    order = _topological(parsed, by_code, errors)
    if errors:
        raise _rejected(errors)

    report = ImportReport(rows=len(parsed), dry_run=dry_run)
    resolved: dict[str, Organization] = {**known_parents, **existing}
    savepoint = session.begin_nested()
    for row in order:
        _apply_row(session, actor, row, resolved, existing, authorize_parent, report, errors)
    if errors or dry_run:
        savepoint.rollback()  # a dry run reports what would happen and leaves nothing behind
        if errors:
            raise _rejected(errors)
    else:
        savepoint.commit()
    return report


def _apply_row(
    session: Session,
    actor: Actor,
    row: ParsedRow,
    resolved: dict[str, Organization],
    existing: dict[str, Organization],
    authorize_parent: Callable[[Organization], None],
    report: ImportReport,
    errors: list[RowError],
) -> None:
    v = row.values
    parent = resolved.get(v["parent_code"]) if v["parent_code"] else None
    try:
        if parent is not None:
            authorize_parent(parent)
        current = existing.get(v["code"])
        fields = {k: v[k] for k in ops.EDITABLE_FIELDS if k in v}
        if current is None:
            resolved[v["code"]] = ops.create_organization(
                session, actor, parent, {"code": v["code"], **fields}
            )
            report.created.append(v["code"])
            return
        authorize_parent(current)
        changes = {k: val for k, val in fields.items() if getattr(current, k) != val}
        moving = parent is not None and parent.id != current.parent_id
        if not changes and not moving:
            report.unchanged.append(v["code"])
            return
        ops.update_organization(
            session,
            actor,
            current,
            changes,
            new_parent=parent if moving else None,
            reason="bulk import",
        )
        (report.moved if moving else report.updated).append(v["code"])
    except DomainError as exc:
        column = "parent_code" if exc.errors and "parent_id" in exc.errors else None
        if isinstance(exc.errors, dict) and column is None:
            column = next(iter(exc.errors), None)
        errors.append(RowError(row.number, column, exc.detail))


def _topological(
    parsed: list[ParsedRow], by_code: dict[str, ParsedRow], errors: list[RowError]
) -> list[ParsedRow]:
    """Parents before children; a cycle inside the file is reported on each of its rows."""
    order: list[ParsedRow] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for row in parsed:
        chain: list[ParsedRow] = []
        code: str | None = row.values["code"]
        while code in by_code and state.get(code) != 2:
            if state.get(code) == 1:
                for bad in chain:
                    errors.append(
                        RowError(bad.number, "parent_code", "the file's parent codes form a cycle")
                    )
                return order
            state[code] = 1
            chain.append(by_code[code])
            code = by_code[code].values["parent_code"]
        for item in reversed(chain):
            state[item.values["code"]] = 2
            order.append(item)
    return order


def _rejected(errors: list[RowError]) -> ImportRejected:
    errors = sorted(errors, key=lambda e: (e.row, e.column or ""))
    rows = sorted({e.row for e in errors})
    return ImportRejected(
        f"{len(errors)} problem(s) in {len(rows)} row(s); nothing was imported",
        errors=[e.as_dict() for e in errors],
    )
