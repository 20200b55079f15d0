"""Across years (issue 36): 各基层党组织在原有基础上都有新的进步 — each organization's levels over
the campaigns, and the movement from last year's campaign to this one, per organization and per
township."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.campaigns import operations as campaigns
from service.campaigns.models import Campaign
from service.context import Actor
from service.gradings import enrolment
from service.gradings.models import Grading
from tests.conftest import Api, assert_problem
from tests.grading_helpers import walk
from tests.world import _campaign_data, campaign_body


def two_years(db: Session, api: Api, last: dict[str, str], now: dict[str, tuple[str, str]]) -> int:
    """Last year's campaign (2025) with final levels, this year's (2026) opened and graded."""
    for key, level in last.items():
        grading = db.get_one(Grading, api.world.gradings[key].id)
        walk(grading, "closed")
        grading.level = level
    this_year = db.get_one(Campaign, api.world.campaigns["draft"].id)
    enrolment.open_campaign(db, Actor.system("t"), this_year)
    db.flush()
    for key, (state, level) in now.items():
        grading = db.scalars(
            select(Grading).where(
                Grading.campaign_id == this_year.id,
                Grading.organization_id == api.world.org(key).id,
            )
        ).one()
        walk(grading, state)
        grading.level = level
    db.commit()
    return this_year.id


def test_each_organization_shows_whether_it_progressed_on_its_level_of_last_year(
    api: Api, db: Session
) -> None:
    campaign = two_years(
        db,
        api,
        {"A1-01": "average", "A1-02": "good"},
        {"A1-01": ("rated", "fairly_good"), "A1-02": ("rated", "fairly_good")},
    )
    report = api.get(f"/api/v1/campaigns/{campaign}/reports/movement", who="inspector").get_json()
    assert report["previous_campaign"] == "2025年分类定级"
    moves = {
        i["name"]: (i["previous_level"], i["level"], i["movement_label"]) for i in report["items"]
    }
    assert moves == {
        "东村党支部": ("一般", "较好", "进步"),
        "甲镇机关党支部": ("好", "较好", "退步"),
    }
    [town] = report["by_unit"]
    assert (town["unit"], town["up"], town["down"], town["none_went_down"]) == (
        "甲镇党委",
        1,
        1,
        False,
    )


def test_a_township_where_nobody_went_down_has_progressed_on_its_original_footing(
    api: Api, db: Session
) -> None:
    campaign = two_years(
        db,
        api,
        {"A1-01": "poor", "A1-02": "good"},
        {"A1-01": ("rated", "average"), "A1-02": ("rated", "good")},
    )
    report = api.get(f"/api/v1/campaigns/{campaign}/reports/movement", who="inspector").get_json()
    [town] = report["by_unit"]
    assert (town["up"], town["same"], town["down"], town["none_went_down"]) == (1, 1, 0, True)
    printed = api.get(
        f"/api/v1/campaigns/{campaign}/reports/movement?format=csv", who="inspector"
    ).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(printed.lstrip("\ufeff"))))
    assert rows[0] == ["单位", "党组织名称", "上次定级", "上次等次", "本次等次", "变化"]
    assert ["甲镇党委", "东村党支部", "2025年分类定级", "较差", "一般", "进步"] in rows


def test_a_branch_graded_by_its_township_before_keeps_that_footing_when_the_county_grades_it(
    api: Api, db: Session
) -> None:
    """在原有基础上: the original footing is the organization's own last level, whichever
    committee graded it — here its township two years ago, the county's campaign of last year
    not having graded it to the end."""
    actor = Actor.system("t")
    township = api.world.org("A1")
    body = campaign_body(township.id, {d: s.id for d, s in api.world.standards.items()}, 2024)
    own = campaigns.create_campaign(db, actor, township, _campaign_data(body))
    enrolment.open_campaign(db, actor, own)
    db.flush()
    earlier = db.scalars(
        select(Grading).where(
            Grading.campaign_id == own.id, Grading.organization_id == api.world.org("A1-01").id
        )
    ).one()
    walk(earlier, "closed")
    earlier.level = "poor"
    campaign = two_years(db, api, {"A1-02": "good"}, {"A1-01": ("rated", "fairly_good")})
    report = api.get(f"/api/v1/campaigns/{campaign}/reports/movement", who="inspector").get_json()
    assert report["previous_campaign"] == "2025年分类定级"  # the county's own
    [item] = report["items"]
    assert (item["previous_campaign"], item["previous_level"], item["movement_label"]) == (
        "2024年分类定级",
        "较差",
        "进步",
    )


def test_one_not_graded_last_year_is_newly_graded_and_a_level_under_publicity_waits(
    api: Api, db: Session
) -> None:
    campaign = two_years(
        db,
        api,
        {"A1-02": "average"},
        {"A1-01": ("rated", "good"), "A1-02": ("publicity", "good")},
    )
    final = api.get(f"/api/v1/campaigns/{campaign}/reports/movement", who="inspector").get_json()
    assert [(i["name"], i["movement"]) for i in final["items"]] == [("东村党支部", "new")]
    provisional = api.get(
        f"/api/v1/campaigns/{campaign}/reports/movement?provisional=true", who="inspector"
    ).get_json()
    assert {i["name"]: i["movement"] for i in provisional["items"]} == {
        "东村党支部": "new",
        "甲镇机关党支部": "up",
    }


def test_an_organizations_levels_over_the_years_are_listed_campaign_by_campaign(
    api: Api, db: Session
) -> None:
    two_years(db, api, {"A1-01": "average"}, {"A1-01": ("publicity", "good")})
    org = api.world.org("A1-01").id
    history = api.get(f"/api/v1/organizations/{org}/levels", who="secretary").get_json()["items"]
    assert [(h["year"], h["level_label"], h["movement"], h["provisional"]) for h in history] == [
        (2025, "一般", "new", False),
        (2026, "好", "up", True),
    ]
    assert_problem(
        api.get(f"/api/v1/organizations/{org}/levels", who="reviewer_b"), 404, "not-found"
    )


def test_the_movement_report_is_read_within_scope_only(api: Api, db: Session) -> None:
    campaign = two_years(db, api, {"A1-01": "average"}, {"A1-01": ("rated", "good")})
    assert_problem(
        api.get(f"/api/v1/campaigns/{campaign}/reports/movement", who="reviewer_b"),
        404,
        "not-found",
    )
    own = api.get(f"/api/v1/campaigns/{campaign}/reports/movement", who="secretary").get_json()
    assert [i["name"] for i in own["items"]] == ["东村党支部"]


def test_an_organizations_standing_record_carries_findings_and_rectification_across_years(
    api: Api, db: Session
) -> None:
    """一个组织的工作档案: each campaign's findings, its rectification, its lessons."""
    org = api.world.org("A1-01").id
    last_year = api.world.gradings["A1-01"].id
    api.post(
        f"/api/v1/gradings/{last_year}/survey-entries",
        json={
            "method": "meeting",
            "date": "2025-03-01",
            "problems": ["党员结构老化"],
            "problem_categories": ["党建工作类"],
        },
        who="reviewer",
    )
    grading = db.get_one(Grading, last_year)
    walk(grading, "rectification")
    grading.level = "poor"
    db.commit()
    item = {
        "problem": "党员结构老化",
        "cause": "发展党员少",
        "measure": "每年发展2名青年党员",
        "target": "45岁以下党员占三成",
        "deadline": "2025-12-31",
        "responsible": "王建国",
        "category": "党建工作类",
    }
    added = api.post(
        f"/api/v1/gradings/{last_year}/rectification/items", json=item, who="secretary"
    )
    assert added.status_code == 201, added.get_json()
    two_years(db, api, {}, {"A1-01": ("rated", "average")})
    kept = api.get(f"/api/v1/organizations/{org}/dossier", who="reviewer").get_json()["items"]
    assert [y["year"] for y in kept] == [2025, 2026]
    assert kept[0]["survey_problems"] == [
        {"id": "E1-P1", "text": "党员结构老化", "category": "党建工作类"}
    ]
    assert kept[0]["rectification_items"][0]["measure"] == "每年发展2名青年党员"
    assert kept[1]["level_label"] == "一般" and kept[1]["rectification_items"] == []
    assert_problem(
        api.get(f"/api/v1/organizations/{org}/dossier", who="reviewer_b"), 404, "not-found"
    )
