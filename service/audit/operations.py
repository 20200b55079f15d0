"""Appending audit events, in the caller's transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from service.context import Actor


def jsonable(value: Any) -> Any:
    """Turn model snapshots into JSON: Decimals as strings (exact), dates as ISO 8601."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


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
    event = AuditEvent(
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
    session.add(event)
    return event
