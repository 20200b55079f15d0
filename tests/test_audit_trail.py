"""The audit trail is append-only in the database and tamper-evident: verify names the damage."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.audit import checkpoints, signing
from service.audit.canonical import HASHED_FIELDS, OPTIONAL_FIELDS, event_hash
from service.audit.models import AuditEvent
from service.audit.verify import check_against_checkpoint, verify
from service.context import Actor
from service.db import utcnow
from service.gradings import records
from tests.conftest import Api, assert_problem
from tests.grading_helpers import put_in_state


@contextmanager
def triggers_off(connection: Connection, dialect: str) -> Iterator[None]:
    """What a database superuser can do: switch the append-only triggers off."""
    if dialect == "postgresql":
        connection.execute(text("SET session_replication_role = replica"))
        try:
            yield
        finally:
            connection.execute(text("SET session_replication_role = origin"))
        return
    for table in ("audit_events", "audit_checkpoints"):
        for verb in ("update", "delete"):
            connection.execute(text(f"DROP TRIGGER {table}_no_{verb}"))
    yield  # the test's savepoint rollback brings the triggers back


def _chain(db: Session, minimum: int = 4) -> list[Any]:
    """A chain's events as plain rows: snapshots that outlive the tampering."""
    key = db.execute(
        select(AuditEvent.chain_key)
        .group_by(AuditEvent.chain_key)
        .having(func.count() >= minimum)
        .order_by(AuditEvent.chain_key)
        .limit(1)
    ).scalar_one()
    table = AuditEvent.__table__
    return list(
        db.execute(select(table).where(table.c.chain_key == key).order_by(table.c.chain_seq))
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'rewritten'",
        "DELETE FROM audit_events",
        "UPDATE record_versions SET reason = 'rewritten'",
        "DELETE FROM audit_checkpoints",
    ],
)
def test_raw_updates_and_deletes_of_the_trail_fail(
    connection: Connection, api: Api, db: Session, statement: str
) -> None:
    grading = api.world.gradings["A1-01"]
    records.write(db, Actor.system("t"), grading, "survey_entry", {"method": "meeting"})
    checkpoints.create_checkpoint(db, Actor.system("t"), signing.load_private_key(None, "t"))
    db.commit()  # (row triggers fire only on tables that have rows)
    with pytest.raises(DBAPIError, match="append-only"), connection.begin_nested():
        connection.execute(text(statement))


def test_truncate_of_the_trail_fails_on_postgresql(connection: Connection, db_kind: str) -> None:
    if db_kind != "postgresql":
        pytest.skip("SQLite has no TRUNCATE statement (its DELETE is refused, see above)")
    with pytest.raises(DBAPIError, match="append-only"), connection.begin_nested():
        connection.execute(text("TRUNCATE audit_events"))


def test_the_untouched_trail_verifies(db: Session, world: Any) -> None:
    report = verify(db)
    assert report.intact, report.summary()
    assert report.events > 30 and report.chains >= 8


def test_a_modified_event_is_found(
    connection: Connection, db: Session, db_kind: str, world: Any
) -> None:
    victim = _chain(db)[1]
    with triggers_off(connection, db_kind):
        connection.execute(
            text("UPDATE audit_events SET reason = 'nothing happened' WHERE id = :id"),
            {"id": victim.id},
        )
    db.expire_all()
    first = verify(db).damage[0]
    assert (first.kind, first.event_id) == ("modified", victim.id)


def test_a_deleted_event_is_found(
    connection: Connection, db: Session, db_kind: str, world: Any
) -> None:
    chain = _chain(db)
    with triggers_off(connection, db_kind):
        connection.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": chain[1].id})
    db.expire_all()
    first = verify(db).damage[0]
    assert (first.kind, first.event_id) == ("missing", chain[2].id)
    assert f"#{chain[1].chain_seq}" in first.detail


def test_a_forged_event_is_found_even_with_a_correct_hash(
    connection: Connection, db: Session, db_kind: str, world: Any
) -> None:
    chain = _chain(db)
    last = chain[-1]
    forged = AuditEvent(
        chain_key=last.chain_key,
        chain_seq=last.chain_seq + 1,
        prev_hash=last.hash,
        occurred_at=last.occurred_at,
        actor_account_id=None,
        actor_username="ghost",
        actor_role="reviewer",
        token_id=None,
        client_ip=None,
        request_id=None,
        action="grading.transition",
        entity_type="grading",
        entity_id="1",
        organization_id=last.organization_id,
        before={"state": "survey"},
        after={"state": "rated"},
        reason="forged",
    )
    forged.hash = event_hash(forged)
    db.add(forged)
    db.commit()
    first = verify(db).damage[0]
    assert (first.kind, first.event_id) == ("inserted", forged.id)


def test_two_swapped_events_are_found(
    connection: Connection, db: Session, db_kind: str, world: Any
) -> None:
    chain = _chain(db)
    a, b = chain[1], chain[2]
    with triggers_off(connection, db_kind):
        swap = "UPDATE audit_events SET chain_seq = :seq WHERE id = :id"
        connection.execute(text(swap), {"seq": -1, "id": a.id})
        connection.execute(text(swap), {"seq": a.chain_seq, "id": b.id})
        connection.execute(text(swap), {"seq": b.chain_seq, "id": a.id})
    db.expire_all()
    first = verify(db).damage[0]
    assert first.kind == "re-ordered" and first.event_id == a.id


def test_a_history_rolled_back_behind_a_checkpoint_is_found(
    connection: Connection, db: Session, db_kind: str, world: Any
) -> None:
    key = signing.load_private_key(None, "test")
    saved = checkpoints.export(
        checkpoints.create_checkpoint(db, Actor.system("t"), key),
        signing.public_pem(key.public_key()),
    )
    db.commit()
    chain = _chain(db)
    last = chain[-1]
    with triggers_off(connection, db_kind):  # a careful attacker also rewinds the head
        connection.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": last.id})
        connection.execute(
            text("UPDATE audit_chain_heads SET seq = :seq, hash = :hash WHERE chain_key = :key"),
            {"seq": chain[-2].chain_seq, "hash": chain[-2].hash, "key": last.chain_key},
        )
    db.expire_all()
    report = verify(db)
    assert report.intact  # the chain itself is consistent again...
    heads = checkpoints.read_saved(saved, signing.public_pem(key.public_key()))
    damage = check_against_checkpoint(report, heads)
    assert [(d.kind, d.chain_key, d.seq) for d in damage] == [
        ("rolled-back", last.chain_key, last.chain_seq)
    ]  # ...but not with what was signed


def test_a_checkpoint_with_a_bad_signature_is_refused(db: Session, world: Any) -> None:
    key = signing.load_private_key(None, "test")
    saved = checkpoints.export(
        checkpoints.create_checkpoint(db, Actor.system("t"), key),
        signing.public_pem(key.public_key()),
    )
    saved["payload"] = saved["payload"].replace('"heads"', '"heads" ', 1)
    with pytest.raises(checkpoints.BadCheckpoint):
        checkpoints.read_saved(saved, signing.public_pem(key.public_key()))


def test_events_carry_who_when_where_and_why(api: Api, db: Session) -> None:
    response = api.patch(
        f"/api/v1/organizations/{api.world.org('A1-01').id}",
        json={"member_count": 44, "reason": "年度统计"},
        headers={"X-Request-Id": "req-123"},
    )
    assert response.status_code == 200
    event = db.scalars(select(AuditEvent).where(AuditEvent.request_id == "req-123")).one()
    assert (event.actor_username, event.actor_role, event.action) == (
        "admin",
        "admin",
        "organization.update",
    )
    assert event.token_id is not None and event.client_ip == "127.0.0.1"
    assert event.before == {"member_count": 10} and event.after == {"member_count": 44}
    assert event.reason == "年度统计"
    assert event.chain_key == f"org:{api.world.org('A1-01').id}"


def test_inspectors_filter_the_trail_and_their_reads_are_logged(api: Api, db: Session) -> None:
    w = api.world
    page = api.get(
        f"/api/v1/audit/events?entity_type=grading&within={w.org('A').id}", who="inspector"
    ).get_json()
    assert page["items"] and {e["entity_type"] for e in page["items"]} == {"grading"}
    assert all(e["organization_id"] != w.org("B-01").id for e in page["items"])
    logged = db.scalars(select(AuditEvent).where(AuditEvent.action == "audit.read")).all()
    assert logged[-1].actor_username == "inspector"
    assert logged[-1].after["filters"]["entity_type"] == "grading"
    assert_problem(api.get("/api/v1/audit/events", who="reviewer"), 403, "forbidden")
    assert_problem(
        api.get(f"/api/v1/audit/events?within={w.org('B').id}", who="inspector"), 404, "not-found"
    )


def test_the_trail_exports_as_csv_with_bom_and_as_ndjson(api: Api) -> None:
    response = api.get(
        "/api/v1/audit/events?action=grading.enroll",
        who="inspector",
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows and {r["action"] for r in rows} == {"grading.enroll"}
    assert json.loads(rows[0]["after"])["state"] == "survey"
    ndjson = api.get("/api/v1/audit/events?action=grading.enroll&format=ndjson", who="inspector")
    lines = ndjson.get_data(as_text=True).splitlines()
    assert len(lines) == len(rows)
    assert all(json.loads(line)["action"] == "grading.enroll" for line in lines)


def test_an_inspector_verifies_and_signs_a_checkpoint(api: Api) -> None:
    verified = api.get("/api/v1/audit/verify", who="inspector").get_json()
    assert verified["intact"] is True and verified["damage"] == []
    created = api.post("/api/v1/audit/checkpoints", who="inspector")
    assert created.status_code == 201
    checkpoint = created.get_json()
    published = api.get("/api/v1/audit/public-key", who=None).get_json()
    assert published["key_id"] == checkpoint["key_id"] and published["algorithm"] == "Ed25519"
    key = serialization.load_pem_public_key(published["public_key"].encode())
    key.verify(base64.b64decode(checkpoint["signature"]), checkpoint["payload"].encode())  # type: ignore[union-attr]
    heads = json.loads(checkpoint["payload"])["heads"]
    assert all(len(h) == 2 and len(h[1]) == 64 for h in heads.values())
    assert_problem(api.get("/api/v1/audit/verify", who="admin"), 403, "forbidden")


def test_a_verify_request_reports_damage(
    api: Api, connection: Connection, db: Session, db_kind: str
) -> None:
    victim = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.organization_id == api.world.org("A1-01").id)
        .order_by(AuditEvent.id)
    ).first()
    assert victim is not None
    with triggers_off(connection, db_kind):
        connection.execute(
            text("UPDATE audit_events SET actor_username = 'nobody' WHERE id = :id"),
            {"id": victim.id},
        )
    result = api.get("/api/v1/audit/verify", who="inspector").get_json()
    assert result["intact"] is False
    assert result["damage"][0]["event_id"] == victim.id
    assert result["damage"][0]["kind"] == "modified"


def test_the_application_role_may_append_but_not_rewrite(
    connection: Connection, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("database roles are a PostgreSQL matter")
    from service.audit.roles import app_role_sql

    with connection.begin_nested():
        connection.exec_driver_sql(app_role_sql("grading_app_test"))
        connection.execute(text("SET LOCAL ROLE grading_app_test"))
        assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar()
        for statement in (
            "UPDATE audit_events SET reason = 'x'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ):
            with pytest.raises(DBAPIError, match="permission denied"), connection.begin_nested():
                connection.execute(text(statement))
        connection.execute(text("RESET ROLE"))


def test_a_record_is_never_updated_in_place(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"]
    actor = Actor.system("t")
    first = records.write(db, actor, grading, "survey_entry", {"households": 12})
    with pytest.raises(Exception, match="a correction needs a reason"):
        records.write(db, actor, grading, "survey_entry", {"households": 13})
    second = records.write(
        db, actor, grading, "survey_entry", {"households": 13}, reason="录入错误"
    )
    db.commit()
    assert second.version == 2 and second.supersedes_id == first.id  # type: ignore[union-attr]
    assert [v.data for v in records.latest_versions(db, grading.id, "survey_entry")] == [
        {"households": 13}
    ]


def test_a_correction_after_its_stage_waits_for_a_supervisor(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"]
    actor = Actor.system("t")
    records.write(db, actor, grading, "survey_entry", {"households": 12})
    put_in_state(db, grading, "self_rating")
    pending = records.write(
        db,
        actor,
        db.get_one(type(grading), grading.id),
        "survey_entry",
        {"households": 14},
        reason="补录",
    )
    db.commit()
    assert type(pending).__name__ == "Approval" and pending.kind == "correction"
    approved = api.post(f"/api/v1/approvals/{pending.id}/approve", json={}, who="supervisor")
    assert approved.status_code == 200, approved.get_json()
    db.expire_all()
    assert [v.data for v in records.latest_versions(db, grading.id, "survey_entry")] == [
        {"households": 14}
    ]


def test_an_event_without_the_optional_via_hashes_as_before_via_existed() -> None:
    """`via` is hashed only when set: an event object made without it (a tool, an old export)
    hashes like one whose via is None."""
    fields = {name: None for name in HASHED_FIELDS if name not in OPTIONAL_FIELDS}
    fields |= {"chain_key": "global", "chain_seq": 1, "prev_hash": "0" * 64, "action": "x"}
    fields |= {"occurred_at": utcnow(), "actor_username": "t", "entity_type": "t", "entity_id": "1"}
    without = event_hash(SimpleNamespace(**fields))
    assert without == event_hash(SimpleNamespace(**fields, via=None))
    assert without != event_hash(SimpleNamespace(**fields, via="portal.gov"))
