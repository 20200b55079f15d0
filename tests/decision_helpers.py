"""Decisions in tests: a grading scored and proposed over the API, decided at a meeting, approved
by a supervisor."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.context import Actor
from service.gradings import records
from tests.conftest import Api
from tests.grading_helpers import ballot_tally, meeting_over_api, put_in_state


def scored(
    db: Session,
    api: Api,
    key: str,
    superior: str = "95",
    members: str = "95",
    own: str = "95",
    public: str | None = None,
) -> int:
    """Put the grading in superior_review with every source of the world's campaign scored."""
    grading = put_in_state(db, api.world.gradings[key], "superior_review")
    actor = Actor.system("t")
    for record_type, total in (("assessment", superior), ("self_rating", own)):
        records.write(
            db,
            actor,
            grading,
            record_type,
            {"scores": [], "adjustments": [], "totals": {"total": total}},
        )
    tally = ballot_tally(members, 10)
    if public is not None:
        extra = ballot_tally(public, 10, "public")
        tally["categories"] += extra["categories"]
        tally["sources"] |= extra["sources"]
    records.write(db, actor, grading, "ballot_tally", tally, key="P1")
    db.commit()
    return grading.id


def propose(api: Api, grading_id: int, level: str, **extra: Any) -> Any:
    """The reviewer proposes `level`; the county's 分类定级会议 decides it (recorded)."""
    proposed = api.put(
        f"/api/v1/gradings/{grading_id}/decision", json={"level": level, **extra}, who="reviewer"
    )
    if proposed.status_code == 200:
        meeting_over_api(api, {grading_id: level})
    return proposed


def decide(api: Api, grading_id: int) -> Any:
    return api.post(
        f"/api/v1/gradings/{grading_id}/transitions",
        json={"transition": "decide", "reason": "分类定级会议"},
        who="reviewer",
    )


def approve(api: Api, response: Any, who: str = "supervisor") -> Any:
    assert response.status_code == 202, response.get_json()
    return api.post(f"/api/v1/approvals/{response.get_json()['id']}/approve", json={}, who=who)
