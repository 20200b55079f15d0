"""Appending audit events to their hash chain, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    String,
    Table,
    bindparam,
    cast,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.audit.canonical import GENESIS, HASHED_FIELDS, fields_hash
from service.audit.models import AuditEvent, ChainHead
from service.context import Actor
from service.db import DriverStatement, utcnow
from service.scores import score_text

# What another package writes beside every event, in the event's own statement: a table and the
# rows one event stands for (action, entity type, entity id, organization, before, after, when).
# The portal outbox (service.events.outbox) is the one; the app installs it at start, so the
# audit log, below every domain package, imports none of them.
Companions = Callable[[str, str, str, int | None, Any, Any, datetime], list[dict[str, Any]]]


@dataclass(frozen=True)
class Beside:
    table: Table
    rows: Companions


_BESIDE: dict[str, Beside] = {}  # one table: "the" companion


def write_beside_every_event(table: Table, rows: Companions) -> None:
    """Have `rows(...)` written into `table` with every event from now on. Installing the
    same again changes nothing; a second, different table is refused."""
    installed = _BESIDE.get("table")
    if installed is not None and installed.table is not table:
        raise RuntimeError(f"{installed.table.name} is already written beside every event")
    _BESIDE["table"] = Beside(table, rows)
    _append.cache_clear()


def _companions(event: dict[str, Any]) -> tuple[Table | None, list[dict[str, Any]]]:
    beside = _BESIDE.get("table")
    if beside is None:
        return None, []
    return beside.table, beside.rows(
        event["action"],
        event["entity_type"],
        event["entity_id"],
        event["organization_id"],
        event["before"],
        event["after"],
        event["occurred_at"],
    )


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


ORG_CHAIN = "org:"  # an organization's chain key: this and its id (in SQL too: claim_head)


def chain_key_for(organization_id: int | None) -> str:
    """One chain per organization: unrelated organizations never wait for each other."""
    return f"{ORG_CHAIN}{organization_id}" if organization_id is not None else "global"


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


# session.info: chain key -> (seq, hash it follows) of heads moved on by a claim, not yet used.
CLAIMS = "claimed chain heads"


def claim_head(
    organization_id: ColumnElement[int], only_if: ColumnElement[bool] | None = None
) -> CTE:
    """PostgreSQL: `_ADVANCE` of the chain of the organization `organization_id` gives (a scalar
    expression), as a CTE for the statement that loads what the request is about — its lock
    and next seq taken in that statement's round trip instead of one of their own. The caller
    keeps the CTE's seq and hash with `keep_claim`; the request's first event on that chain
    uses them. A claim not used by commit time is a programming error (the head would have
    moved on without an event): the commit is refused. `only_if`: claimed only when it holds
    (a request whose caller is checked in the same statement takes no lock for a stranger)."""
    key = literal(ORG_CHAIN) + cast(organization_id, String)
    condition = HEADS.c.chain_key == key
    if only_if is not None:
        condition = condition & only_if
    return (
        update(HEADS)
        .where(condition)
        .values(seq=HEADS.c.seq + 1)
        .returning(HEADS.c.chain_key, HEADS.c.seq, HEADS.c.hash)
        .cte("claimed_head")
    )


def keep_claim(session: Session, key: str | None, seq: int | None, prev_hash: str | None) -> None:
    """Remember what `claim_head` returned (nothing when the chain has no head yet)."""
    if key is not None and seq is not None and prev_hash is not None:
        session.info.setdefault(CLAIMS, {})[key] = (seq, prev_hash)


@event.listens_for(Session, "before_commit")
def _no_unused_claim(session: Session) -> None:
    if session.info.get(CLAIMS):
        unused = ", ".join(session.info[CLAIMS])
        raise RuntimeError(f"chain heads claimed but no event recorded on them: {unused}")


@event.listens_for(Session, "after_soft_rollback")
def _forget_claims(session: Session, previous: Any) -> None:
    """A claim is taken at the top level of a transaction: undone only with it."""
    if not previous.nested:
        session.info.pop(CLAIMS, None)


@dataclass(frozen=True)
class RowUpdate:
    """The write an event tells of, made in the event's own statement: `values` on row `id` of
    `table` if the row is still at `version` (optimistic; otherwise StaleDataError, and the
    caller's transaction is rolled back)."""

    table: Table
    id: int
    version: int
    values: dict[str, Any]


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
    update: RowUpdate | None = None,
) -> int:
    """Append one event to its organization's chain, with the rows written beside it (the
    portal events it stands for) and the row update it tells of, when given, in the session's
    transaction; its id. Core statements, not ORM objects: every write passes here."""
    session.flush()  # the write this event tells of is in the database before the event
    key = chain_key_for(organization_id)
    connection = session.connection()
    claimed = session.info.get(CLAIMS)
    seq, prev_hash = claimed.pop(key) if claimed and key in claimed else _advance(connection, key)
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
        "via": actor.via,
    }
    event["hash"] = fields_hash(event)
    table, beside = _companions(event)
    if connection.dialect.name != "postgresql":
        if update is not None:
            changed = connection.execute(
                _guarded(update.table, tuple(update.values)),
                {
                    "row_id": update.id,
                    "row_version": update.version,
                    **_prefixed("u_", update.values),
                },
            )
            _check_one(changed.rowcount, update)
        event_id = connection.execute(_INSERT_EVENT, event).inserted_primary_key[0]  # type: ignore[index]
        if table is not None and beside:
            connection.execute(insert(table), beside)
        connection.execute(_SET_HASH, {"chain": key, "new_hash": event["hash"]})
        return int(event_id)
    params = {"chain": key, "new_hash": event["hash"], **_prefixed("e_", event)}
    for n, row in enumerate(beside):
        params.update(_prefixed(f"o{n}_", row))
    shape = (update.table, tuple(update.values)) if update is not None else None
    if update is not None:
        params |= {"row_id": update.id, "row_version": update.version}
        params.update(_prefixed("u_", update.values))
    columns = tuple(beside[0]) if beside else ()
    ((event_id, updated),) = _append(table, columns, len(beside), shape).rows(connection, params)
    if update is not None:
        _check_one(updated, update)
    return int(event_id)


def _prefixed(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}{name}": value for name, value in values.items()}


def _check_one(rows: int, update: RowUpdate) -> None:
    if rows != 1:
        raise StaleDataError(
            f"{update.table.name} {update.id} is no longer at version {update.version}"
        )


@cache
def _guarded(table: Table, columns: tuple[str, ...]) -> Any:
    """UPDATE table SET columns WHERE id = :row_id AND version = :row_version."""
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.version == bindparam("row_version"))
        .values({c: bindparam(f"u_{c}") for c in columns})
    )


_INSERT_EVENT = insert(EVENTS)
_EVENT_COLUMNS = (*HASHED_FIELDS, "hash")


@cache
def _append(
    beside: Table | None,
    columns: tuple[str, ...],
    rows: int,
    guarded: tuple[Table, tuple[str, ...]] | None,
) -> DriverStatement:
    """PostgreSQL: the row update the event tells of, the event, the rows beside it and the
    head's new hash in one round trip — data-modifying CTEs of the head's update, which returns
    the event's id and how many rows the guarded update changed. Built once per shape."""
    event = (
        insert(EVENTS)
        .values({c: bindparam(f"e_{c}") for c in _EVENT_COLUMNS})
        .returning(EVENTS.c.id)
        .cte("event")
    )
    changed: Any = literal(0)
    statement = _SET_HASH.add_cte(event)
    if guarded is not None:
        row = _guarded(*guarded).returning(guarded[0].c.id).cte("row")
        statement = statement.add_cte(row)
        changed = select(func.count()).select_from(row).scalar_subquery()
    statement = statement.returning(select(event.c.id).scalar_subquery(), changed)
    for n in range(rows):
        assert beside is not None  # rows only come with their table
        values: dict[str, Any] = {c: bindparam(f"o{n}_{c}") for c in columns}
        statement = statement.add_cte(insert(beside).values(values).cte(f"beside{n}"))
    return DriverStatement(statement)
