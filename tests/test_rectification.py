"""整改: helpers for weak organizations, the plan, items closed only when verified, the ledger."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.conftest import Api, assert_problem
from tests.rectification_helpers import item, rectifying, url


def test_a_weak_organization_needs_its_helpers_before_the_plan_is_approved(
    api: Api, db: Session
) -> None:
    grading_id = rectifying(db, api.world.gradings["A1-01"])
    created = api.post(url(grading_id, "/items"), json=item(), who="secretary")
    assert created.status_code == 201 and created.get_json()["key"] == "I1"
    problem = assert_problem(
        api.post(url(grading_id, "/plan/approve"), who="supervisor"), 409, "helpers-required"
    )
    assert problem["missing"] == ["paired_leader", "liaison"]
    api.put(
        url(grading_id, "/helpers"),
        who="reviewer",
        json={
            "paired_leader": "县委副书记 李明",
            "liaison": "组织部 张华",
            "first_secretary": "赵强",
        },
    )
    approved = api.post(url(grading_id, "/plan/approve"), who="supervisor").get_json()
    assert approved["plan_approved"] is True and approved["helpers"]["liaison"] == "组织部 张华"
    assert_problem(
        api.post(url(grading_id, "/items"), json=item(), who="secretary"), 409, "plan-approved"
    )


def test_a_good_organization_needs_no_helpers(api: Api, db: Session) -> None:
    grading_id = rectifying(db, api.world.gradings["A1-01"], level="good")
    api.post(url(grading_id, "/items"), json=item(), who="secretary")
    assert api.post(url(grading_id, "/plan/approve"), who="supervisor").status_code == 200


def test_a_plan_is_approved_once_by_a_supervisor_as_its_lifecycle_says(
    api: Api, db: Session
) -> None:
    grading_id = rectifying(db, api.world.gradings["A1-01"], level="good")
    api.post(url(grading_id, "/items"), json=item(), who="secretary")
    assert_problem(api.post(url(grading_id, "/plan/approve"), who="secretary"), 403, "forbidden")
    assert api.post(url(grading_id, "/plan/approve"), who="supervisor").status_code == 200
    again = assert_problem(
        api.post(url(grading_id, "/plan/approve"), who="supervisor"), 409, "plan-approved"
    )
    assert again["state"] == "approved"
    served = api.get("/api/v1/workflows/rectification_plan", who=None).get_json()
    assert [(t["source"], t["dest"], t["roles"]) for t in served["transitions"]] == [
        ("drafting", "approved", ["supervisor"])
    ]


def test_an_item_may_point_at_a_survey_finding(api: Api, db: Session) -> None:
    api.post(
        f"/api/v1/gradings/{api.world.gradings['A1-01'].id}/survey-entries",
        who="reviewer",
        json={"method": "meeting", "date": "2026-03-01", "problems": ["阵地设施老化"]},
    )
    grading_id = rectifying(db, api.world.gradings["A1-01"])
    linked = api.post(url(grading_id, "/items"), json=item(problem_ref="E1-P1"), who="secretary")
    assert linked.get_json()["problem_ref"] == "E1-P1"
    problem = assert_problem(
        api.post(url(grading_id, "/items"), json=item(problem_ref="E9-P9"), who="secretary"),
        422,
        "validation-error",
    )
    assert list(problem["errors"]) == ["problem_ref"]


def test_items_close_only_when_verified_with_evidence(api: Api, db: Session) -> None:
    grading_id = rectifying(db, api.world.gradings["A1-01"], level="good")
    api.post(url(grading_id, "/items"), json=item(), who="secretary")
    assert_problem(
        api.post(url(grading_id, "/items/I1/start"), json={}, who="secretary"),
        409,
        "plan-not-approved",
    )
    api.post(url(grading_id, "/plan/approve"), who="supervisor")
    assert_problem(
        api.post(url(grading_id, "/items/I1/close"), json={}, who="reviewer"), 409, "item-state"
    )
    api.post(url(grading_id, "/items/I1/start"), json={}, who="secretary")
    problem = assert_problem(
        api.post(url(grading_id, "/items/I1/submit"), json={}, who="secretary"),
        422,
        "validation-error",
    )
    assert problem["errors"] == {"evidence": ["required"]}
    submitted = api.post(
        url(grading_id, "/items/I1/submit"),
        who="secretary",
        json={"evidence": "2026年4月、5月支部党员大会记录"},
    ).get_json()
    assert submitted["status"] == "submitted"
    assert_problem(
        api.post(url(grading_id, "/items/I1/return"), json={}, who="reviewer"),
        422,
        "validation-error",
    )
    returned = api.post(
        url(grading_id, "/items/I1/return"), json={"reason": "缺少6月记录"}, who="reviewer"
    ).get_json()
    assert (returned["status"], returned["returned_reason"]) == ("in_progress", "缺少6月记录")
    assert_problem(
        api.post(url(grading_id, "/items/I1/close"), json={}, who="secretary"), 403, "forbidden"
    )
    blocked = api.post(
        f"/api/v1/gradings/{grading_id}/transitions",
        json={"transition": "start_re_review"},
        who="reviewer",
    )
    assert [r["code"] for r in assert_problem(blocked, 409, "transition-blocked")["reasons"]] == [
        "rectification_closed"
    ]
    api.post(url(grading_id, "/items/I1/submit"), json={"evidence": "补充6月记录"}, who="secretary")
    closed = api.post(url(grading_id, "/items/I1/close"), json={}, who="reviewer").get_json()
    assert closed["status"] == "closed" and closed["version"] == 6
    assert (
        api.post(
            f"/api/v1/gradings/{grading_id}/transitions",
            json={"transition": "start_re_review"},
            who="reviewer",
        ).status_code
        == 200
    )


def test_the_ledger_lists_items_and_the_overdue_ones(api: Api, db: Session) -> None:
    grading_id = rectifying(db, api.world.gradings["A1-01"], level="good")
    api.post(url(grading_id, "/items"), json=item(deadline="2020-01-31"), who="secretary")
    api.post(url(grading_id, "/items"), json=item(deadline="2099-01-31"), who="secretary")
    campaign = api.world.campaigns["open"].id
    ledger = api.get(
        f"/api/v1/campaigns/{campaign}/rectification-items", who="inspector"
    ).get_json()
    assert [i["key"] for i in ledger["items"]] == ["I1", "I2"]
    overdue = api.get(
        f"/api/v1/campaigns/{campaign}/rectification-items?overdue=true", who="inspector"
    ).get_json()
    assert [(i["key"], i["overdue"]) for i in overdue["items"]] == [("I1", True)]


def test_planning_happens_during_rectification(api: Api) -> None:
    assert_problem(
        api.post(url(api.world.gradings["A1-01"].id, "/items"), json=item(), who="secretary"),
        409,
        "stage-not-open",
    )


def test_an_approved_plan_is_public_to_party_members_and_the_masses(api: Api, db: Session) -> None:
    """整改方案要向党员群众公开，接受监督: once approved, on a page anyone can open."""
    grading_id = rectifying(db, api.world.gradings["A1-01"], level="good")
    api.post(url(grading_id, "/items"), json=item(term="long"), who="secretary")
    browser = api.client
    hidden = browser.get(f"/plans/{grading_id}", headers={"Accept": "text/html"})
    assert hidden.status_code == 404 and "没有找到" in hidden.get_data(as_text=True)
    api.post(url(grading_id, "/plan/approve"), who="supervisor")
    shown = browser.get(f"/plans/{grading_id}", headers={"Accept": "text/html"})
    assert shown.status_code == 200 and shown.mimetype == "text/html"
    page = shown.get_data(as_text=True)
    assert "东村党支部整改方案" in page and "三会一课不规范（中长期）" in page
    assert "每月固定主题党日" in page and "王建国" in page and "未开始" in page
    assert "共 1 项，已销号 0 项" in page
    campaign = api.world.campaigns["open"].id
    listed = browser.get(f"/plans?campaign={campaign}", headers={"Accept": "text/html"})
    assert f'href="/plans/{grading_id}"' in listed.get_data(as_text=True)
    for bad in ("/plans/99999999", "/plans?campaign=abc", "/plans"):
        assert browser.get(bad, headers={"Accept": "text/html"}).status_code == 404


def test_a_plan_and_its_items_move_at_their_transitions_endpoints(api: Api, db: Session) -> None:
    grading_id = rectifying(db, api.world.gradings["A1-01"], level="good")
    api.post(url(grading_id, "/items"), json=item(), who="secretary")
    plan = api.post(
        url(grading_id, "/plan/transitions"), json={"transition": "approve"}, who="supervisor"
    )
    assert plan.status_code == 200 and plan.get_json()["plan_approved"] is True
    steps = url(grading_id, "/items/I1/transitions")
    assert api.post(steps, json={"transition": "start"}, who="secretary").status_code == 200
    problem = assert_problem(
        api.post(steps, json={"transition": "submit"}, who="secretary"), 422, "validation-error"
    )
    assert problem["errors"] == {"evidence": ["required"]}
    submitted = api.post(
        steps, json={"transition": "submit", "evidence": "支部党员大会记录"}, who="secretary"
    )
    assert submitted.get_json()["status"] == "submitted"
    assert_problem(api.post(steps, json={"transition": "close"}, who="secretary"), 403, "forbidden")
    closed = api.post(steps, json={"transition": "close"}, who="reviewer").get_json()
    assert closed["status"] == "closed"
