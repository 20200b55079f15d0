"""Do the tables still say what the trail says? For each grading, the trail's story (enrolled in
a state; each transition's state and level; each promotion's level) is replayed and compared
with the row: a level or state changed in the table without an event — with the application's
own database role, no trigger stands in the way — is `state-diverged`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from service.audit.operations import chain_key_for
from service.audit.verify import Damage
from service.gradings.models import Grading

STORY = ("grading.enroll", "grading.transition", "grading.promote")
UNSET = object()


def _replayed(session: Session) -> dict[int, dict[str, Any]]:
    """grading id -> {"state", "level", "event"} as the trail tells it."""
    told: dict[int, dict[str, Any]] = {}
    events = AuditEvent.__table__
    query = (
        select(events.c.id, events.c.entity_id, events.c.action, events.c.after)
        .where(events.c.entity_type == "grading", events.c.action.in_(STORY))
        .order_by(events.c.id)
    )
    for event_id, entity_id, action, after in session.execute(
        query.execution_options(yield_per=5000)
    ):
        after = after or {}
        facts = told.setdefault(int(entity_id), {"state": UNSET, "level": None, "event": None})
        if "state" in after and action != "grading.promote":
            facts["state"] = after["state"]
        if "level" in after:
            facts["level"] = after["level"]
        facts["event"] = event_id
    return told


def diverged(session: Session) -> list[Damage]:
    told = _replayed(session)
    damage = []
    rows = session.execute(
        select(Grading.id, Grading.organization_id, Grading.state, Grading.level).order_by(
            Grading.id
        )
    )
    for grading_id, organization_id, state, level in rows:
        facts = told.pop(grading_id, None)
        key = chain_key_for(organization_id)
        if facts is None:
            detail = f"grading {grading_id} is in the table but the trail never enrolled it"
            damage.append(Damage("state-diverged", key, None, None, detail))
            continue
        for name, have in (("state", state), ("level", level)):
            want = facts[name]
            if want is not UNSET and want != have:
                detail = (
                    f"grading {grading_id}: the table says {name} {have!r}, the trail "
                    f"{want!r} (its last event is {facts['event']})"
                )
                damage.append(Damage("state-diverged", key, facts["event"], None, detail))
    for grading_id, facts in told.items():
        detail = f"grading {grading_id} is in the trail but gone from the table"
        damage.append(Damage("state-diverged", "grading", facts["event"], None, detail))
    return damage
