"""Appending audit events to their hash chain, in the caller's transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.audit.canonical import GENESIS, HASHED_FIELDS, fields_hash
from service.audit.models import AuditEvent, ChainHead
from service.context import Actor
from service.db import utcnow
from service.events import outbox
from service.scores import score_text


def jsonable(value: Any) -> Any:
    """Turn model snapshots into JSON: Decimals as strings (exact; a score — two places or
    fewer — always with two decimals, "15.00"), dates as ISO 8601."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        places = value.as_tuple().exponent
        return score_text(value) if isinstance(places, int) and places >= -2 else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def chain_key_for(organization_id: int | None) -> str:
    """One chain per organization: unrelated organizations never wait for each other."""
    return f"org:{organization_id}" if organization_id is not None else "global"


HEADS: Table = ChainHead.__table__  # type: ignore[assignment]
EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
# Takes the chain's lock and moves its head on in one statement: the new seq, the old hash.
_ADVANCE = (
    update(HEADS)
    .where(HEADS.c.chain_key == bindparam("chain"))
    .values(seq=HEADS.c.seq + 1)
    .returning(HEADS.c.seq, HEADS.c.hash)
)
_SET_HASH = (
    update(HEADS).where(HEADS.c.chain_key == bindparam("chain")).values(hash=bindparam("new_hash"))
)


def _advance(connection: Connection, key: str) -> tuple[int, str]:
    """The chain's next seq and the hash it follows, with the chain's row lock held."""
    row = connection.execute(_ADVANCE, {"chain": key}).first()
    if row is not None:
        return row[0], row[1]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    started = connection.execute(
        dialect.insert(HEADS)
        .values(chain_key=key, seq=1, hash=GENESIS)
        .on_conflict_do_nothing()
        .returning(HEADS.c.seq)
    ).first()
    if started is not None:
        return 1, GENESIS
    # Another transaction started this chain first: wait for its lock, then go on from it.
    row = connection.execute(_ADVANCE, {"chain": key}).one()
    return row[0], row[1]


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    organization_id: int | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> int:
    """Append one event to its organization's chain, with the portal events it stands for, in
    the session's transaction; its id. Core statements, not ORM objects: every write passes
    here."""
    session.flush()  # the write this event tells of is in the database before the event
    key = chain_key_for(organization_id)
    connection = session.connection()
    seq, prev_hash = _advance(connection, key)
    event: dict[str, Any] = {
        "chain_key": key,
        "chain_seq": seq,
        "prev_hash": prev_hash,
        "occurred_at": utcnow(),
        "actor_account_id": actor.account_id,
        "actor_username": actor.username,
        "actor_role": actor.role,
        "token_id": actor.token_id,
        "client_ip": actor.client_ip,
        "request_id": actor.request_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "organization_id": organization_id,
        "before": jsonable(before),
        "after": jsonable(after),
        "reason": reason,
    }
    event["hash"] = fields_hash(event)
    portal = outbox.from_audit(
        action,
        entity_type,
        event["entity_id"],
        organization_id,
        event["before"],
        event["after"],
        event["occurred_at"],
    )
    if connection.dialect.name != "postgresql":
        event_id = connection.execute(_INSERT_EVENT, event).inserted_primary_key[0]  # type: ignore[index]
        for row in portal:
            connection.execute(_INSERT_PORTAL, row)
        connection.execute(_SET_HASH, {"chain": key, "new_hash": event["hash"]})
        return int(event_id)
    params = {"chain": key, "new_hash": event["hash"]}
    params.update((f"e_{name}", value) for name, value in event.items())
    for n, row in enumerate(portal):
        params.update((f"o{n}_{name}", value) for name, value in row.items())
    return int(connection.execute(_append(len(portal)), params).scalar_one())


_INSERT_EVENT = insert(EVENTS)
_INSERT_PORTAL = insert(outbox.OUTBOX)
_EVENT_COLUMNS = (*HASHED_FIELDS, "hash")
_PORTAL_COLUMNS = ("type", "subject", "organization_id", "occurred_at", "data", "dedup_key")


@cache
def _append(portal_events: int) -> Any:
    """PostgreSQL: the event, its portal events and the head's new hash in one round trip —
    the inserts ride along as data-modifying CTEs of the head's update. Built once per number
    of portal events."""
    event = (
        insert(EVENTS)
        .values({c: bindparam(f"e_{c}") for c in _EVENT_COLUMNS})
        .returning(EVENTS.c.id)
        .cte("event")
    )
    statement = _SET_HASH.add_cte(event).returning(select(event.c.id).scalar_subquery())
    for n in range(portal_events):
        values: dict[str, Any] = {c: bindparam(f"o{n}_{c}") for c in _PORTAL_COLUMNS}
        statement = statement.add_cte(insert(outbox.OUTBOX).values(values).cte(f"portal{n}"))
    return statement
