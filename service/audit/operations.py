"""Appending audit events to their hash chain, in the caller's transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.audit.canonical import GENESIS, event_hash
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


def _locked_head(session: Session, key: str) -> ChainHead:
    query = select(ChainHead).where(ChainHead.chain_key == key).with_for_update()
    head = session.scalars(query).first()
    if head is not None:
        return head
    try:
        with session.begin_nested():
            head = ChainHead(chain_key=key, seq=0, hash=GENESIS)
            session.add(head)
            session.flush()
        return head
    except IntegrityError:
        # Another transaction started this chain first: wait for its lock, then go on from it.
        return session.scalars(query.execution_options(populate_existing=True)).one()


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
) -> AuditEvent:
    key = chain_key_for(organization_id)
    head = _locked_head(session, key)
    event = AuditEvent(
        chain_key=key,
        chain_seq=head.seq + 1,
        prev_hash=head.hash,
        occurred_at=utcnow(),
        actor_account_id=actor.account_id,
        actor_username=actor.username,
        actor_role=actor.role,
        token_id=actor.token_id,
        client_ip=actor.client_ip,
        request_id=actor.request_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        organization_id=organization_id,
        before=jsonable(before),
        after=jsonable(after),
        reason=reason,
    )
    event.hash = event_hash(event)
    session.add(event)
    head.seq = event.chain_seq
    head.hash = event.hash
    outbox.from_audit(
        session, action, entity_type, event.entity_id, organization_id, event.before, event.after
    )
    session.flush()
    return event
