"""The audit trail as an inspector reads it through the API: the events of the organizations
they see (and the service's own, which belong to none), narrowed and filtered, streamed with
their place in the Merkle log; the chains of their subtree; whether one event is theirs to see.
Above both the trail and the organization tree, so the trail itself knows neither."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent, LogLeaf
from service.audit.operations import chain_key_for
from service.organizations.models import Organization
from service.organizations.operations import in_subtree


def events(visible: ColumnElement[bool], filters: Mapping[str, Any], within: str | None) -> Any:
    """The events `visible` admits (organization-less ones too), narrowed to the subtree at
    `within`, by actor, portal, action, entity and time."""
    query = (
        select(AuditEvent)
        .outerjoin(Organization, Organization.id == AuditEvent.organization_id)
        .where(or_(AuditEvent.organization_id.is_(None), visible))
    )
    query = in_subtree(query, within)
    if "actor" in filters:
        query = query.where(AuditEvent.actor_username == filters["actor"])
    if "via" in filters:
        query = query.where(AuditEvent.via == filters["via"])
    for name in ("action", "entity_type", "entity_id"):
        if name in filters:
            query = query.where(getattr(AuditEvent, name) == filters[name])
    if "since" in filters:
        query = query.where(AuditEvent.occurred_at >= filters["since"])
    if "until" in filters:
        query = query.where(AuditEvent.occurred_at < filters["until"])
    return query


def with_leaves(session: Session, query: Any) -> Iterator[tuple[AuditEvent, int | None]]:
    """An `events` query's rows in id order, each with its leaf index in the Merkle log (None
    until integrated), read in batches: memory stays flat."""
    joined = query.add_columns(LogLeaf.leaf_index).outerjoin(
        LogLeaf, LogLeaf.event_id == AuditEvent.id
    )
    rows = session.execute(joined.order_by(AuditEvent.id).execution_options(yield_per=1000))
    yield from ((event, leaf_index) for event, leaf_index in rows)


def chain_keys(session: Session, visible: ColumnElement[bool]) -> list[str]:
    """The service's chain and the chains of the organizations `visible` admits."""
    ids = session.scalars(select(Organization.id).where(visible))
    return [chain_key_for(None), *[chain_key_for(i) for i in ids]]


def event_and_owner(
    session: Session, event_id: int
) -> tuple[AuditEvent | None, Organization | None]:
    """An event and the organization it belongs to (None for the service's own events)."""
    event = session.get(AuditEvent, event_id)
    if event is None or event.organization_id is None:
        return event, None
    return event, session.get(Organization, event.organization_id)
