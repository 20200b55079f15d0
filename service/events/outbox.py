"""Domain events for portals, written to the outbox in the transaction that causes them.

Most come from the audit trail's own hook: every audited write passes through
`service.audit.operations.record`, which hands its event to `from_audit` here — so a write that
commits has its outbox rows, and one that rolls back has none. Each portal event carries ids,
Chinese labels and a link, chosen field by field: never a complaint's text or contact, never a
ballot code or choice. Timers add theirs with `emit(..., dedup_key=...)`, once per key.

After commit the sequencer (`sequence`) numbers committed events under one lock: the feed's
order. A reader at cursor N never misses an event that commits later with a smaller id, because
it only ever sees numbered events and numbers are given in commit-visible order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.audit.operations import write_beside_every_event
from service.db import utcnow
from service.events.models import OutboxEvent, OutboxTip, WebhookDelivery, WebhookSubscription
from service.organizations.models import Organization
from service.organizations.operations import in_subtree
from service.workflows.states import GRADING_STATE_LABELS, UNDER_PUBLICITY

OUTBOX: Table = OutboxEvent.__table__  # type: ignore[assignment]
SPEC_VERSION = "1.0"
SOURCE = "/api/v1"
LEVEL_LABELS = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "较差"}

TYPES: dict[str, str] = {
    "grading.state_changed": "a grading moved to another stage (状态变更)",
    "grading.decided": "the superior committee decided a level (评定等次)",
    "grading.promoted": "a grading was promoted after rectification (晋位升级)",
    "publicity.opened": "a result went under public notice (公示开始)",
    "publicity.closed": "a public notice ended (公示结束)",
    "publicity.period_ended": "the notice period's last day has passed (公示期满)",
    "publicity.rescheduled": "an estimated notice end was corrected once the year's holidays "
    "were entered (公示截止日更正)",
    "approval.requested": "a step waits for a supervisor's approval (待审批)",
    "approval.decided": "a supervisor approved or rejected (审批完成)",
    "complaint.received": "a complaint about a result arrived (收到投诉)",
    "complaint.answered": "a complaint was answered (答复投诉)",
    "rectification.item_closed": "a rectification item was closed (整改销号)",
    "rectification.item_overdue": "a rectification item is past its deadline (整改逾期)",
    "ballot_session.opened": "a ballot meeting opened (测评开始)",
    "ballot_session.counted": "a ballot meeting was counted (计票完成)",
    "campaign.phase_due_soon": "a stage of the campaign is due within three days (即将到期)",
    "campaign.phase_overdue": "a stage of the campaign is past its due date (已逾期)",
}


def _level(code: str | None) -> dict[str, Any]:
    return {"level": code, "level_label": LEVEL_LABELS.get(code or "", code)}


def _state(name: str | None, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}state": name, f"{prefix}state_label": GRADING_STATE_LABELS.get(name or "")}


def grading_link(grading_id: int) -> str:
    return f"{SOURCE}/gradings/{grading_id}"


def emit(
    session: Session,
    type_: str,
    subject: str,
    organization_id: int | None,
    data: dict[str, Any],
    *,
    dedup_key: str | None = None,
    occurred_at: datetime | None = None,
) -> bool:
    """Add one event to the outbox in the caller's transaction; with `dedup_key`, only if no
    event with that key was ever written (a timer's event, whatever the number of workers).
    Returns whether this call wrote it."""
    assert type_ in TYPES, type_
    values = {
        "type": type_,
        "subject": subject,
        "organization_id": organization_id,
        "occurred_at": occurred_at or utcnow(),
        "data": data,
        "dedup_key": dedup_key,
    }
    if dedup_key is None:
        session.add(OutboxEvent(**values))
        return True
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxEvent).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["dedup_key"])
    return session.execute(statement.returning(OutboxEvent.id)).first() is not None


def _grading_events(after: dict[str, Any], before: dict[str, Any], gid: int) -> list[Any]:
    base = {"grading_id": gid, "link": grading_link(gid)}
    moved = {
        **base,
        "transition": after.get("transition"),
        **_state(before.get("state"), "from_"),
        **_state(after.get("state")),
        **_level(after.get("level")),
        "version": after.get("version"),
    }
    found: list[Any] = [("grading.state_changed", moved)]
    if after.get("transition") == "decide":
        found.append(("grading.decided", {**base, **_level(after.get("level"))}))
    was, now = before.get("state") in UNDER_PUBLICITY, after.get("state") in UNDER_PUBLICITY
    if now and not was:
        found.append(("publicity.opened", {**base, **_level(after.get("level"))}))
    if was and not now:
        found.append(("publicity.closed", {**base, **_state(after.get("state"))}))
    return found


Translate = Callable[[dict[str, Any], dict[str, Any], int], list[Any]]


def _approval(after: dict[str, Any], _: dict[str, Any], gid: int) -> list[Any]:
    data = {
        "approval_id": after.get("approval_id"),
        "grading_id": gid,
        "link": f"{SOURCE}/approvals/{after.get('approval_id')}",
    }
    if "kind" in after:  # requested
        return [("approval.requested", {**data, "kind": after["kind"], "about": after["subject"]})]
    return [("approval.decided", {**data, "state": after.get("state")})]


def _complaint(action: str) -> Translate:
    def translate(after: dict[str, Any], _: dict[str, Any], gid: int) -> list[Any]:
        data = {"complaint_id": after.get("complaint_id"), "grading_id": gid}
        data["link"] = f"{SOURCE}/complaints/{after.get('complaint_id')}"
        if action == "complaint.answer":
            return [("complaint.answered", {**data, "upheld": bool(after.get("upheld"))})]
        return [("complaint.received", data)]

    return translate


def _record(after: dict[str, Any], _: dict[str, Any], gid: int) -> list[Any]:
    data = after.get("data") or {}
    if after.get("record_type") != "rectification_item" or data.get("status") != "closed":
        return []
    item = {"grading_id": gid, "item": after.get("key"), "problem": data.get("problem")}
    return [("rectification.item_closed", {**item, "link": grading_link(gid)})]


def _promote(after: dict[str, Any], before: dict[str, Any], gid: int) -> list[Any]:
    data = {"grading_id": gid, "link": grading_link(gid), **_level(after.get("level"))}
    return [("grading.promoted", {**data, "from_level": before.get("level")})]


def _reschedule(after: dict[str, Any], before: dict[str, Any], gid: int) -> list[Any]:
    data = {
        "grading_id": gid,
        "link": grading_link(gid),
        "publicity_ends_on": after.get("publicity_ends_on"),
        "was": before.get("publicity_ends_on"),
        "estimated": after.get("estimated"),
        "version": after.get("version"),
    }
    return [("publicity.rescheduled", data)]


def _ballots(action: str) -> Translate:
    def translate(after: dict[str, Any], _: dict[str, Any], sid: int) -> list[Any]:
        data = {"session_id": sid, "link": f"{SOURCE}/ballot-sessions/{sid}"}
        if action == "ballot_session.open":
            data |= {"title": after.get("title"), "grading_ids": after.get("gradings", [])}
            return [("ballot_session.opened", data)]
        data |= {"issued": after.get("issued"), "returned": after.get("returned")}
        return [("ballot_session.counted", data)]

    return translate


FROM_AUDIT: dict[str, Translate] = {
    "grading.transition": _grading_events,
    "grading.promote": _promote,
    "grading.reschedule": _reschedule,
    "approval.request": _approval,
    "approval.approve": _approval,
    "approval.reject": _approval,
    "complaint.file": _complaint("complaint.file"),
    "complaint.answer": _complaint("complaint.answer"),
    "record.create": _record,
    "record.correct": _record,
    "ballot_session.open": _ballots("ballot_session.open"),
    "ballot_session.count": _ballots("ballot_session.count"),
}


def from_audit(
    action: str,
    entity_type: str,
    entity_id: str,
    organization_id: int | None,
    before: Any,
    after: Any,
    occurred_at: datetime,
) -> list[dict[str, Any]]:
    """The outbox rows one audited write stands for (most writes stand for none); the audit
    trail inserts them beside its event."""
    translate = FROM_AUDIT.get(action)
    if translate is None:
        return []
    ident = int(entity_id)
    subject = f"{'gradings' if entity_type == 'grading' else 'ballot-sessions'}/{ident}"
    return [
        {
            "type": type_,
            "subject": subject,
            "organization_id": organization_id,
            "occurred_at": occurred_at,
            "data": data,
            "dedup_key": None,
        }
        for type_, data in translate(after or {}, before or {}, ident)
    ]


def install() -> None:
    """Every audit event from now on writes the portal events it stands for beside it, in its
    own statement. The app and the command line call this at start (the audit log is a layer
    below the outbox and does not import it)."""
    write_beside_every_event(OUTBOX, from_audit)


def _subscribers(session: Session) -> list[tuple[int, set[str], str]]:
    """(subscription id, its types — empty for all, its subtree's path) of every subscription;
    a paused one keeps collecting deliveries and sends them when resumed."""
    rows = session.execute(
        select(WebhookSubscription.id, WebhookSubscription.types, Organization.path).join(
            Organization, Organization.id == WebhookSubscription.organization_id
        )
    )
    return [(sid, set(types or []), path) for sid, types, path in rows]


def sequence(
    session: Session, *, batch: int = 1000, wait: bool = True, now: datetime | None = None
) -> int:
    """Number the committed events that have no number yet, in id order, and queue their
    webhook deliveries. Sequencers wait for each other on the tip's row lock (`wait=False`: give
    up at once when another holds it, as a feed reader does). Returns how many were numbered."""
    waiting = select(OutboxEvent.id).where(OutboxEvent.seq.is_(None)).limit(1)
    if session.scalar(waiting) is None:  # the common case for a poller: no lock taken
        return 0
    query = select(OutboxTip).where(OutboxTip.id == 1).with_for_update(skip_locked=not wait)
    tip = session.scalars(query).first()
    if tip is None:
        return 0
    pending = session.execute(
        select(OutboxEvent.id, OutboxEvent.subject, OutboxEvent.type, Organization.path)
        .outerjoin(Organization, Organization.id == OutboxEvent.organization_id)
        .where(OutboxEvent.seq.is_(None))
        .order_by(OutboxEvent.id)
        .limit(batch)
    ).all()
    if not pending:
        return 0
    numbered = [{"b_id": row[0], "b_seq": tip.seq + n} for n, row in enumerate(pending, 1)]
    table = OUTBOX
    session.execute(
        update(table).where(table.c.id == bindparam("b_id")).values(seq=bindparam("b_seq")),
        numbered,
    )
    tip.seq += len(pending)
    subscribers = _subscribers(session)
    deliveries = [
        {"subscription_id": sid, "event_id": eid, "seq": n["b_seq"], "subject": subject}
        for (eid, subject, type_, path), n in zip(pending, numbered, strict=True)
        for sid, types, root in subscribers
        if (not types or type_ in types) and path is not None and path.startswith(root)
    ]
    if deliveries:
        session.execute(
            insert(WebhookDelivery),
            [{**d, "next_attempt_at": now or utcnow(), "created_at": utcnow()} for d in deliveries],
        )
    session.flush()
    return len(pending)


def envelope(event: OutboxEvent, base_url: str = "") -> dict[str, Any]:
    """The event as CloudEvents 1.0 (structured JSON)."""
    data = dict(event.data)
    if base_url and isinstance(data.get("link"), str):
        data["link"] = base_url + data["link"]
    return {
        "specversion": SPEC_VERSION,
        "id": str(event.id),
        "source": (base_url or "") + SOURCE,
        "type": event.type,
        "subject": event.subject,
        "time": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
        "sequence": str(event.seq),  # CloudEvents' sequence extension: the feed's cursor
    }


def types_known(names: Iterable[str]) -> list[str]:
    """The names that are not event types (for a clear 422)."""
    return [n for n in names if n not in TYPES]


def feed(
    session: Session,
    visible: ColumnElement[bool],
    after: int,
    types: list[str],
    limit: int,
    within: str | None,
) -> list[OutboxEvent]:
    """The numbered events after `after` of organizations `visible` admits (narrowed to the
    subtree at `within`), of `types` if any are named, in order, at most `limit`."""
    query = (
        select(OutboxEvent)
        .join(Organization, Organization.id == OutboxEvent.organization_id)
        .where(OutboxEvent.seq.is_not(None), OutboxEvent.seq > after, visible)
    )
    if types:
        query = query.where(OutboxEvent.type.in_(types))
    query = in_subtree(query, within)
    return list(session.scalars(query.order_by(OutboxEvent.seq).limit(limit)))
