"""The level decision: computed or overridden with a reason, and the rules that block it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from service.campaigns.models import Campaign, QuotaRule
from service.gradings.models import Grading
from service.organizations.models import Organization
from tests.conftest import Api, assert_problem
from tests.decision_helpers import approve, decide, propose, scored
from tests.grading_helpers import put_in_state


def test_the_computed_level_needs_no_reason_another_one_does(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-01", superior="85", members="85", own="85")
    assert_problem(propose(api, grading_id, "good"), 422, "validation-error")
    proposed = propose(api, grading_id, "fairly_good")
    assert proposed.status_code == 200, proposed.get_json()
    assert proposed.get_json()["computed_level"] == "fairly_good"
    assert proposed.get_json()["composite"] == "85.00"
    raised = propose(api, grading_id, "good", reason="考虑到全年工作突出")
    assert raised.status_code == 200 and raised.get_json()["version"] == 2


def test_a_proposal_needs_a_complete_score(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "superior_review")
    problem = assert_problem(propose(api, grading.id, "good"), 409, "score-incomplete")
    assert problem["missing"] == ["superior", "members", "self"]


def test_a_veto_allows_only_the_level_it_forces(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-01")
    flagged = api.put(
        f"/api/v1/gradings/{grading_id}/vetoes",
        who="reviewer",
        json={"flags": [{"code": "leader_violation", "note": "支部书记涉及商业贿赂"}]},
    )
    assert flagged.status_code == 200 and flagged.get_json()["forced_level"] == "poor"
    propose(api, grading_id, "good")
    problem = assert_problem(decide(api, grading_id), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == ["veto_respected", "quota_cap"]
    propose(api, grading_id, "poor", reason="一票否决")
    assert approve(api, decide(api, grading_id)).status_code == 200
    assert db.get_one(Grading, grading_id).level == "poor"
    assert_problem(
        api.put(
            f"/api/v1/gradings/{grading_id}/vetoes",
            who="reviewer",
            json={"flags": [{"code": "unknown_rule"}]},
        ),
        422,
        "validation-error",
    )


def test_a_new_organization_needs_an_exception_for_the_top_level(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-01")
    campaign = db.get_one(Campaign, api.world.campaigns["open"].id)
    campaign.new_org_cutoff = date(2020, 1, 1)
    db.get_one(Organization, api.world.org("A1-01").id).founded_on = date(2024, 6, 1)
    db.get_one(QuotaRule, campaign.quota_rules[0].id).max_share = Decimal(100)
    db.commit()
    propose(api, grading_id, "good")
    problem = assert_problem(decide(api, grading_id), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == ["new_org_not_top"]
    propose(api, grading_id, "good", reason="申请例外", new_org_exception="组建以来成效显著")
    assert approve(api, decide(api, grading_id)).status_code == 200


def test_a_source_below_its_threshold_caps_the_level(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-01", public="80")
    campaign = db.get_one(Campaign, api.world.campaigns["open"].id)
    campaign.decision_config = {
        "thresholds": [{"source": "public", "min_points": "90", "max_level": "average"}]
    }
    db.get_one(QuotaRule, campaign.quota_rules[0].id).max_share = Decimal(100)
    db.commit()
    propose(api, grading_id, "good")
    problem = assert_problem(decide(api, grading_id), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == ["source_thresholds"]
    propose(api, grading_id, "average", reason="群众满意度不足90%")
    assert approve(api, decide(api, grading_id)).status_code == 200


def test_a_quota_cap_refuses_the_decision_that_would_pass_it(api: Api, db: Session) -> None:
    first, second = scored(db, api, "A1-01"), scored(db, api, "A1-02")
    campaign = db.get_one(Campaign, api.world.campaigns["open"].id)
    db.get_one(QuotaRule, campaign.quota_rules[0].id).max_share = Decimal(50)  # 1 of 2
    db.commit()
    for grading_id in (first, second):
        propose(api, grading_id, "good")
    requests = [decide(api, first), decide(api, second)]
    assert approve(api, requests[0]).status_code == 200
    problem = assert_problem(approve(api, requests[1]), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == ["quota_cap"]
    assert problem["reasons"][0]["detail"] == "全部: good 1 of 2 (cap 50.00%)"
    status = api.get(f"/api/v1/campaigns/{campaign.id}/quotas").get_json()["items"]
    assert status == [
        {
            "level_code": "good",
            "scope": "campaign",
            "unit_id": api.world.org("A").id,
            "unit_name": "甲县委",
            "headroom": 0,
            "max_share": "50.00",
            "min_share": None,
            "decided": 1,
            "total": 2,
            "share": "50.00",
            "all_decided": False,
            "over_cap": False,
            "under_floor": False,
        }
    ]


def test_an_upheld_complaint_clears_the_decided_level(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-01")
    propose(api, grading_id, "poor", reason="测试")
    assert approve(api, decide(api, grading_id)).status_code == 200
    assert db.get_one(Grading, grading_id).level == "poor"
    url = f"/api/v1/gradings/{grading_id}/transitions"
    api.post(url, json={"transition": "receive_complaint", "reason": "群众投诉"}, who="reviewer")
    upheld = api.post(
        url, json={"transition": "uphold_complaint", "reason": "投诉属实"}, who="reviewer"
    )
    assert approve(api, upheld).status_code == 200
    db.expire_all()
    assert db.get_one(Grading, grading_id).level is None


def test_only_a_reviewer_proposes(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-01")
    response = api.put(
        f"/api/v1/gradings/{grading_id}/decision", json={"level": "good"}, who="supervisor"
    )
    assert_problem(response, 403, "forbidden")


def test_a_floor_is_checked_when_the_batch_is_final(api: Api, db: Session) -> None:
    campaign = db.get_one(Campaign, api.world.campaigns["open"].id)
    db.add(QuotaRule(campaign_id=campaign.id, level_code="poor", min_share=Decimal(50)))
    db.commit()
    for key in ("A1-01", "A1-02"):
        grading_id = scored(db, api, key, superior="70", members="70", own="70")
        propose(api, grading_id, "average")
        assert approve(api, decide(api, grading_id)).status_code == 200
    status = api.get(f"/api/v1/campaigns/{campaign.id}/quotas").get_json()["items"]
    assert next(s for s in status if s["level_code"] == "poor")["under_floor"] is True
    grading = put_in_state(db, api.world.gradings["A1-01"], "publicity", long_ago=True)
    problem = assert_problem(
        api.post(
            f"/api/v1/gradings/{grading.id}/transitions",
            json={"transition": "finalize"},
            who="reviewer",
        ),
        409,
        "transition-blocked",
    )
    assert [r["code"] for r in problem["reasons"]] == ["quota_floors"]


def test_guards_are_checked_again_when_the_approval_fires(api: Api, db: Session) -> None:
    """A veto flagged while the decision waits for approval blocks the approval."""
    grading_id = scored(db, api, "A1-01", superior="85", members="85", own="85")
    propose(api, grading_id, "fairly_good")
    requested = decide(api, grading_id)
    flagged = api.put(
        f"/api/v1/gradings/{grading_id}/vetoes",
        who="reviewer",
        json={"flags": [{"code": "leader_violation", "note": "支部书记涉及商业贿赂"}]},
    )
    assert flagged.status_code == 200, flagged.get_json()
    problem = assert_problem(approve(api, requested), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == ["veto_respected"]
    approval = api.get(f"/api/v1/approvals/{requested.get_json()['id']}").get_json()
    assert approval["state"] == "pending"
