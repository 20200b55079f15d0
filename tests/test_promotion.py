"""晋位升级: one step up, after every item is closed, the report, and enough satisfaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.context import Actor
from service.gradings import records
from service.gradings.models import Grading
from tests.conftest import Api, assert_problem
from tests.promotion_helpers import needs_opinion, opinion, promote, promoting, report, satisfied


def test_a_poor_organization_rises_one_step_and_the_grading_closes(api: Api, db: Session) -> None:
    grading_id = promoting(db, api.world.gradings["A1-01"])
    satisfied(api, grading_id)
    report(api, grading_id)
    view = api.get(f"/api/v1/gradings/{grading_id}/promotion").get_json()
    assert view["satisfaction"] == "100.00" and view["report"]["attachment_ref"] == "档案室 2026-17"
    promoted = promote(api, grading_id, "average")
    assert promoted.status_code == 200, promoted.get_json()
    assert promoted.get_json()["level"] == "average"
    assert promoted.get_json()["decision"]["from"] == "poor"
    closed = api.post(
        f"/api/v1/gradings/{grading_id}/transitions", json={"transition": "close"}, who="reviewer"
    )
    assert closed.get_json()["state"] == "closed"
    history = api.get(f"/api/v1/gradings/{grading_id}/history", who="inspector").get_json()["items"]
    rise = next(h for h in history if h["action"] == "grading.promote")
    assert (rise["before"]["level"], rise["after"]["level"], rise["reason"]) == (
        "poor",
        "average",
        "整改成效明显",
    )
    # the version it wrote, so that replaying the trail lands on the row's
    assert rise["after"]["version"] == rise["before"]["version"] + 1


def test_a_promotion_by_two_steps_is_refused(api: Api, db: Session) -> None:
    grading_id = promoting(db, api.world.gradings["A1-01"])
    problem = assert_problem(promote(api, grading_id, "fairly_good"), 422, "validation-error")
    assert problem["errors"] == {"level": ["from poor only one step up is allowed"]}


def test_a_promotion_with_an_open_item_and_nothing_else_lists_every_reason(
    api: Api, db: Session
) -> None:
    grading_id = promoting(db, api.world.gradings["A1-01"], item="submitted")
    problem = assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")
    assert problem["reasons"] == [
        "rectification_items_open",
        "special_report_missing",
        "satisfaction_below_threshold",
    ]


def test_low_satisfaction_refuses_the_promotion(api: Api, db: Session) -> None:
    grading_id = promoting(db, api.world.gradings["A1-01"])
    satisfied(api, grading_id, choice="poor")  # 50 points
    report(api, grading_id)
    problem = assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")
    assert problem["reasons"] == ["satisfaction_below_threshold"]


def test_a_veto_refuses_the_promotion(api: Api, db: Session) -> None:
    grading_id = promoting(db, api.world.gradings["A1-01"])
    records.write(
        db,
        Actor.system("t"),
        db.get_one(Grading, grading_id),
        "veto_flags",
        {"flags": [{"code": "leader_violation"}]},
    )
    db.commit()
    satisfied(api, grading_id)
    report(api, grading_id)
    assert assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")[
        "reasons"
    ] == ["veto"]


def test_a_good_organization_is_settled_without_promotion(api: Api, db: Session) -> None:
    grading_id = promoting(db, api.world.gradings["A1-01"], level="fairly_good")
    assert assert_problem(promote(api, grading_id, "good"), 409, "promotion-refused")[
        "reasons"
    ] == ["not_eligible"]
    settled = promote(api, grading_id, "fairly_good", reason=None)
    assert settled.status_code == 200 and settled.get_json()["level"] == "fairly_good"


def test_satisfaction_is_rounded_half_up_once(api: Api, db: Session) -> None:
    """8 ballots: 5 × 好 (100) + 1 × 较好 (85) + 2 × 一般 (70) = 725 / 8 = 90.625 → "90.63"."""
    grading_id = promoting(db, api.world.gradings["A1-01"])
    satisfied(api, grading_id, *(["good"] * 5 + ["fairly_good"] + ["average"] * 2))
    view = api.get(f"/api/v1/gradings/{grading_id}/promotion").get_json()
    assert view["satisfaction"] == "90.63"


def test_a_required_outside_opinion_missing_or_against_refuses_the_promotion(
    api: Api, db: Session
) -> None:
    needs_opinion(db, api)
    grading_id = promoting(db, api.world.gradings["A1-01"])
    satisfied(api, grading_id)
    report(api, grading_id)
    missing = assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")
    assert missing["reasons"] == ["opinion_missing:LG"]
    assert "县委党建工作领导小组" in missing["detail"]
    assert opinion(api, grading_id, False).status_code == 200
    against = assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")
    assert against["reasons"] == ["opinion_against:LG"]
    assert_problem(opinion(api, grading_id, True), 422, "validation-error")  # a change says why
    changed = opinion(api, grading_id, True, reason="领导小组复议后同意")
    assert changed.status_code == 200, changed.get_json()
    [shown] = changed.get_json()["opinions"]
    assert (shown["name"], shown["opinion"]["favourable"]) == ("县委党建工作领导小组", True)
    promoted = promote(api, grading_id, "average")
    assert promoted.status_code == 200, promoted.get_json()
    assert promoted.get_json()["level"] == "average"


def test_an_opinion_of_a_body_the_campaign_does_not_name_is_a_404(api: Api, db: Session) -> None:
    needs_opinion(db, api)
    grading_id = promoting(db, api.world.gradings["A1-01"])
    assert_problem(opinion(api, grading_id, True, code="XX"), 404, "not-found")
    assert_problem(opinion(api, grading_id, True, given_on="明天"), 422, "validation-error")
