"""The hot paths' round trips, counted: a test fails when one grows. (A ballot's three are
counted in test_ballots.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.audit.models import AuditEvent
from service.context import Actor
from service.gradings import operations as ops
from service.gradings.models import Grading
from service.records import operations as records
from tests.conftest import Api
from tests.test_authorization_matrix import SURVEY_DATA as SURVEY


@contextmanager
def statements(connection: Connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(" ".join(statement.split()[:3]).upper())

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def surveyed(api: Api, db: Session) -> int:
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    records.write(db, Actor.system("t"), grading, "survey_entry", SURVEY, key="E1")
    db.commit()
    return grading.id


def test_a_transition_is_four_statements_on_postgresql(
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
    written = (
        # the chain's head; then the grading's UPDATE (with its version check), the event, its
        # portal event and the head's new hash in one statement (data-modifying CTEs)
        ["UPDATE AUDIT_CHAIN_HEADS SET", "WITH EVENT AS"]
        if connection.dialect.name == "postgresql"
        else [
            "UPDATE AUDIT_CHAIN_HEADS SET",
            "UPDATE GRADINGS SET",
            "INSERT INTO AUDIT_EVENTS",
            "INSERT INTO OUTBOX_EVENTS",
            "UPDATE AUDIT_CHAIN_HEADS SET",
        ]
    )
    assert seen == [
        "SELECT API_TOKENS.ID, API_TOKENS.REVOKED_AT,",  # token, account and live grants
        # with its organization and facts: notice days, due dates, record types (the guards'
        # "the survey is there"), a pending approval
        "SELECT GRADINGS.ID, GRADINGS.CAMPAIGN_ID,",
        *written,
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
