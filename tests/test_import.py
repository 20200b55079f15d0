"""Bulk import of a tree from CSV or xlsx: all or nothing, bad rows named, re-import a no-op."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import date

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.organizations.models import Organization
from tests.conftest import Api, assert_problem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CSV_ZH = """编码,名称,类型,上级编码,领域,协作区,书记,党员数,成立日期
A2,乙镇党委,党委,A,,,,,
A2-01,北村党支部,党支部,A2,农村,北片协作区,张志强,31,2001-07-01
A2-02,乙镇卫生院党支部,党支部,A2,事业单位,,李秀英,12,2010/05/04
"""


def _import(
    api: Api, data: bytes, content_type: str = "text/csv", query: str = "", who: str = "admin"
):  # type: ignore[no-untyped-def]
    return api.post(
        f"/api/v1/organizations/import{query}",
        data=data,
        who=who,
        headers={"Content-Type": content_type},
    )


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Organization)) or 0


def test_a_csv_with_chinese_headers_imports_a_subtree(api: Api, db: Session) -> None:
    response = _import(api, CSV_ZH.encode("utf-8"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == ["A2", "A2-01", "A2-02"]
    branch = db.scalars(select(Organization).where(Organization.code == "A2-02")).one()
    assert branch.domain == "institution" and branch.member_count == 12
    assert branch.founded_on == date(2010, 5, 4)
    assert branch.path.startswith(api.world.org("A").path)


def test_reimporting_the_same_file_changes_nothing(api: Api, db: Session) -> None:
    assert _import(api, CSV_ZH.encode("utf-8")).status_code == 200
    before = _count(db)
    again = _import(api, CSV_ZH.encode("utf-8")).get_json()
    assert again["created"] == [] and again["updated"] == []
    assert again["unchanged"] == ["A2", "A2-01", "A2-02"]
    assert _count(db) == before


def test_a_changed_row_updates_and_a_new_parent_moves(api: Api) -> None:
    assert _import(api, CSV_ZH.encode("utf-8")).status_code == 200
    changed = CSV_ZH.replace("张志强,31", "张志强,33").replace(
        "A2-02,乙镇卫生院党支部,党支部,A2", "A2-02,乙镇卫生院党支部,党支部,A1"
    )
    report = _import(api, changed.encode("utf-8")).get_json()
    assert report["updated"] == ["A2-01"] and report["moved"] == ["A2-02"]


def test_utf8_with_bom_and_gb18030_are_both_read(api: Api) -> None:
    with_bom = "\ufeff" + CSV_ZH
    assert _import(api, with_bom.encode("utf-8"), query="?dry_run=true").status_code == 200
    response = _import(api, CSV_ZH.encode("gb18030"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == ["A2", "A2-01", "A2-02"]


def test_a_row_of_kind_jiceng_dangwei_imports_a_graded_committee(api: Api, db: Session) -> None:
    csv = CSV_ZH + "A2-C1,北村党委,基层党委,A2,农村,,,,\n"
    assert _import(api, csv.encode("utf-8")).status_code == 200
    village = db.scalars(select(Organization).where(Organization.code == "A2-C1")).one()
    assert (village.kind, village.grassroots, village.domain) == ("committee", True, "village")
    township = db.scalars(select(Organization).where(Organization.code == "A2")).one()
    assert township.grassroots is False
    assert _import(api, csv.encode("utf-8")).get_json()["updated"] == []  # unchanged again
    no_domain = CSV_ZH + "A2-C2,南村党委,基层党委,A2,,,,,\n"
    refused = assert_problem(_import(api, no_domain.encode("utf-8")), 422, "import-rejected")
    assert any(e["column"] == "domain" for e in refused["errors"])


def test_bad_rows_are_all_reported_and_nothing_is_imported(api: Api, db: Session) -> None:
    before = _count(db)
    bad = (
        "code,name,kind,parent_code,domain,member_count,founded_on\n"
        "A3,丙镇党委,committee,A,,,\n"
        "A3-01,,branch,A3,village,12,2001-01-01\n"  # row 3: no name
        "A3-02,南村党支部,branch,A3,forest,-4,2001-13-01\n"  # row 4: domain, count, date
        "A3-03,西村党支部,club,NOPE,village,3,\n"  # row 5: kind; parent (after the first pass)
        "A3-01,重复,branch,A3,village,1,\n"  # row 6: repeated code
    )
    body = assert_problem(_import(api, bad.encode()), 422, "import-rejected")
    found = {(e["row"], e["column"]) for e in body["errors"]}
    assert found == {
        (3, "name"),
        (4, "domain"),
        (4, "member_count"),
        (4, "founded_on"),
        (5, "kind"),
        (6, "code"),
    }
    assert "nothing was imported" in body["detail"]
    assert _count(db) == before


def test_an_unknown_parent_code_is_reported_on_its_row(api: Api) -> None:
    csv = "code,name,kind,parent_code,domain\nX-01,某支部,branch,NOPE,village\n"
    body = assert_problem(_import(api, csv.encode()), 422, "import-rejected")
    assert body["errors"] == [
        {"row": 2, "column": "parent_code", "message": "no organization has code 'NOPE'"}
    ]


def test_a_cycle_inside_the_file_is_refused(api: Api, db: Session) -> None:
    before = _count(db)
    csv = "code,name,kind,parent_code,domain\nC1,甲,committee,C2,\nC2,乙,committee,C1,\n"
    body = assert_problem(_import(api, csv.encode()), 422, "import-rejected")
    assert {e["message"] for e in body["errors"]} == {"the file's parent codes form a cycle"}
    assert _count(db) == before


def test_rows_under_an_organization_outside_your_subtree_are_refused(api: Api, db: Session) -> None:
    before = _count(db)
    csv = (
        "code,name,kind,parent_code,domain\n"
        "A1-07,新支部,branch,A1,village\n"
        "B-07,外支部,branch,B,village\n"
    )
    body = assert_problem(_import(api, csv.encode()), 422, "import-rejected")
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, None)]
    assert _count(db) == before


def test_an_xlsx_workbook_imports_like_csv(api: Api) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["编码", "名称", "类型", "上级编码", "领域", "党员数", "成立日期"])
    sheet.append(["A1-05", "新村党支部", "党支部", "A1", "农村", 17, date(2015, 6, 30)])
    sheet.append([None, None, None, None, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = _import(api, buffer.getvalue(), XLSX)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == ["A1-05"]


def test_a_multipart_upload_is_accepted(api: Api) -> None:
    response = api.post(
        "/api/v1/organizations/import",
        data={"file": (io.BytesIO(CSV_ZH.encode()), "tree.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()


def test_a_dry_run_reports_and_writes_nothing(api: Api, db: Session) -> None:
    before = _count(db)
    report = _import(api, CSV_ZH.encode(), query="?dry_run=true").get_json()
    assert report["dry_run"] is True and len(report["created"]) == 3
    assert _count(db) == before


def test_a_file_that_is_not_text_is_rejected_not_crashed(api: Api) -> None:
    assert_problem(_import(api, b"PK\x03\x04garbage", XLSX), 422, "import-rejected")
    assert_problem(
        _import(api, b"\x81\x00\xff\xfe\x00", "application/octet-stream"), 422, "import-rejected"
    )


def test_missing_required_columns_are_named(api: Api) -> None:
    body = assert_problem(_import(api, "code,名称\nX,Y\n".encode()), 422, "import-rejected")
    assert {"row": 1, "column": "kind", "message": "required column is missing"} in body["errors"]


def test_only_admins_import(api: Api) -> None:
    assert_problem(_import(api, CSV_ZH.encode(), who="reviewer"), 403, "forbidden")


def test_an_unsupported_media_type_is_a_415(api: Api) -> None:
    assert_problem(_import(api, b"{}", "application/json"), 415, "unsupported-media-type")


HEAD = "编码,名称,类型,上级编码,领域,党员数\n"


@pytest.mark.parametrize(
    ("row", "column", "said"),
    [
        ("A1-05,新村党支部,党支部,A1,农村,²\n", "member_count", "not a whole number"),
        ("A1-05,新村党支部,党支部,A1,农村,2147483648\n", "member_count", "not a whole number"),
        ("'; DROP TABLE organizations;--,新村,党支部,A1,农村,1\n", "code", "letters, digits"),
    ],
    ids=["superscript-two", "past-2^31", "code-the-api-refuses"],
)
def test_a_cell_the_api_would_refuse_is_refused_by_row_and_column(
    api: Api, db: Session, row: str, column: str, said: str
) -> None:
    before = _count(db)
    refused = _import(api, (HEAD + row).encode(), query="?dry_run=true")
    body = assert_problem(refused, 422, "import-rejected")
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, column)]
    assert said in body["errors"][0]["message"]
    assert _count(db) == before


@pytest.mark.parametrize(
    "body",
    [
        (HEAD + "A1-05,新村\x00党支部,党支部,A1,农村,1\n").encode(),
        (HEAD + "A1-05," + "长" * 140_000 + ",党支部,A1,农村,1\n").encode(),
    ],
    ids=["nul-byte", "field-over-csv-limit"],
)
def test_an_unreadable_csv_is_a_422_naming_the_line(api: Api, db: Session, body: bytes) -> None:
    before = _count(db)
    refused = assert_problem(_import(api, body), 422, "import-rejected")
    assert refused["errors"][0]["row"] == 2
    assert _count(db) == before


def _workbook(rows: int) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["编码", "名称", "类型", "上级编码", "领域"])
    for n in range(rows):
        sheet.append([f"A1-Z{n:05d}", "村", "党支部", "A1", "农村"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_broken_workbooks_are_422(api: Api) -> None:
    with zipfile.ZipFile(io.BytesIO(_workbook(1))) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet_part = next(n for n in parts if n.startswith("xl/worksheets/sheet"))

    def rezip(changed: dict[str, bytes]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for name, content in (parts | changed).items():
                target.writestr(name, content)
        return out.getvalue()

    book = parts["xl/workbook.xml"].decode()
    start, end = book.index("<sheets>"), book.index("</sheets>") + len("</sheets>")
    no_sheet = rezip({"xl/workbook.xml": (book[:start] + "<sheets/>" + book[end:]).encode()})
    body = assert_problem(_import(api, no_sheet, XLSX), 422, "import-rejected")
    assert "cannot be read" in body["detail"]
    cut = rezip({sheet_part: parts[sheet_part][: len(parts[sheet_part]) // 2]})  # mid-XML
    assert_problem(_import(api, cut, XLSX), 422, "import-rejected")


def test_a_workbook_past_the_row_cap_stops_at_the_cap(api: Api, app: Flask) -> None:
    """A small file that inflates to many rows is refused after the cap, not read in full."""
    settings = app.extensions["grading.settings"]
    app.extensions["grading.settings"] = dataclasses.replace(settings, max_import_rows=100)
    try:
        refused = _import(api, _workbook(20_000), XLSX)
    finally:
        app.extensions["grading.settings"] = settings
    body = assert_problem(refused, 422, "import-rejected")
    assert "more than 100 rows" in body["detail"]
