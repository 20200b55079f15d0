"""指导检查组: a campaign's inspection groups visit the organizations they are responsible for
and accept (检查验收) their rectification and promotion; where the campaign requires it, 回头看
does not start and no level rises without that acceptance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from service.accounts import operations as accounts
from service.accounts.models import Role
from service.audit.models import AuditEvent
from service.campaigns.models import Campaign
from service.context import Actor
from service.gradings.models import Grading
from tests.conftest import Api, assert_problem
from tests.grading_helpers import fire, walk
from tests.promotion_helpers import (
    LEADING_GROUP,
    needs_opinion,
    opinion,
    promote,
    promoting,
    report,
    satisfied,
)

GROUP = "第一指导检查组"


@pytest.fixture
def people(api: Api, db: Session) -> dict[str, dict[str, str]]:
    """Two more inspectors of the county (one for the group, one not in it): name -> headers."""
    actor = Actor.system("t")
    county = api.world.org("A")
    found = {}
    for username in ("inspector_2", "inspector_3"):
        account = accounts.create_account(
            db, actor, username=username, display_name=username, organization=county
        )
        accounts.grant_role(db, actor, account, Role.INSPECTOR, county)
        _, token = accounts.issue_token(db, actor, account, name="t", lifetime=timedelta(days=1))
        found[username] = {"Authorization": f"Bearer {token}"}
    db.commit()
    return found


def campaign_id(api: Api) -> int:
    return int(api.world.campaigns["open"].id)


def form(api: Api, who: str = "reviewer", **body: Any) -> Any:
    return api.post(
        f"/api/v1/campaigns/{campaign_id(api)}/inspection-groups",
        who=who,
        json={
            "name": GROUP,
            "leader": "inspector",
            "members": ["inspector_2"],
            "covers": [api.world.org("A1").id],
            **body,
        },
    )


def requires(db: Session, api: Api, *stages: str) -> None:
    campaign = db.get_one(Campaign, campaign_id(api))
    campaign.decision_config = {
        **(campaign.decision_config or {}),
        "inspection_acceptance": list(stages),
    }
    db.commit()


def accept(
    api: Api, grading_id: int, stage: str, conclusion: str = "accepted", **extra: Any
) -> Any:
    who = extra.pop("who", "inspector")
    return api.put(
        f"/api/v1/gradings/{grading_id}/inspection/acceptances/{stage}",
        who=who,
        json={
            "conclusion": conclusion,
            "findings": "整改措施落实到位" if conclusion == "accepted" else "整改台账不全",
            "accepted_on": "2026-11-20",
            **extra,
        },
    )


def test_promotion_needs_the_groups_acceptance_and_the_outside_opinion(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    needs_opinion(db, api)
    requires(db, api, "promotion")
    assert form(api).status_code == 201
    grading_id = promoting(db, api.world.gradings["A1-01"])
    satisfied(api, grading_id)
    report(api, grading_id)

    neither = assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")
    assert neither["reasons"] == ["opinion_missing:LG", "acceptance_missing"]
    assert LEADING_GROUP["name"] in neither["detail"] and GROUP in neither["detail"]

    assert opinion(api, grading_id, True).status_code == 200
    no_acceptance = assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")
    assert no_acceptance["reasons"] == ["acceptance_missing"]
    assert f"acceptance_missing ({GROUP})" in no_acceptance["detail"]

    assert accept(api, grading_id, "promotion", "not_accepted").status_code == 200
    refused = assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")
    assert refused["reasons"] == ["acceptance_refused"] and GROUP in refused["detail"]

    assert_problem(accept(api, grading_id, "promotion"), 422, "validation-error")  # says why
    corrected = accept(api, grading_id, "promotion", reason="补齐台账后复查")
    assert corrected.status_code == 200, corrected.get_json()
    shown = corrected.get_json()
    assert shown["required"] == ["promotion"] and shown["group"]["name"] == GROUP
    assert shown["acceptances"]["promotion"]["conclusion"] == "accepted"
    assert shown["acceptances"]["promotion"]["signed_by"] == "inspector"

    promoted = promote(api, grading_id, "average")
    assert promoted.status_code == 200, promoted.get_json()
    assert promoted.get_json()["level"] == "average"


def test_without_the_setting_promotion_needs_no_acceptance(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    assert form(api).status_code == 201
    grading_id = promoting(db, api.world.gradings["A1-01"])
    satisfied(api, grading_id)
    report(api, grading_id)
    assert promote(api, grading_id, "average").status_code == 200


def rectifying(db: Session, grading: Grading) -> int:
    fresh = db.get_one(Grading, grading.id)
    walk(fresh, "rectification")
    fresh.level = "poor"
    db.commit()
    return fresh.id


def test_re_review_waits_for_the_groups_acceptance_of_the_rectification(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    requires(db, api, "rectification")
    assert form(api).status_code == 201
    grading_id = rectifying(db, api.world.gradings["A1-01"])
    blocked = assert_problem(fire(api, grading_id, "start_re_review"), 409, "transition-blocked")
    assert [r["code"] for r in blocked["reasons"]] == ["rectification_accepted"]
    assert accept(api, grading_id, "rectification", "not_accepted").status_code == 200
    still = assert_problem(fire(api, grading_id, "start_re_review"), 409, "transition-blocked")
    assert [r["code"] for r in still["reasons"]] == ["rectification_accepted"]
    assert accept(api, grading_id, "rectification", reason="复查通过").status_code == 200
    assert fire(api, grading_id, "start_re_review").status_code == 200
    # the stage is over: the acceptance is given in its own stage only
    assert_problem(accept(api, grading_id, "promotion"), 409, "stage-not-open")


def test_only_the_groups_leader_signs_its_acceptance(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    assert form(api).status_code == 201
    grading_id = rectifying(db, api.world.gradings["A1-01"])
    url = f"/api/v1/gradings/{grading_id}/inspection/acceptances/rectification"
    body = {"conclusion": "accepted", "findings": "好", "accepted_on": "2026-11-20"}
    member = api.put(url, json=body, who=None, headers=people["inspector_2"])
    assert "its leader" in assert_problem(member, 403, "forbidden")["detail"]
    stranger = api.put(url, json=body, who=None, headers=people["inspector_3"])
    assert_problem(stranger, 403, "forbidden")
    assert_problem(accept(api, grading_id, "rectification", who="reviewer"), 403, "forbidden")
    assert_problem(accept(api, grading_id, "rectification", who="reviewer_b"), 404, "not-found")
    assert_problem(accept(api, grading_id, "handover"), 404, "not-found")
    assert_problem(
        accept(api, grading_id, "rectification", accepted_on="上周"), 422, "validation-error"
    )
    assert_problem(accept(api, grading_id, "rectification", "maybe"), 422, "validation-error")
    assert api.get(f"/api/v1/gradings/{grading_id}/inspection").get_json()["acceptances"] == {
        "rectification": None,
        "promotion": None,
    }


def test_without_a_responsible_group_there_is_nobody_to_accept(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    requires(db, api, "promotion")
    grading_id = promoting(db, api.world.gradings["A1-01"])
    assert_problem(accept(api, grading_id, "promotion"), 409, "conflict")
    satisfied(api, grading_id)
    report(api, grading_id)
    refused = assert_problem(promote(api, grading_id, "average"), 409, "promotion-refused")
    assert refused["reasons"] == ["acceptance_missing"]
    assert "没有负责的指导检查组" in refused["detail"]


def test_a_group_is_formed_of_inspectors_for_organizations_of_the_campaign(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    unknown = assert_problem(form(api, leader="nobody"), 422, "validation-error")
    assert unknown["errors"] == {"nobody": ["no active account of that name"]}
    not_inspector = assert_problem(form(api, members=["reviewer"]), 422, "validation-error")
    assert list(not_inspector["errors"]) == ["reviewer"]
    outside = form(api, covers=[api.world.org("B-01").id])
    assert list(assert_problem(outside, 422, "validation-error")["errors"]) == ["covers"]
    assert_problem(form(api, covers=[]), 422, "validation-error")
    assert_problem(form(api, who="teller"), 403, "forbidden")
    assert_problem(form(api, who="secretary"), 404, "not-found")  # the committee is above
    assert_problem(form(api, who="inspector"), 403, "forbidden")
    assert_problem(form(api, who="reviewer_b"), 404, "not-found")

    created = form(api)
    assert created.status_code == 201, created.get_json()
    group = created.get_json()
    assert (group["leader"], group["members"], group["version"]) == (
        "inspector",
        ["inspector_2"],
        1,
    )
    assert created.headers["Location"] == f"/api/v1/inspection-groups/{group['id']}"
    # a branch under the township is the township's group's already
    overlap = form(api, name="第二指导检查组", covers=[api.world.org("A1-01").id])
    assert GROUP in assert_problem(overlap, 409, "conflict")["detail"]
    listed = api.get(f"/api/v1/campaigns/{campaign_id(api)}/inspection-groups?total=true")
    assert [g["name"] for g in listed.get_json()["items"]] == [GROUP]
    assert listed.get_json()["total"] == 1
    assert_problem(
        api.get(f"/api/v1/inspection-groups/{group['id']}", who="reviewer_b"), 404, "not-found"
    )


def test_a_change_of_the_group_says_why_and_is_audited(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    group = form(api).get_json()
    url = f"/api/v1/inspection-groups/{group['id']}"
    assert api.get(url).headers["ETag"] == '"1"'
    assert_problem(
        api.patch(url, who="reviewer", json={"members": ["inspector_3"]}),
        422,
        "validation-error",
    )
    stale = api.patch(
        url,
        who="reviewer",
        json={"members": ["inspector_3"], "reason": "人员调整"},
        headers={"If-Match": '"7"'},
    )
    assert_problem(stale, 412, "precondition-failed")
    assert_problem(
        api.patch(url, who="inspector", json={"members": [], "reason": "x"}), 403, "forbidden"
    )
    changed = api.patch(
        url,
        who="reviewer",
        json={"members": ["inspector_3"], "reason": "人员调整"},
        headers={"If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["members"] == ["inspector_3"] and changed.headers["ETag"] == '"2"'
    event = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "inspection_group.change")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.reason == "人员调整" and event.actor_username == "reviewer"
    assert event.before["members"] == ["inspector_2"] and event.after["members"] == ["inspector_3"]


def test_the_groups_people_record_their_visits(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    assert form(api).status_code == 201
    early = api.world.gradings["A1-02"].id
    grading_id = rectifying(db, api.world.gradings["A1-01"])
    url = f"/api/v1/gradings/{grading_id}/inspection/visits"
    visit = {"visited_on": "2026-10-12", "purpose": "整改提高", "notes": "查看整改台账"}
    first = api.post(url, json=visit, who=None, headers=people["inspector_2"])
    assert first.status_code == 201, first.get_json()
    both = api.post(url, json={**visit, "present": ["inspector", "inspector_2"]}, who="inspector")
    assert both.status_code == 201
    visits = both.get_json()["visits"]
    assert [v["present"] for v in visits] == [["inspector_2"], ["inspector", "inspector_2"]]
    assert visits[0]["group_name"] == GROUP
    stranger = api.post(url, json={**visit, "present": ["inspector_3"]}, who="inspector")
    assert "inspector_3" in str(assert_problem(stranger, 422, "validation-error")["errors"])
    assert_problem(
        api.post(url, json=visit, who=None, headers=people["inspector_3"]), 403, "forbidden"
    )
    assert_problem(
        api.post(url, json={**visit, "purpose": "参观"}, who="inspector"), 422, "validation-error"
    )
    # the seeds' 指导组 guides the branch while it is graded too
    guided = api.post(
        f"/api/v1/gradings/{early}/inspection/visits",
        json={**visit, "purpose": "调查摸底", "notes": "指导调查摸底"},
        who="inspector",
    )
    assert guided.status_code == 201, guided.get_json()
    assert guided.get_json()["visits"][0]["purpose"] == "调查摸底"
    noticed = db.get_one(Grading, early)
    walk(noticed, "publicity")
    db.commit()
    assert_problem(
        api.post(f"/api/v1/gradings/{early}/inspection/visits", json=visit, who="inspector"),
        409,
        "stage-not-open",
    )
    assert len(api.get(f"/api/v1/gradings/{grading_id}/inspection").get_json()["visits"]) == 2


def test_a_group_changed_in_its_table_without_an_event_is_caught_by_verify(
    api: Api, db: Session, people: dict[str, dict[str, str]]
) -> None:
    """Whose acceptance counts rests on who is in the group: verify replays the groups' stories
    and names a leader put in place behind the trail's back."""
    group = form(api).get_json()
    url = f"/api/v1/inspection-groups/{group['id']}"
    changed = api.patch(url, who="reviewer", json={"name": "第一组", "reason": "更名"})
    assert changed.status_code == 200
    assert api.get("/api/v1/audit/verify", who="inspector").get_json()["intact"] is True
    db.execute(
        text("UPDATE inspection_groups SET leader = 'inspector_3' WHERE id = :id"),
        {"id": group["id"]},
    )
    db.commit()
    report = api.get("/api/v1/audit/verify", who="inspector").get_json()
    assert report["intact"] is False
    [damage] = report["damage"]
    assert damage["kind"] == "state-diverged"
    assert (
        f"inspection group {group['id']}: the table says leader 'inspector_3', the trail "
        "'inspector'" in damage["detail"]
    )
