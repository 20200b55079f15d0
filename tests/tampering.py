"""Tampering as an insider would, for tests: a copy of the signed demo, a superuser's writes with
the append-only triggers off, chains rewritten and rehashed, the Merkle tables rebuilt; tokens
for the copy's accounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.orm import Session

from service.accounts import operations as accounts
from service.accounts.models import Account, Role
from service.audit import log
from service.audit.canonical import HASHED_FIELDS, event_hash
from service.context import Actor
from service.db import make_engine, normalize_url
from service.organizations.models import Organization

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def copy(demo_copy: str) -> str:
    """A scenario's own copy of the signed demo."""
    return demo_copy


@contextmanager
def superuser(url: str, db_kind: str) -> Iterator[Connection]:
    """A connection with the append-only triggers off, as a superuser could have."""
    if db_kind == "postgresql":
        engine = create_engine(normalize_url(url))
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
        engine.dispose()
        return
    engine = make_engine(url)
    with engine.begin() as conn:
        triggers = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        for name, _ in triggers:
            conn.execute(text(f"DROP TRIGGER {name}"))
        yield conn
        for _, sql in triggers:
            conn.execute(text(sql))
    engine.dispose()


def rehashed(row: Any, **changes: Any) -> tuple[dict[str, Any], str]:
    """A stored event's hashed fields with some changed, and the hash they give."""
    fields = {name: row[name] for name in HASHED_FIELDS} | changes
    for name in ("before", "after"):
        if isinstance(fields[name], str):
            fields[name] = json.loads(fields[name])
    if isinstance(fields["occurred_at"], str):  # SQLite hands the raw text back
        moment = datetime.fromisoformat(fields["occurred_at"])
        fields["occurred_at"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return fields, event_hash(SimpleNamespace(**fields))


def rewrite_chain(conn: Connection, *, from_seq: int = 2, move_head: bool = True) -> int:
    """Change one event's reason in the longest chain and recompute it and every later hash of
    the chain, moving the chain's head: the chain alone looks intact. Returns the event's id."""
    key = conn.execute(
        text("SELECT chain_key FROM audit_events GROUP BY chain_key ORDER BY count(*) DESC LIMIT 1")
    ).scalar_one()
    rows = (
        conn.execute(
            text("SELECT * FROM audit_events WHERE chain_key = :k ORDER BY chain_seq"), {"k": key}
        )
        .mappings()
        .all()
    )
    previous = rows[from_seq - 2]["hash"]
    for row in rows[from_seq - 1 :]:
        fields = {"prev_hash": previous}
        if row["chain_seq"] == from_seq:
            fields["reason"] = "history, as it should have been"
        fields, digest = rehashed(row, **fields)
        conn.execute(
            text(
                "UPDATE audit_events SET reason = :reason, prev_hash = :prev, hash = :hash "
                "WHERE id = :id"
            ),
            {"reason": fields["reason"], "prev": previous, "hash": digest, "id": row["id"]},
        )
        previous = digest
    if move_head:
        conn.execute(
            text("UPDATE audit_chain_heads SET hash = :h WHERE chain_key = :k"),
            {"h": previous, "k": key},
        )
    return int(rows[from_seq - 1]["id"])


def rebuild_merkle_tables(conn: Connection) -> None:
    """Recompute the whole Merkle log from the (rewritten) events, as a careful forger would."""
    conn.execute(text("DELETE FROM audit_log_leaves"))
    conn.execute(text("DELETE FROM audit_log_nodes"))
    conn.execute(text(f"UPDATE audit_log_tip SET size = 0, root = '{log.merkle.EMPTY_ROOT.hex()}'"))
    with Session(bind=conn) as session:
        log.integrate(session)
        session.flush()


def token_for(url: str, username: str) -> str:
    """An API token, issued in process (an audited write, like `python -m service token`)."""
    engine = make_engine(url)
    with Session(engine) as session:
        account = session.scalars(select(Account).where(Account.username == username)).one()
        _, plain = accounts.issue_token(
            session, Actor.system("test"), account, name="test", lifetime=timedelta(days=1)
        )
        session.commit()
    engine.dispose()
    return plain


def root_inspector_token(url: str) -> str:
    """The witness's token: an inspector of the whole tree (the city's discipline commission),
    who may read the whole trail."""
    engine = make_engine(url)
    with Session(engine) as session:
        root = session.scalars(
            select(Organization).where(Organization.parent_id.is_(None)).order_by(Organization.id)
        ).first()
        assert root is not None
        actor = Actor.system("test")
        account = accounts.create_account(
            session, actor, username="city.witness", display_name="市纪委", organization=root
        )
        accounts.grant_role(session, actor, account, Role.INSPECTOR, root)
        session.commit()
    engine.dispose()
    return token_for(url, "city.witness")
