"""The grading lifecycle: every legal step, every refusal with its reason, approvals, versions."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from service.gradings.models import Grading
from service.lifecycle.workflow import GRADING_SPEC
from tests.conftest import Api, assert_problem
from tests.grading_helpers import ALL_TRANSITIONS, fire, put_in_state, satisfy


def _state(db: Session, grading_id: int) -> str:
    db.expire_all()  # the requests changed it through sessions of their own
    return db.get_one(Grading, grading_id).state


def _events(db: Session, grading_id: int) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_type == "grading", AuditEvent.entity_id == str(grading_id))
        )
        or 0
    )


@pytest.mark.parametrize("name", ALL_TRANSITIONS)
def test_every_transition_fires_from_its_source_for_its_role(
    api: Api, db: Session, name: str
) -> None:
    t = GRADING_SPEC.transition(name)
    assert t is not None
    grading = put_in_state(db, api.world.gradings["A1-01"], t.source)
    satisfy(db, grading, name)
    response = fire(api, grading.id, name)
    if t.needs_approval:
        assert response.status_code == 202, response.get_json()
        approval = response.get_json()
        approved = api.post(
            f"/api/v1/approvals/{approval['id']}/approve",
            json={"comment": "同意"},
            who="supervisor",
        )
        assert approved.status_code == 200, approved.get_json()
        assert approved.get_json()["state"] == "approved"
    else:
        assert response.status_code == 200, response.get_json()
    assert _state(db, grading.id) == t.dest


def test_the_main_path_from_survey_to_closed(api: Api, db: Session) -> None:
    grading_id = api.world.gradings["A1-01"].id
    path = [
        "open_self_rating",
        "submit_self_rating",
        "close_evaluation",
        "decide",
        "finalize",
        "start_rectification",
        "start_re_review",
        "start_promotion",
        "close",
    ]
    for name in path:
        satisfy(db, db.get_one(Grading, grading_id), name)
        response = fire(api, grading_id, name)
        if response.status_code == 202:
            response = api.post(
                f"/api/v1/approvals/{response.get_json()['id']}/approve", json={}, who="supervisor"
            )
        assert response.status_code == 200, (name, response.get_json())
    view = api.get(f"/api/v1/gradings/{grading_id}").get_json()
    assert view["state"] == "closed" and view["state_label"] == "结束"
    history = api.get(f"/api/v1/gradings/{grading_id}/history", who="inspector").get_json()["items"]
    transitions = [h for h in history if h["action"] == "grading.transition"]
    assert [h["after"]["transition"] for h in transitions] == path
    assert transitions[0]["summary"] == "open_self_rating: survey 调查摸底 → self_rating 自评"


@pytest.mark.parametrize("name", ALL_TRANSITIONS)
def test_a_transition_from_the_wrong_state_is_refused_with_the_state(
    api: Api, db: Session, name: str
) -> None:
    t = GRADING_SPEC.transition(name)
    assert t is not None
    wrong = "closed" if t.source != "closed" else "survey"
    grading = put_in_state(db, api.world.gradings["A1-01"], wrong)
    problem = assert_problem(fire(api, grading.id, name), 409, "transition-not-allowed")
    assert problem["state"] == wrong


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("open_self_rating", ["survey_recorded"]),
        ("submit_self_rating", ["self_rating_submitted"]),
        ("close_evaluation", ["ballots_counted", "branch_opinion_formed"]),
        ("decide", ["assessment_entered", "level_proposed", "decision_meeting_held"]),
        ("finalize", ["publicity_period_over"]),  # (no floor in the world: quota_floors holds)
        ("close", ["promotion_settled"]),
    ],
)
def test_an_unmet_guard_is_refused_with_its_reason_codes(
    api: Api, db: Session, name: str, codes: list[str]
) -> None:
    t = GRADING_SPEC.transition(name)
    assert t is not None
    grading = put_in_state(db, api.world.gradings["A1-01"], t.source)
    before = _events(db, grading.id)
    problem = assert_problem(fire(api, grading.id, name), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == codes
    assert all(r["message_zh"] and r["message_en"] for r in problem["reasons"])
    assert _events(db, grading.id) == before


def test_open_rectification_items_block_the_re_review(api: Api, db: Session) -> None:
    from service.context import Actor
    from service.gradings import records

    grading = put_in_state(db, api.world.gradings["A1-01"], "rectification")
    records.write(db, Actor.system("t"), grading, "rectification_item", {"status": "open"}, key="1")
    db.commit()
    problem = assert_problem(fire(api, grading.id, "start_re_review"), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == ["rectification_closed"]


def test_a_send_back_needs_a_reason(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "evaluation")
    problem = assert_problem(
        fire(api, grading.id, "return_self_rating", reason=None), 422, "validation-error"
    )
    assert problem["errors"] == {"reason": ["required for this transition"]}


def test_an_unknown_transition_is_named(api: Api) -> None:
    problem = assert_problem(
        fire(api, api.world.gradings["A1-01"].id, "teleport"), 422, "validation-error"
    )
    assert problem["errors"] == {"transition": ["unknown transition 'teleport'"]}


@pytest.mark.parametrize("who", ["teller", "supervisor", "inspector", "admin", "secretary"])
def test_a_role_the_transition_does_not_name_gets_403(api: Api, db: Session, who: str) -> None:
    grading = api.world.gradings["A1-01"]
    satisfy(db, grading, "open_self_rating")
    assert_problem(fire(api, grading.id, "open_self_rating", who=who), 403, "forbidden")


def test_a_reviewer_of_another_county_gets_404(api: Api) -> None:
    assert_problem(
        fire(api, api.world.gradings["A1-01"].id, "open_self_rating", who="reviewer_b"),
        404,
        "not-found",
    )
    assert_problem(
        api.get(f"/api/v1/gradings/{api.world.gradings['A1-01'].id}", who="reviewer_b"),
        404,
        "not-found",
    )


def test_the_view_says_what_the_caller_may_do_and_why_not(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"]
    view = api.get(f"/api/v1/gradings/{grading.id}", who="reviewer").get_json()
    assert view["state"] == "survey" and view["state_label"] == "调查摸底"
    assert view["deadline"] is not None
    step = next(t for t in view["transitions"] if t["name"] == "open_self_rating")
    assert step["allowed"] is False
    assert [b["code"] for b in step["blocked_by"]] == ["survey_recorded"]
    as_secretary = api.get(f"/api/v1/gradings/{grading.id}", who="secretary").get_json()
    step = next(t for t in as_secretary["transitions"] if t["name"] == "open_self_rating")
    assert [b["code"] for b in step["blocked_by"]] == ["role_not_allowed", "survey_recorded"]
    satisfy(db, grading, "open_self_rating")
    view = api.get(f"/api/v1/gradings/{grading.id}", who="reviewer").get_json()
    assert (
        next(t for t in view["transitions"] if t["name"] == "open_self_rating")["allowed"] is True
    )


def test_a_stale_if_match_is_refused_with_412(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"]
    satisfy(db, grading, "open_self_rating")
    etag = api.get(f"/api/v1/gradings/{grading.id}").headers["ETag"]
    assert fire(api, grading.id, "open_self_rating", headers={"If-Match": etag}).status_code == 200
    problem = assert_problem(
        fire(api, grading.id, "return_to_survey", headers={"If-Match": etag}),
        412,
        "precondition-failed",
    )
    assert problem["current_version"] == int(etag.strip('"')) + 1


def test_the_same_idempotency_key_fires_once(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"]
    satisfy(db, grading, "open_self_rating")
    before = _events(db, grading.id)
    headers = {"Idempotency-Key": "portal-7f3a"}
    first = fire(api, grading.id, "open_self_rating", headers=headers)
    second = fire(api, grading.id, "open_self_rating", headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _events(db, grading.id) == before + 1
    assert _state(db, grading.id) == "self_rating"


def test_the_same_idempotency_key_with_another_body_is_refused(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"]
    satisfy(db, grading, "open_self_rating")
    headers = {"Idempotency-Key": "k-1"}
    assert fire(api, grading.id, "open_self_rating", headers=headers).status_code == 200
    problem = assert_problem(
        fire(api, grading.id, "return_to_survey", headers=headers), 422, "idempotency-key-reused"
    )
    assert "k-1" in problem["detail"]


def test_a_malformed_idempotency_key_is_a_400(api: Api) -> None:
    response = fire(
        api,
        api.world.gradings["A1-01"].id,
        "open_self_rating",
        headers={"Idempotency-Key": "with space"},
    )
    assert_problem(response, 400, "malformed-request")


def test_a_failure_after_the_state_change_leaves_everything_as_before(
    app: Any, api: Api, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    grading = api.world.gradings["A1-01"]
    satisfy(db, grading, "open_self_rating")
    before_events = db.scalar(select(func.count()).select_from(AuditEvent))
    version = db.get_one(Grading, grading.id).version

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected after the state change")

    monkeypatch.setattr("service.lifecycle.operations.record", explode)
    app.test_client_class = FlaskClient  # a 500 is not in the contract; this test wants one
    response = app.test_client().post(
        f"/api/v1/gradings/{grading.id}/transitions",
        json={"transition": "open_self_rating"},
        headers={"Authorization": f"Bearer {api.world.tokens['reviewer']}"},
    )
    assert response.status_code == 500
    assert response.get_json()["type"] == "/problems/internal-error"
    db.expire_all()
    fresh = db.get_one(Grading, grading.id)
    assert (fresh.state, fresh.version) == ("survey", version)
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before_events


def test_a_decision_waits_for_a_supervisor_and_fires_on_approval(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "superior_review")
    satisfy(db, grading, "decide")
    requested = fire(api, grading.id, "decide", reason="综合评定为较好")
    assert requested.status_code == 202
    approval = requested.get_json()
    assert approval["state"] == "pending" and approval["requested_by"] == "reviewer"
    assert _state(db, grading.id) == "superior_review"
    pending = api.get("/api/v1/approvals?state=pending", who="supervisor").get_json()["items"]
    assert [a["id"] for a in pending] == [approval["id"]]
    view = api.get(f"/api/v1/gradings/{grading.id}").get_json()
    assert view["pending_approval"]["id"] == approval["id"]
    assert_problem(fire(api, grading.id, "return_to_evaluation"), 409, "approval-pending")
    decided = api.post(
        f"/api/v1/approvals/{approval['id']}/approve", json={"comment": "同意"}, who="supervisor"
    )
    assert decided.status_code == 200 and decided.get_json()["decided_by"] == "supervisor"
    assert _state(db, grading.id) == "publicity"
    assert_problem(
        api.post(
            f"/api/v1/approvals/{approval['id']}/reject", json={"comment": "x"}, who="supervisor"
        ),
        409,
        "approval-decided",
    )


def test_a_supervisor_cannot_approve_their_own_request(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "superior_review")
    satisfy(db, grading, "decide")
    approval = fire(api, grading.id, "decide", who="chief").get_json()
    problem = assert_problem(
        api.post(f"/api/v1/approvals/{approval['id']}/approve", json={}, who="chief"),
        403,
        "four-eyes",
    )
    assert "own request" in problem["detail"]
    assert (
        api.post(
            f"/api/v1/approvals/{approval['id']}/approve", json={}, who="supervisor"
        ).status_code
        == 200
    )


def test_only_a_supervisor_decides(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "superior_review")
    satisfy(db, grading, "decide")
    approval = fire(api, grading.id, "decide").get_json()
    assert_problem(
        api.post(f"/api/v1/approvals/{approval['id']}/approve", json={}, who="admin"),
        403,
        "forbidden",
    )
    assert_problem(
        api.post(f"/api/v1/approvals/{approval['id']}/approve", json={}, who="reviewer_b"),
        404,
        "not-found",
    )


def test_a_rejection_needs_a_comment_and_leaves_the_state(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "superior_review")
    satisfy(db, grading, "decide")
    approval = fire(api, grading.id, "decide").get_json()
    problem = assert_problem(
        api.post(f"/api/v1/approvals/{approval['id']}/reject", json={}, who="supervisor"),
        422,
        "validation-error",
    )
    assert problem["errors"] == {"comment": ["required when rejecting"]}
    rejected = api.post(
        f"/api/v1/approvals/{approval['id']}/reject",
        json={"comment": "评分依据不足"},
        who="supervisor",
    )
    assert rejected.get_json()["state"] == "rejected"
    assert _state(db, grading.id) == "superior_review"


def test_bulk_opening_reports_each_grading(api: Api, db: Session) -> None:
    w = api.world
    satisfy(db, w.gradings["A1-01"], "open_self_rating")
    response = api.post(
        f"/api/v1/campaigns/{w.campaigns['open'].id}/transitions",
        json={"transition": "open_self_rating", "state": "survey"},
        who="reviewer",
    )
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert (result["fired"], result["refused"]) == (1, 1)
    by_id = {r["grading_id"]: r for r in result["results"]}
    assert by_id[w.gradings["A1-01"].id]["state"] == "self_rating"
    refused = by_id[w.gradings["A1-02"].id]
    assert refused["outcome"] == "refused"
    assert refused["problem"]["reasons"][0]["code"] == "survey_recorded"


def test_the_campaign_gradings_filter_by_state_domain_and_overdue(api: Api, db: Session) -> None:
    w = api.world
    url = f"/api/v1/campaigns/{w.campaigns['open'].id}/gradings"
    assert [g["organization_id"] for g in api.get(f"{url}?domain=organ").get_json()["items"]] == [
        w.org("A1-02").id
    ]
    put_in_state(db, w.gradings["A1-02"], "evaluation")
    assert [g["id"] for g in api.get(f"{url}?state=evaluation").get_json()["items"]] == [
        w.gradings["A1-02"].id
    ]
    overdue = {g["id"] for g in api.get(f"{url}?overdue=true").get_json()["items"]}
    assert overdue == {w.gradings["A1-01"].id, w.gradings["A1-02"].id}  # 2025's deadlines
    assert api.get(f"{url}?overdue=false").get_json()["items"] == []


def test_the_grading_workflow_is_published(api: Api) -> None:
    workflow = api.get("/api/v1/workflows/grading", who=None).get_json()
    assert [s["name"] for s in workflow["states"]][:3] == ["survey", "self_rating", "evaluation"]
    decide = next(t for t in workflow["transitions"] if t["name"] == "decide")
    assert decide["needs_approval"] is True and decide["roles"] == ["reviewer"]
    assert decide["duty"] == "decision"  # the superior's: a reviewer above the organization
    assert [g["code"] for g in decide["guards"]] == [
        "assessment_entered",
        "level_proposed",
        "decision_meeting_held",
        "veto_respected",
        "new_org_not_top",
        "source_thresholds",
        "quota_cap",
    ]
    assert "superior_review --> publicity: decide" in workflow["mermaid"]


def test_bulk_can_select_organizations_founded_since_a_date(api: Api, db: Session) -> None:
    from datetime import date

    from service.organizations.models import Organization

    db.get_one(Organization, api.world.org("A1-02").id).founded_on = date(2025, 9, 1)
    db.commit()
    result = api.post(
        f"/api/v1/campaigns/{api.world.campaigns['open'].id}/transitions",
        who="reviewer",
        json={"transition": "open_self_rating", "founded_since": "2025-01-01"},
    ).get_json()
    assert [r["grading_id"] for r in result["results"]] == [api.world.gradings["A1-02"].id]
