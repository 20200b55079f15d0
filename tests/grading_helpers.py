"""Putting a grading where a test needs it, and satisfying the guards of a transition."""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from service.campaigns.models import Campaign
from service.context import Actor
from service.db import utcnow
from service.decisions import meetings, rules
from service.gradings import records
from service.gradings.models import Grading
from service.lifecycle.workflow import GRADING_SPEC, GRADING_WORKFLOW
from service.organizations.models import Organization
from service.spotchecks.models import SpotCheck, SpotCheckItem
from service.workflows.states import REOPENED_AFTER_SPOT_CHECK

# What each guarded transition needs on record before it can fire.
NEEDS = {
    "open_self_rating": ["survey_entry"],
    "submit_self_rating": ["self_rating"],
    "close_evaluation": ["ballot_tally", "branch_opinion"],
    "decide": ["assessment", "decision"],
    "close": ["promotion_decision"],
}
ROLE_FOR = {
    "submit_self_rating": "secretary",
    "close_evaluation": "teller",
    "reopen_after_spot_check": "inspector",
    "reopen_rectification_after_spot_check": "inspector",
    "reopen_re_review_after_spot_check": "inspector",
    "reopen_promotion_after_spot_check": "inspector",
}


def who_fires(name: str) -> str:
    return ROLE_FOR.get(name, "reviewer")


def walk(grading: Grading, target: str) -> None:
    """Move a grading to `target` along the workflow's declared transitions, through the engine
    but without their guards: a test sets a stage up here, it does not test the guards."""
    paths: dict[str, list[str]] = {grading.state: []}
    frontier = deque([grading.state])
    while frontier and target not in paths:
        state = frontier.popleft()
        for t in GRADING_SPEC.transitions:
            if t.source == state and t.dest not in paths:
                paths[t.dest] = [*paths[state], t.name]
                frontier.append(t.dest)
    if target not in paths:
        raise AssertionError(f"no path from {grading.state} to {target}")
    for name in paths[target]:
        GRADING_WORKFLOW.apply(grading, name)


def put_in_state(db: Session, grading: Grading, state: str, *, long_ago: bool = False) -> Grading:
    db.expire_all()
    fresh = db.get_one(Grading, grading.id)
    walk(fresh, state)
    fresh.state_entered_at = utcnow() - timedelta(days=60 if long_ago else 0)
    if long_ago:
        fresh.publicity_ends_on = (utcnow() - timedelta(days=30)).date()
    db.commit()
    return fresh


def satisfy(db: Session, grading: Grading, name: str) -> None:
    db.expire_all()
    fresh = db.get_one(Grading, grading.id)
    for record_type in NEEDS.get(name, []):
        if not records.latest_versions(db, fresh.id, record_type):
            data = DECIDED if record_type == "decision" else {"entered": True}
            records.write(db, Actor.system("test"), fresh, record_type, data)
    if name == "decide":  # the 分类定级会议 decided the proposed level
        hold_meeting(db, fresh, rules.proposed_level(db, fresh) or "average")
    if name == "finalize":
        fresh.state_entered_at = utcnow() - timedelta(days=60)
        fresh.publicity_ends_on = (utcnow() - timedelta(days=30)).date()
    if name in REOPENED_AFTER_SPOT_CHECK:  # a spot check found it falsified
        check = SpotCheck(
            campaign_id=fresh.campaign_id,
            organization_id=fresh.organization_id,
            title="抽查",
            size=1,
            stratify=[],
            public_source="test",
            planned_by="test",
        )
        db.add(check)
        db.flush()
        db.add(
            SpotCheckItem(
                spot_check_id=check.id,
                grading_id=fresh.id,
                stratum="",
                rank="0",
                outcome="falsified",
                evidence="补写的记录",
                description="弄虚作假",
            )
        )
    db.commit()


DECIDED = {"level": "average", "computed_level": "average", "composite": "70.00"}


def hold_meeting(db: Session, grading: Grading, level: str) -> int:
    """The county committee's 分类定级会议 decides `level` for the grading (in superior review)."""
    campaign = db.get_one(Campaign, grading.campaign_id)
    committee = db.get_one(Organization, campaign.organization_id)
    org = db.get_one(Organization, grading.organization_id)
    meeting = meetings.record_meeting(
        db,
        Actor.system("test"),
        campaign,
        committee,
        [(grading, org)],
        {
            "held_on": utcnow().date(),
            "chaired_by": "县委书记",
            "attendees": ["县委书记", "组织部长"],
            "minutes": "研究确定等级",
            "results": [{"grading_id": grading.id, "level": level}],
        },
    )
    db.flush()
    return meeting.id


def meeting_over_api(api: Any, levels: dict[int, str], who: str = "reviewer") -> int:
    """POST the county's 分类定级会议 deciding `levels` (grading id -> level); its id."""
    world = api.world
    campaign_id = world.campaigns["open"].id
    response = api.post(
        f"/api/v1/campaigns/{campaign_id}/decision-meetings",
        who=who,
        json={
            "organization_id": world.orgs["A"].id,
            "held_on": utcnow().date().isoformat(),
            "chaired_by": "县委书记",
            "attendees": ["县委书记", "组织部长", "纪委书记"],
            "minutes": "综合考核结果和自我评定意见，研究确定等级",
            "results": [{"grading_id": g, "level": level} for g, level in levels.items()],
        },
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def fire(
    api: Any,
    grading_id: int,
    name: str,
    reason: str | None = "测试",
    who: str | None = None,
    **kw: Any,
) -> Any:
    body: dict[str, Any] = {"transition": name}
    if reason is not None:
        body["reason"] = reason
    return api.post(
        f"/api/v1/gradings/{grading_id}/transitions", json=body, who=who or who_fires(name), **kw
    )


ALL_TRANSITIONS = [t.name for t in GRADING_SPEC.transitions]


def ballot_tally(points: str, valid: int, source: str = "members") -> dict[str, Any]:
    """A counted tally as the ballots write it: counts, with the average derived."""
    earned = Decimal(points) * valid
    return {
        "categories": [{"code": source, "source": source, "valid": valid, "earned": str(earned)}],
        "sources": {source: {"points": points, "valid": valid}},
    }
