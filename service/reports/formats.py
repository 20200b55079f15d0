"""Reports as CSV (UTF-8 with BOM, so Excel opens it right) and xlsx (openpyxl, write-only)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import chain, islice
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from service import calendar
from service.db import utcnow
from service.workflows.states import GRADING_STATE_LABELS


def summary_table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["单位", "党组织数"]
    for level in report["levels"]:
        header += [f"{level['label']}(个)", f"{level['label']}(占比%)"]
    rows = []
    for section, items in (
        ("", report["rows"]),
        ("", [report["total"]]),
        ("领域：", report["by_domain"]),
        ("协作区：", report["by_area"]),
    ):
        for item in items:
            row: list[Any] = [section + item["name"], item["total"]]
            for level in report["levels"]:
                figures = item["levels"][level["code"]]
                row += [figures["count"], figures["share"]]
            rows.append(row)
    return header, rows


def progress_table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["单位", "项目", "数量"]
    rows: list[list[Any]] = []
    for unit in report["gradings_by_unit"]:
        rows += [
            [unit["unit"], f"状态:{GRADING_STATE_LABELS.get(state, state)}", n]
            for state, n in sorted(unit["states"].items())
        ]
    rows += [
        ["", f"逾期:{GRADING_STATE_LABELS.get(state, state)}", n]
        for state, n in sorted(report["overdue_by_stage"].items())
    ]
    items = report["rectification_items"]
    rows += [
        ["", "整改项目:未销号", items["open"]],
        ["", "整改项目:已销号", items["closed"]],
        ["", "整改项目:逾期", items["overdue"]],
    ]
    rows += [
        ["", "测评票:发出", report["ballots"]["issued"]],
        ["", "测评票:收回", report["ballots"]["returned"]],
        ["", "投诉:未办结", report["complaints"]["open"]],
        ["", "投诉:已答复", report["complaints"]["answered"]],
    ]
    return header, rows


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @, tab, CR first), made plain text
    with a leading apostrophe (OWASP CSV injection); other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(header)
    for row in rows:
        writer.writerow([inert(value) for value in row])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


KIND_LABELS = {
    "summary": "汇总表",
    "detail": "明细表",
    "poor-list": "较差基层党组织名单",
    "poor-status": "较差基层党组织状况明细表",
    "progress": "工作进度表",
    "movement": "进步情况表",
    "problems": "问题分类统计表",
    "ranking": "协作区排名表",
}


def report_title(kind: str, campaign: Any, root: Any) -> str:
    """e.g. 兴隆县委2026年基层党组织分类定级汇总表 — also the file's name."""
    return f"{root.name}{campaign.year}年基层党组织分类定级{KIND_LABELS[kind]}"


def report_xlsx(
    kind: str,
    campaign: Any,
    root: Any,
    header: list[str],
    rows: Iterable[list[Any]],
    *,
    provisional: bool,
) -> bytes:
    made = utcnow().astimezone(calendar.zone()).strftime("%Y-%m-%d %H:%M")
    data = "含公示期内的等次（临时）" if provisional else "正式等次"
    footer = f"{campaign.name} · 生成于 {made}（北京时间） · {data}"
    title = report_title(kind, campaign, root)
    if kind in ("poor-list", "poor-status"):
        rows = _none_says_so(header, rows)
    if kind == "detail" and len(header) > DETAIL_PAGE_COLUMNS:
        return xlsx_sheets(detail_parts(title, header, rows), footer=footer)
    return xlsx_bytes(title, header, rows, sheet_name=KIND_LABELS[kind], footer=footer)


def _none_says_so(header: list[str], rows: Iterable[list[Any]]) -> Iterable[list[Any]]:
    """A printed 较差名单 with no organization on it says 无 (nothing was left out), as the
    seed documents' tables are filed; CSV and JSON stay empty for programs."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return [["无", *([None] * (len(header) - 1))]]
    return chain([first], iterator)


# The 明细表 has two columns per indicator (上级, 自评) and one per sub-item: printed on one
# page it shrinks to 4–5 pt. It is printed in parts instead, each at most this many columns
# (legible on A4 landscape), the organization repeated at the left of every part.
DETAIL_PAGE_COLUMNS = 14
DETAIL_IDENTITY = 2  # 单位, 党组织名称: repeated in every part
DETAIL_FIRST = 5  # 单位, 党组织名称, 领域, 书记, 党员数: the first part only
DETAIL_LAST = 4  # 综合得分, 计算等次, 定级等次, 状态: the last part


def _indicator_of(name: str) -> str:
    """工作业绩·发展村级集体经济(上级) → 工作业绩: an indicator's columns stay together."""
    return name.split("(", 1)[0].split("·", 1)[0]


def detail_parts(title: str, header: list[str], rows: Iterable[list[Any]]) -> list[Sheet]:
    """The 明细表 as sheets 明细表（一）, （二）…: the first with the organization's details, then
    whole indicators (both sources and their sub-items) as they fit, the scores and levels
    last; 单位 and 党组织名称 at the left of each."""
    table = [list(row) for row in rows]
    middle = list(range(DETAIL_FIRST, len(header) - DETAIL_LAST))
    groups: list[list[int]] = []
    for n in middle:
        if groups and _indicator_of(header[groups[-1][-1]]) == _indicator_of(header[n]):
            groups[-1].append(n)
        else:
            groups.append([n])
    # an indicator refined per 领域 can have more columns than a page holds: it is cut into
    # pages of its own (the identity columns repeated)
    width = DETAIL_PAGE_COLUMNS - DETAIL_IDENTITY
    groups = [group[n : n + width] for group in groups for n in range(0, len(group), width)]
    parts: list[list[int]] = [list(range(DETAIL_FIRST))]
    for group in groups:
        if len(parts[-1]) + len(group) > DETAIL_PAGE_COLUMNS:
            parts.append(list(range(DETAIL_IDENTITY)))
        parts[-1] += group
    last = list(range(len(header) - DETAIL_LAST, len(header)))
    if len(parts[-1]) + len(last) > DETAIL_PAGE_COLUMNS:
        parts.append(list(range(DETAIL_IDENTITY)))
    parts[-1] += last
    numerals = "一二三四五六七八九十"
    sheets: list[Sheet] = []
    for n, columns in enumerate(parts):
        numeral = numerals[n] if n < len(numerals) else str(n + 1)
        sheets.append(
            (
                f"{KIND_LABELS['detail']}（{numeral}）",
                f"{title}（{numeral}／共{len(parts)}部分）",
                [header[c] for c in columns],
                [[row[c] for c in columns] for row in table],
            )
        )
    return sheets


THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WIDTH_SAMPLE = 200  # rows read ahead to size the columns (the rest stream)


def _width(value: Any) -> int:
    """Display width: a CJK character takes two columns."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def xlsx_bytes(
    title: str,
    header: list[str],
    rows: Iterable[list[Any]],
    *,
    sheet_name: str,
    footer: str,
) -> bytes:
    """A write-only workbook ready to print and file: the title row and the header repeated on
    every page, landscape, fitted to the page width, bordered cells, columns sized to their
    content, and a footer saying when and from what data it was made. Rows are written as they
    come (the first 200 are read ahead to size the columns)."""
    return xlsx_sheets([(sheet_name, title, header, rows)], footer=footer)


Sheet = tuple[str, str, list[str], Iterable[list[Any]]]  # name, title, header, rows


def xlsx_sheets(sheets: Iterable[Sheet], *, footer: str) -> bytes:
    """xlsx_bytes with several sheets, each laid out the same way."""
    workbook = Workbook(write_only=True)
    for sheet_name, title, header, rows in sheets:
        _write_sheet(workbook, sheet_name, title, header, rows, footer)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_sheet(
    workbook: Workbook,
    sheet_name: str,
    title: str,
    header: list[str],
    rows: Iterable[list[Any]],
    footer: str,
) -> None:
    iterator = iter(rows)
    sample = list(islice(iterator, WIDTH_SAMPLE))
    # Columns fit their data; a long header wraps onto a second or third line instead.
    widths = [
        min(40, max(6, *(_width(r[n]) for r in sample), min(_width(name), 10)) + 2)
        for n, name in enumerate(header)
    ]
    sheet = workbook.create_sheet(sheet_name[:31])
    sheet.freeze_panes = "A3"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as it takes
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:2"
    sheet.oddFooter.left.text = footer
    sheet.oddFooter.right.text = "第 &P 页，共 &N 页"
    for n, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    title_cell = WriteOnlyCell(sheet, value=title)
    title_cell.font = Font(bold=True, size=14)
    sheet.append([title_cell])
    lines = max(
        1, *(-(-_width(name) // max(1, int(w) - 2)) for name, w in zip(header, widths, strict=True))
    )
    sheet.row_dimensions[2].height = 15 * lines  # the wrapped header, on as many lines as needed
    sheet.append([_cell(sheet, name, bold=True) for name in header])
    for row in chain(sample, iterator):
        sheet.append([_cell(sheet, value) for value in row])


OUTCOME_LABELS = {"confirmed": "属实", "falsified": "弄虚作假", None: "未检查"}


def spot_check_xlsx(report: dict[str, Any], committees: dict[int, str]) -> bytes:
    """抽查报告: the sample with each finding and what followed, and the accountability ledger
    (`committees`: the names of the committees held to account); the footer names the seed the
    sample was drawn from (docs/spot-checks.md)."""
    check = report["spot_check"]
    made = utcnow().astimezone(calendar.zone()).strftime("%Y-%m-%d %H:%M")
    seed = (
        f"种子 {check.seed}（检查点 {check.checkpoint_tree_size} · 公开值 {check.public_value}）"
        if check.seed
        else "尚未抽取"
    )
    sample = [
        [
            r["organization_code"],
            r["organization_name"],
            r["level"],
            r["stratum"],
            r["rank"],
            OUTCOME_LABELS.get(r["outcome"], r["outcome"]),
            r["evidence"],
            r["description"],
            r["found_by"],
            _local(r["found_at"]),
            r["grading_state"],
            None
            if r["reopen_approval"] is None
            else f"{r['reopen_approval']['id']} {r['reopen_approval']['state']}",
        ]
        for r in report["sample"]
    ]
    checked = {r["grading_id"]: r["organization_name"] for r in report["sample"]}
    ledger = [
        [
            checked.get(a.grading_id, a.grading_id),
            committees.get(a.committee_id, a.committee_id),
            a.persons,
            a.measure,
            a.recorded_by,
            _local(a.recorded_at),
        ]
        for a in report["accountability"]
    ]
    return xlsx_sheets(
        [
            (
                "抽查样本",
                f"{check.title} · 抽查报告（弄虚作假 {report['falsified']} · "
                f"属实 {report['confirmed']}）",
                [
                    "党组织代码",
                    "党组织名称",
                    "等次",
                    "分层",
                    "排序值",
                    "检查结论",
                    "证据",
                    "情况说明",
                    "检查人",
                    "检查时间",
                    "评定状态",
                    "重新评定审批",
                ],
                sample,
            ),
            (
                "责任追究",
                f"{check.title} · 责任追究台账",
                ["被抽查党组织", "被追责党委", "责任人", "处理措施", "记录人", "记录时间"],
                ledger,
            ),
        ],
        footer=f"{seed} · 生成于 {made}（北京时间）",
    )


def _local(moment: Any) -> str | None:
    return None if moment is None else moment.astimezone(calendar.zone()).strftime("%Y-%m-%d %H:%M")


def _cell(sheet: Any, value: Any, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text: "=HYPERLINK(…)" in a name is not a formula
    cell.border = BOX
    if bold:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    elif isinstance(value, Decimal | float):
        cell.number_format = "0.00"
    return cell
