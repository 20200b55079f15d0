"""The hot paths' round trips, counted: a test fails when one grows. (A ballot's three are
counted in test_ballots.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.audit.models import AuditEvent, ChainHead
from service.audit.operations import chain_key_for, claim_head, keep_claim
from service.context import Actor
from service.db import persistent
from service.gradings import records
from service.gradings.models import Grading
from service.lifecycle import operations as ops
from service.organizations.models import Organization
from tests.conftest import Api
from tests.record_bodies import SURVEY_DATA as SURVEY
from tests.statement_count import statements


def surveyed(api: Api, db: Session) -> int:
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    records.write(db, Actor.system("t"), grading, "survey_entry", SURVEY, key="E1")
    db.commit()
    return grading.id


def test_a_transition_is_two_statements_on_postgresql(
    api: Api, db: Session, connection: Connection
) -> None:
    grading_id = surveyed(api, db)
    api.get(f"/api/v1/gradings/{grading_id}", who="reviewer")  # warm
    with statements(connection) as seen:
        moved = api.post(
            f"/api/v1/gradings/{grading_id}/transitions",
            json={"transition": "open_self_rating"},
            who="reviewer",
        )
    assert moved.status_code == 200, moved.get_json()
    token = "SELECT API_TOKENS.ID, API_TOKENS.REVOKED_AT,"  # token, account and live grants
    if connection.dialect.name == "postgresql":
        assert seen == [
            # the caller's token, account and live grants; the grading with its organization
            # and facts (notice days, due dates, record types — the guards' "the survey is
            # there" —, a pending approval); its chain's head claimed (a data-modifying CTE,
            # for a live token only)
            "WITH CLAIMED_HEAD AS",
            # the grading's UPDATE (with its version check), the event, its portal event and
            # the head's new hash
            "WITH EVENT AS",
        ]
    else:
        assert seen == [
            token,
            "SELECT GRADINGS.ID, GRADINGS.CAMPAIGN_ID,",
            "UPDATE AUDIT_CHAIN_HEADS SET",
            "UPDATE GRADINGS SET",
            "INSERT INTO AUDIT_EVENTS",
            "INSERT INTO OUTBOX_EVENTS",
            "UPDATE AUDIT_CHAIN_HEADS SET",
        ]


def test_reading_a_grading_is_two_statements(api: Api, db: Session, connection: Connection) -> None:
    grading_id = surveyed(api, db)
    api.get("/api/v1/me", who="reviewer")  # the token's last use is recorded once a minute
    with statements(connection) as seen:
        read = api.get(f"/api/v1/gradings/{grading_id}", who="reviewer")
    assert read.status_code == 200
    assert seen == [
        "SELECT API_TOKENS.ID, API_TOKENS.REVOKED_AT,",
        "SELECT GRADINGS.ID, GRADINGS.CAMPAIGN_ID,",
    ]


def test_a_stale_version_writes_neither_the_grading_nor_its_event(
    api: Api, db: Session, session_factory: Any
) -> None:
    """The version check rides in the append's statement: when another writer moved the grading
    on first, the transition fails (StaleDataError → 412) and nothing of it stays."""
    grading_id = surveyed(api, db)
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    mine = db.get_one(Grading, grading_id)
    with session_factory() as other:  # another writer moves the grading on first
        theirs = other.get_one(Grading, grading_id)
        ops.fire(other, Actor.system("t"), theirs, "open_self_rating", None)
        other.commit()
    with pytest.raises(StaleDataError), db.begin_nested():
        ops.fire(db, Actor.system("t"), mine, "open_self_rating", None)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events + 1  # theirs only
    assert db.get_one(Grading, grading_id).state == "self_rating"


def _head(db: Session, organization_id: int) -> tuple[int, str]:
    row = db.execute(
        select(ChainHead.seq, ChainHead.hash).where(
            ChainHead.chain_key == chain_key_for(organization_id)
        )
    ).one()
    return row[0], row[1]


def test_a_refused_transition_leaves_its_chains_head_where_it_was(api: Api, db: Session) -> None:
    """The head is claimed with the grading's load (PostgreSQL); a refusal after it — wrong
    state, a reason missing, a guard — rolls the claim back with everything else."""
    grading_id = surveyed(api, db)
    organization_id = db.get_one(Grading, grading_id).organization_id
    before = _head(db, organization_id)
    wrong_state = api.post(
        f"/api/v1/gradings/{grading_id}/transitions",
        json={"transition": "return_to_survey", "reason": "x"},
        who="reviewer",
    )
    assert wrong_state.status_code == 409
    assert wrong_state.get_json()["type"] == "/problems/transition-not-allowed"
    db.expire_all()
    assert _head(db, organization_id) == before
    moved = api.post(
        f"/api/v1/gradings/{grading_id}/transitions",
        json={"transition": "open_self_rating"},
        who="reviewer",
    )
    assert moved.status_code == 200
    db.expire_all()
    seq, head_hash = _head(db, organization_id)
    event = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.chain_key == chain_key_for(organization_id))
        .order_by(AuditEvent.chain_seq.desc())
        .limit(1)
    ).one()
    assert (seq, head_hash) == (before[0] + 1, event.hash)  # no gap: the claim became the event
    assert (event.chain_seq, event.prev_hash) == (before[0] + 1, before[1])


def test_a_claimed_head_without_its_event_cannot_be_committed(
    api: Api, db: Session, connection: Connection
) -> None:
    """A claim no event used would leave the chain with a seq that has no event: the commit is
    refused, and the rollback puts the head back."""
    if connection.dialect.name != "postgresql":
        pytest.skip("the claim rides in a data-modifying CTE: PostgreSQL's")
    grading_id = surveyed(api, db)
    organization_id = db.get_one(Grading, grading_id).organization_id
    before = _head(db, organization_id)
    head = claim_head(
        select(Grading.organization_id).where(Grading.id == grading_id).scalar_subquery()
    )
    row = db.execute(select(*(select(c).scalar_subquery() for c in head.c)).add_cte(head)).one()
    keep_claim(db, *row)
    assert row[1] == before[0] + 1
    with pytest.raises(RuntimeError, match="no event recorded"):
        db.commit()
    db.rollback()
    assert _head(db, organization_id) == before


def test_an_object_made_from_a_row_read_below_the_orm_is_the_sessions_own(
    api: Api, db: Session
) -> None:
    """db.persistent: what the session holds is returned as a query would; a new one is
    persistent, with its other columns loaded when read and its changes flushed."""
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    assert persistent(db, Grading, {"id": grading.id, "state": "nonsense"}) is grading
    assert grading.state != "nonsense"
    org_id = grading.organization_id
    db.expunge_all()
    org = persistent(db, Organization, {"id": org_id, "name": "改过的名字", "path": "/x/"})
    assert inspect(org).persistent and org.name == "改过的名字"
    assert org.code == db.scalar(select(Organization.code).where(Organization.id == org_id))
    assert db.get(Organization, org_id) is org
    org.secretary = "新书记"
    db.flush()
    assert db.scalar(select(Organization.secretary).where(Organization.id == org_id)) == "新书记"
