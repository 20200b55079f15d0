"""Reports as CSV (UTF-8 with BOM, so Excel opens it right) and xlsx (openpyxl, write-only)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter


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
                row += [figures["count"], float(figures["share"])]
            rows.append(row)
    return header, rows


def progress_table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["单位", "项目", "数量"]
    rows: list[list[Any]] = []
    for unit in report["gradings_by_unit"]:
        rows += [[unit["unit"], f"状态:{state}", n] for state, n in sorted(unit["states"].items())]
    rows += [["", f"逾期:{state}", n] for state, n in sorted(report["overdue_by_stage"].items())]
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


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(
    title: str, header: list[str], rows: Iterable[list[Any]], widths: list[int]
) -> bytes:
    """A write-only workbook: rows are written as they come, not held in memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("报表")
    sheet.freeze_panes = "A3"
    for n, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    title_cell = WriteOnlyCell(sheet, value=title)
    title_cell.font = Font(bold=True, size=14)
    sheet.append([title_cell])
    bold = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        bold.append(cell)
    sheet.append(bold)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
