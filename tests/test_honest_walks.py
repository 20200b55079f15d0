"""No false alarms: honest random walks through the lifecycles never make `audit verify` cry
wolf (issue 33). Hypothesis chooses each step among what an honest user could do next — fire a
transition whose guards were met by honest, audited writes, settle an approval either way,
correct a record, hold and count a ballot meeting (or void it), promote — and after every step
the chains verify and the tables say what the trail says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import calendar
from service.accounts import operations as accounts
from service.accounts.models import Role
from service.audit.verify import verify
from service.campaigns.models import Campaign
from service.context import Actor
from service.gradings import enrolment, records
from service.gradings.models import Approval, Grading
from service.lifecycle.workflow import GRADING_SPEC
from service.organizations import operations as orgs
from service.verification.state import diverged
from service.workflows.states import STAGE_OF_RECORD, ApprovalState
from tests.ballot_helpers import attend, cast, codes_of
from tests.conftest import Api
from tests.grading_helpers import ballot_tally, fire, satisfy, who_fires

NEW = count(1)
RECORDED = {"self_rating", "assessment", "decision", "survey_entry", "branch_opinion"}


@pytest.fixture
def later() -> Iterator[list[float]]:
    """The calendar's clock, which a walk moves on (publicity ends); put back afterwards."""
    offset = [0.0]
    before = calendar.clock
    calendar.clock = lambda: before() + offset[0]
    yield offset
    calendar.clock = before


def branch(api: Api, db: Session) -> int:
    """A new branch of township A1 (a roll of three), enrolled: its grading's id."""
    actor = Actor.system("t")
    n = next(NEW)
    org = orgs.create_organization(
        db,
        actor,
        db.get_one(type(api.world.org("A1")), api.world.org("A1").id),
        {
            "code": f"A1-W{n:03d}",
            "name": f"第{n}随机党支部",
            "kind": "branch",
            "domain": "village",
            "member_count": 3,
        },
    )
    [grading] = enrolment.enroll(db, actor, db.get_one(Campaign, api.world.campaigns["open"].id))
    secretary = accounts.create_account(
        db, actor, username=f"walker{n}", display_name="书记", organization=org
    )
    accounts.grant_role(db, actor, secretary, Role.SECRETARY, org)
    _, api.world.tokens["walker"] = accounts.issue_token(
        db, actor, secretary, name="t", lifetime=timedelta(days=1)
    )
    db.commit()
    return grading.id


ORDER = [s.name for s in GRADING_SPEC.states]


def honest_steps(
    api: Api, db: Session, grading_id: int, later: list[float]
) -> tuple[list[Any], list[Any]]:
    """What an honest user may do next, each a callable that does it: the steps onward (so a
    walk gets far: to the promotion, where an alarm once rang), and every other."""
    db.expire_all()
    grading = db.get_one(Grading, grading_id)
    onward: list[Any] = []
    steps: list[Any] = []
    pending = db.scalars(
        select(Approval).where(
            Approval.grading_id == grading_id, Approval.state == ApprovalState.PENDING
        )
    ).first()
    if pending is not None:
        onward.append(lambda a=pending.id: _settle(api, a, "approve"))
        steps.append(lambda a=pending.id: _settle(api, a, "reject"))
        return onward, steps
    if grading.state == "promotion" and grading.level in ("average", "poor"):
        onward.append(lambda: _promote(api, db, grading_id))
    for transition in GRADING_SPEC.transitions:
        if transition.source == grading.state:
            step = lambda t=transition.name: _fire(api, db, grading_id, t, later)  # noqa: E731
            ahead = ORDER.index(transition.dest) > ORDER.index(transition.source)
            (onward if ahead and "spot_check" not in transition.name else steps).append(step)
    for record_type in RECORDED:
        if STAGE_OF_RECORD.get(record_type) == grading.state and records.current(
            db, grading_id, record_type, "main"
        ):
            steps.append(lambda r=record_type: _correct(db, grading_id, r))
    if grading.state == "evaluation":
        steps.append(lambda: _meeting(api, grading_id, count_it=True))
        steps.append(lambda: _meeting(api, grading_id, count_it=False))
    return onward, steps


def _fire(api: Api, db: Session, grading_id: int, name: str, later: list[float]) -> None:
    if name != "finalize":
        satisfy(db, db.get_one(Grading, grading_id), name)
    who = "walker" if who_fires(name) == "secretary" else None
    if name == "finalize":  # a week and a day on, the publicity period is over (no row touched)
        later[0] += 8 * 86400
    try:
        answer = fire(api, grading_id, name, who=who)
    finally:
        later[0] = 0.0
    assert answer.status_code in (200, 202), (name, answer.get_json())


def _settle(api: Api, approval_id: int, verdict: str) -> None:
    body = {"comment": "同意"} if verdict == "approve" else {"comment": "退回重做"}
    answer = api.post(f"/api/v1/approvals/{approval_id}/{verdict}", json=body, who="supervisor")
    assert answer.status_code in (200, 409), answer.get_json()  # 409: a guard no longer holds


def _correct(db: Session, grading_id: int, record_type: str) -> None:
    grading = db.get_one(Grading, grading_id)
    current = records.current(db, grading_id, record_type, "main")
    assert current is not None
    records.write(
        db, Actor.system("t"), grading, record_type, {**current.data, "note": "更正"}, reason="更正"
    )
    db.commit()


def _meeting(api: Api, grading_id: int, *, count_it: bool) -> None:
    opened = api.post(
        "/api/v1/ballot-sessions",
        who="teller",
        json={
            "campaign_id": api.world.campaigns["open"].id,
            "title": "测评会",
            "grading_ids": [grading_id],
            "categories": [{"code": "members", "issued": 3}],
        },
    )
    assert opened.status_code == 201, opened.get_json()
    session = opened.get_json()["id"]
    url = f"/api/v1/ballot-sessions/{session}"
    if not count_it:
        assert (
            api.post(f"{url}/void", json={"reason": "会场秩序"}, who="supervisor").status_code
            == 200
        )
        return
    for row in codes_of(api, session):
        assert (
            cast(api, row["code"], [{"grading_id": grading_id, "level": "good"}]).status_code == 201
        )
    assert api.post(f"{url}/close", who="teller").status_code == 200
    attend(api, session)
    assert api.post(f"{url}/count", who="teller").status_code == 200


def _promote(api: Api, db: Session, grading_id: int) -> None:
    grading = db.get_one(Grading, grading_id)
    actor = Actor.system("t")
    if not records.current(db, grading_id, "special_report", "main"):
        records.write(db, actor, grading, "special_report", {"text": "整改专项述职"})
    tally = ballot_tally("95", 9, "public")
    records.write(db, actor, grading, "satisfaction_tally", tally, key=f"W{next(NEW)}")
    db.commit()
    up = {"poor": "average", "average": "fairly_good"}[grading.level or "average"]
    answer = api.post(
        f"/api/v1/gradings/{grading_id}/promotion",
        json={"level": up, "reason": "整改到位，群众满意"},
        who="reviewer",
    )
    assert answer.status_code == 200, answer.get_json()


def intact(db: Session, after: str) -> None:
    db.expire_all()
    report = verify(db)
    assert report.intact, (after, report.summary())
    damage = diverged(db)
    assert damage == [], (after, [d.detail for d in damage])


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(choices=st.lists(st.integers(min_value=0, max_value=10_000), min_size=10, max_size=40))
def test_honest_random_walks_never_raise_an_alarm(
    api: Api, db: Session, later: list[float], choices: list[int]
) -> None:
    grading_id = branch(api, db)
    intact(db, "enrolment")
    for n, choice in enumerate(choices):
        onward, other = honest_steps(api, db, grading_id, later)
        every = onward + other
        if not every:
            break
        step = (
            onward[choice // 4 % len(onward)]
            if onward and choice % 4
            else every[choice % len(every)]
        )
        step()
        state = db.get_one(Grading, grading_id).state
        intact(db, f"step {n} ({state})")
