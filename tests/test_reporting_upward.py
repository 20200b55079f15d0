"""Reporting upward (issue 36): 各乡镇党委于4月15日前将汇总表、明细表、较差名单、较差状况明细表
报县委组织部 — submitted by a date, signed off by a named person, kept as sent; the county sees
who has submitted, who is late, and what changed after submission; a resubmission says why."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.campaigns.models import Campaign
from service.gradings.models import Grading
from tests.conftest import Api, assert_problem
from tests.grading_helpers import walk


def due(db: Session, api: Api, on: str) -> int:
    """The campaign's own date for the tables (decision_config.reporting)."""
    campaign = db.get_one(Campaign, api.world.campaigns["open"].id)
    campaign.decision_config = {
        **(campaign.decision_config or {}),
        "reporting": {
            "grading_tables": on,
            "review": on,
        },
    }
    db.commit()
    return campaign.id


def submit(api: Api, campaign: int, **body: Any) -> Any:
    payload = {
        "organization_id": api.world.org("A1").id,
        "kind": "grading_tables",
        "signed_off_by": "王建国（镇党委副书记）",
        **body,
    }
    return api.post(
        f"/api/v1/campaigns/{campaign}/report-submissions", json=payload, who="reviewer"
    )


def rated(db: Session, api: Api, key: str, level: str) -> None:
    grading = db.get_one(Grading, api.world.gradings[key].id)
    walk(grading, "rated")
    grading.level = level
    db.commit()


def test_a_township_submits_its_four_tables_by_the_date_signed_off_by_a_named_person(
    api: Api, db: Session
) -> None:
    campaign = due(db, api, "2099-04-15")
    rated(db, api, "A1-01", "poor")
    sent = submit(api, campaign)
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    assert (body["version"], body["late"], body["signed_off_by"]) == (
        1,
        False,
        "王建国（镇党委副书记）",
    )
    kept = api.get(sent.headers["Location"], who="inspector").get_json()
    tables = kept["snapshot"]
    assert set(tables) == {"summary", "detail", "poor_list", "poor_status"}
    assert [row["name"] for row in tables["poor_list"]] == ["东村党支部"]
    assert kept["digest"] == body["digest"] and len(body["digest"]) == 64


def test_the_county_sees_who_has_submitted_who_is_late_and_who_has_not(
    api: Api, db: Session
) -> None:
    campaign = due(db, api, "2020-04-15")  # long past
    api.post(
        "/api/v1/organizations",
        json={
            "code": "A2",
            "name": "乙镇党委",
            "kind": "committee",
            "parent_id": api.world.org("A").id,
        },
    )
    assert submit(api, campaign).get_json()["late"] is True
    overview = api.get(f"/api/v1/campaigns/{campaign}/report-submissions", who="inspector")
    listed = {
        i["organization"]: (i["status"], i["status_label"]) for i in overview.get_json()["items"]
    }
    assert listed == {"甲镇党委": ("late", "逾期上报"), "乙镇党委": ("overdue", "逾期未报")}
    assert overview.get_json()["due_on"] == "2020-04-15"


def test_what_changed_after_submission_is_shown_and_the_submission_stays_as_sent(
    api: Api, db: Session
) -> None:
    campaign = due(db, api, "2099-04-15")
    rated(db, api, "A1-01", "average")
    first = submit(api, campaign).get_json()
    overview = api.get(f"/api/v1/campaigns/{campaign}/report-submissions", who="inspector")
    [township] = overview.get_json()["items"]
    assert township["changed_since"] is False and township["status"] == "submitted"
    db.get_one(Grading, api.world.gradings["A1-01"].id).level = "poor"  # changed afterwards
    db.commit()
    [township] = api.get(
        f"/api/v1/campaigns/{campaign}/report-submissions", who="inspector"
    ).get_json()["items"]
    assert township["changed_since"] is True
    assert township["changed_organizations"] == ["东村党支部"]
    kept = api.get(f"/api/v1/report-submissions/{first['id']}", who="inspector").get_json()
    assert [r["level"] for r in kept["snapshot"]["detail"]] == ["一般"]  # as it was sent


def test_a_resubmission_needs_a_reason_and_is_a_new_version(api: Api, db: Session) -> None:
    campaign = due(db, api, "2099-04-15")
    assert submit(api, campaign).status_code == 201
    body = assert_problem(submit(api, campaign), 422, "validation-error")
    assert body["errors"] == {"reason": ["required for a resubmission"]}
    zh = api.post(
        f"/api/v1/campaigns/{campaign}/report-submissions",
        json={
            "organization_id": api.world.org("A1").id,
            "kind": "grading_tables",
            "signed_off_by": "王建国",
        },
        who="reviewer",
        headers={"Accept-Language": "zh-CN"},
    ).get_json()
    assert zh["detail"].startswith("已上报过第 1 版：重新上报须说明理由")
    again = submit(api, campaign, reason="东村党支部等次经复核由一般改为较好")
    assert again.status_code == 201 and again.get_json()["version"] == 2


def test_only_the_townships_people_submit_and_only_for_a_township_below_the_county(
    api: Api, db: Session
) -> None:
    campaign = due(db, api, "2099-04-15")
    url = f"/api/v1/campaigns/{campaign}/report-submissions"
    body = {
        "organization_id": api.world.org("A1").id,
        "kind": "grading_tables",
        "signed_off_by": "某",
    }
    assert_problem(api.post(url, json=body, who="inspector"), 403, "forbidden")
    assert_problem(api.post(url, json=body, who="secretary"), 404, "not-found")
    assert_problem(api.post(url, json=body, who="reviewer_b"), 404, "not-found")
    for wrong in ("A", "A1-01"):  # the county itself; a branch
        refused = assert_problem(
            api.post(
                url, json={**body, "organization_id": api.world.org(wrong).id}, who="reviewer"
            ),
            422,
            "validation-error",
        )
        assert refused["errors"] == {"organization_id": ["not a committee below the campaign's"]}
    assert_problem(
        api.post(url, json={**body, "kind": "annual"}, who="reviewer"), 422, "validation-error"
    )
    draft = api.world.campaigns["draft"].id
    assert_problem(
        api.post(f"/api/v1/campaigns/{draft}/report-submissions", json=body, who="reviewer"),
        409,
        "campaign-not-open",
    )


def test_the_review_and_its_annexes_are_reported_by_their_own_date(api: Api, db: Session) -> None:
    campaign = due(db, api, "2099-06-25")
    sent = submit(api, campaign, kind="review")
    assert sent.status_code == 201
    kept = api.get(sent.headers["Location"], who="inspector").get_json()
    assert set(kept["snapshot"]) == {"poor_status", "progress"}
    overview = api.get(
        f"/api/v1/campaigns/{campaign}/report-submissions?kind=review", who="inspector"
    ).get_json()
    assert overview["kind_label"].startswith("复查情况") and overview["items"][0]["latest"]


def test_the_seeds_dates_when_the_campaign_sets_none(api: Api, db: Session) -> None:
    from service.reporting.operations import due_on

    campaign = db.get_one(Campaign, api.world.campaigns["open"].id)
    found = due_on(db, campaign, "grading_tables")
    assert (found.month, found.day) == (4, 15) and found.year in (campaign.year, campaign.year + 1)
    assert (due_on(db, campaign, "review").month, due_on(db, campaign, "review").day) == (6, 25)


def test_a_submission_cannot_be_rewritten_even_by_the_database(api: Api, db: Session) -> None:
    campaign = due(db, api, "2099-04-15")
    submit(api, campaign)
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text("UPDATE report_submissions SET signed_off_by = '别人'"))
    db.rollback()
