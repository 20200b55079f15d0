"""Campaigns: configured while draft, opened (enrolling gradings), frozen, amended with reasons."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.gradings.models import Grading
from service.standards.models import LevelScheme
from tests.conftest import Api, assert_problem
from tests.world import campaign_body


def _body(api: Api, **overrides: Any) -> dict[str, Any]:
    w = api.world
    body = campaign_body(w.org("A").id, {d: s.id for d, s in w.standards.items()}, 2027)
    body.update(overrides)
    return body


def test_a_committee_admin_creates_a_draft_campaign(api: Api) -> None:
    response = api.post("/api/v1/campaigns", json=_body(api))
    assert response.status_code == 201, response.get_json()
    campaign = response.get_json()
    assert campaign["status"] == "draft"
    assert [s["weight"] for s in campaign["sources"]] == ["50.00", "30.00", "20.00"]
    assert campaign["quota_rules"] == [
        {"level_code": "good", "scope": "campaign", "max_share": "20.00", "min_share": None}
    ]


def test_weights_must_sum_to_100(api: Api) -> None:
    sources = [{"source": "superior", "weight": "60"}, {"source": "self", "weight": "30"}]
    problem = assert_problem(
        api.post("/api/v1/campaigns", json=_body(api, sources=sources)), 422, "validation-error"
    )
    assert problem["errors"] == {"sources": ["the weights sum to 90, not to 100"]}


def test_a_standard_must_match_its_domain(api: Api) -> None:
    w = api.world
    standards = [{"domain": "organ", "standard_id": w.standards["village"].id}]
    problem = assert_problem(
        api.post("/api/v1/campaigns", json=_body(api, standards=standards)), 422, "validation-error"
    )
    assert list(problem["errors"]) == ["standards.0.standard_id"]


def test_quota_and_veto_rules_name_levels_of_the_scheme(api: Api) -> None:
    body = _body(
        api,
        quota_rules=[{"level_code": "excellent", "max_share": "20"}],
        veto_rules=[{"code": "v", "description": "x", "forced_level_code": "bad"}],
    )
    problem = assert_problem(api.post("/api/v1/campaigns", json=body), 422, "validation-error")
    assert set(problem["errors"]) == {"quota_rules.0.level_code", "veto_rules.0.forced_level_code"}


def test_phase_deadlines_follow_the_lifecycle_order(api: Api) -> None:
    phases = [
        {"phase": "survey", "due_on": "2027-04-30"},
        {"phase": "self_rating", "due_on": "2027-04-01"},
    ]
    problem = assert_problem(
        api.post("/api/v1/campaigns", json=_body(api, phases=phases)), 422, "validation-error"
    )
    assert "phases.1.due_on" in problem["errors"]


def test_a_campaign_is_run_by_a_committee(api: Api) -> None:
    body = _body(api, organization_id=api.world.org("A1-01").id)
    problem = assert_problem(api.post("/api/v1/campaigns", json=body), 422, "validation-error")
    assert problem["errors"] == {"organization_id": ["not an active committee"]}


def test_opening_enrolls_every_active_grassroots_organization_once(api: Api, db: Session) -> None:
    campaign_id = api.world.campaigns["draft"].id
    response = api.post(f"/api/v1/campaigns/{campaign_id}/open")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["enrolled"] == 2
    org_ids = set(
        db.scalars(select(Grading.organization_id).where(Grading.campaign_id == campaign_id))
    )
    assert org_ids == {api.world.org("A1-01").id, api.world.org("A1-02").id}
    again = api.post(f"/api/v1/campaigns/{campaign_id}/enrollments").get_json()
    assert again == {"enrolled": 0, "grading_ids": []}


def test_an_organization_added_later_is_enrolled_on_request(api: Api) -> None:
    w = api.world
    campaign_id = w.campaigns["open"].id
    created = api.post(
        "/api/v1/organizations",
        json={
            "code": "A1-03",
            "name": "新村党支部",
            "kind": "branch",
            "domain": "village",
            "parent_id": w.org("A1").id,
        },
    )
    assert created.status_code == 201
    result = api.post(f"/api/v1/campaigns/{campaign_id}/enrollments").get_json()
    assert result["enrolled"] == 1
    gradings = api.get(f"/api/v1/campaigns/{campaign_id}/gradings").get_json()["items"]
    assert created.get_json()["id"] in {g["organization_id"] for g in gradings}


def test_a_grassroots_committee_is_graded_where_it_is_marked_so(api: Api) -> None:
    """基层党组织 includes a village's, a company's, a school's 党委: marked `grassroots`, it is
    enrolled as a branch is; a township's committee is not, nor does a campaign grade the
    committee that runs it."""
    w = api.world
    campaign_id = w.campaigns["open"].id

    def committee(code: str, **extra: Any) -> Any:
        body = {
            "code": code,
            "name": f"{code}党委",
            "kind": "committee",
            "parent_id": w.org("A1").id,
        }
        return api.post("/api/v1/organizations", json={**body, **extra})

    village = committee("A1-C1", grassroots=True, domain="village")
    assert village.status_code == 201 and village.get_json()["kind_label"] == "基层党委"
    plain = committee("A1-C2")
    assert plain.get_json()["grassroots"] is False
    no_domain = assert_problem(committee("A1-C3", grassroots=True), 422, "validation-error")
    assert list(no_domain["errors"]) == ["domain"]
    branch = assert_problem(
        api.post(
            "/api/v1/organizations",
            json={
                "code": "A1-09",
                "name": "支部",
                "kind": "branch",
                "domain": "village",
                "parent_id": w.org("A1").id,
                "grassroots": True,
            },
        ),
        422,
        "validation-error",
    )
    assert list(branch["errors"]) == ["grassroots"]
    enrolled = api.post(f"/api/v1/campaigns/{campaign_id}/enrollments").get_json()
    gradings = api.get(f"/api/v1/campaigns/{campaign_id}/gradings").get_json()["items"]
    graded = {g["organization_id"] for g in gradings}
    assert enrolled["enrolled"] == 1 and village.get_json()["id"] in graded
    assert plain.get_json()["id"] not in graded and w.org("A").id not in graded


def test_opening_twice_is_refused_with_the_state(api: Api) -> None:
    problem = assert_problem(
        api.post(f"/api/v1/campaigns/{api.world.campaigns['open'].id}/open"),
        409,
        "transition-not-allowed",
    )
    assert problem["state"] == "open"


def test_opening_without_a_standard_for_a_domain_present_is_blocked(api: Api) -> None:
    w = api.world
    body = _body(api, standards=[{"domain": "village", "standard_id": w.standards["village"].id}])
    campaign_id = api.post("/api/v1/campaigns", json=body).get_json()["id"]
    problem = assert_problem(
        api.post(f"/api/v1/campaigns/{campaign_id}/open"), 409, "transition-blocked"
    )
    assert [r["code"] for r in problem["reasons"]] == ["standard_for_every_domain"]
    assert problem["reasons"][0]["message_zh"] == "范围内每个领域都必须指定评分标准"


def test_opening_without_sources_or_deadlines_lists_every_reason(api: Api) -> None:
    campaign_id = api.post("/api/v1/campaigns", json=_body(api, sources=[], phases=[])).get_json()[
        "id"
    ]
    problem = assert_problem(
        api.post(f"/api/v1/campaigns/{campaign_id}/open"), 409, "transition-blocked"
    )
    assert [r["code"] for r in problem["reasons"]] == ["weights_sum_to_100", "deadlines_set"]


def test_an_open_campaign_is_frozen_and_points_to_amendments(api: Api) -> None:
    campaign_id = api.world.campaigns["open"].id
    problem = assert_problem(
        api.patch(f"/api/v1/campaigns/{campaign_id}", json={"name": "改名"}), 409, "campaign-frozen"
    )
    assert f"/api/v1/campaigns/{campaign_id}/amendments" in problem["detail"]


def test_a_draft_campaign_can_be_changed_with_if_match(api: Api) -> None:
    campaign_id = api.world.campaigns["draft"].id
    etag = api.get(f"/api/v1/campaigns/{campaign_id}").headers["ETag"]
    response = api.patch(
        f"/api/v1/campaigns/{campaign_id}",
        json={"quota_rules": [{"level_code": "good", "max_share": "25"}]},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["quota_rules"][0]["max_share"] == "25.00"
    assert_problem(
        api.patch(
            f"/api/v1/campaigns/{campaign_id}", json={"name": "x"}, headers={"If-Match": etag}
        ),
        412,
        "precondition-failed",
    )


def test_an_amendment_records_reason_before_and_after(api: Api) -> None:
    campaign_id = api.world.campaigns["open"].id
    response = api.post(
        f"/api/v1/campaigns/{campaign_id}/amendments",
        json={"reason": "清明假期顺延", "changes": {"publicity_working_days": 7}},
    )
    assert response.status_code == 201, response.get_json()
    amendment = response.get_json()
    assert amendment["before"] == {"publicity_working_days": 5}
    assert amendment["after"] == {"publicity_working_days": 7}
    listed = api.get(f"/api/v1/campaigns/{campaign_id}/amendments", who="inspector").get_json()
    assert [a["reason"] for a in listed["items"]] == ["清明假期顺延"]


def test_an_amendment_cannot_touch_weights_or_standards(api: Api) -> None:
    campaign_id = api.world.campaigns["open"].id
    response = api.post(
        f"/api/v1/campaigns/{campaign_id}/amendments",
        json={"reason": "想改权重", "changes": {"sources": [{"source": "self", "weight": "100"}]}},
    )
    problem = assert_problem(response, 422, "validation-error")
    assert "sources" in problem["errors"]["changes"]


def test_an_amendment_needs_a_reason(api: Api) -> None:
    campaign_id = api.world.campaigns["open"].id
    problem = assert_problem(
        api.post(f"/api/v1/campaigns/{campaign_id}/amendments", json={"changes": {"name": "x"}}),
        422,
        "validation-error",
    )
    assert problem["errors"] == {"reason": ["Missing data for required field."]}


def test_a_draft_is_not_amended(api: Api) -> None:
    campaign_id = api.world.campaigns["draft"].id
    assert_problem(
        api.post(
            f"/api/v1/campaigns/{campaign_id}/amendments",
            json={"reason": "r", "changes": {"name": "x"}},
        ),
        409,
        "campaign-not-open",
    )


def test_closing_a_campaign_then_it_enrolls_no_more(api: Api) -> None:
    campaign_id = api.world.campaigns["open"].id
    response = api.post(f"/api/v1/campaigns/{campaign_id}/close", json={"reason": "工作结束"})
    assert response.status_code == 200 and response.get_json()["status"] == "closed"
    assert_problem(
        api.post(f"/api/v1/campaigns/{campaign_id}/enrollments"), 409, "campaign-not-open"
    )


def test_a_secretary_sees_the_campaign_that_covers_their_branch_and_only_their_grading(
    api: Api,
) -> None:
    w = api.world
    listed = api.get("/api/v1/campaigns", who="secretary").get_json()["items"]
    assert {c["id"] for c in listed} == {w.campaigns["draft"].id, w.campaigns["open"].id}
    gradings = api.get(f"/api/v1/campaigns/{w.campaigns['open'].id}/gradings", who="secretary")
    assert [g["organization_id"] for g in gradings.get_json()["items"]] == [w.org("A1-01").id]


def test_the_campaign_workflow_is_published_with_its_diagram(api: Api) -> None:
    workflow = api.get("/api/v1/workflows/campaign", who=None).get_json()
    assert [t["name"] for t in workflow["transitions"]] == ["open", "close"]
    assert workflow["mermaid"].startswith("stateDiagram-v2")
    assert_problem(api.get("/api/v1/workflows/nope", who=None), 404, "not-found")


def test_level_for_uses_lower_bounds_exactly(db: Session) -> None:
    four = db.scalars(select(LevelScheme).where(LevelScheme.code == "four_levels")).one()
    labels = [(s, four.level_for(Decimal(s))) for s in ("90", "89.99", "80", "79.99", "60", "0")]
    assert [(s, lv.label if lv else None) for s, lv in labels] == [
        ("90", "好"),
        ("89.99", "较好"),
        ("80", "较好"),
        ("79.99", "一般"),
        ("60", "一般"),
        ("0", "较差"),
    ]
    stars = db.scalars(select(LevelScheme).where(LevelScheme.code == "five_stars")).one()
    assert stars.level_for(Decimal("59.99")) is None
