"""Do the tables still say what the trail says? The trail's stories are replayed, oldest first,
and each subject's facts compared with its row:

- a grading: the state it was enrolled in or moved to, its level, its version;
- a decided record (every version of every stage record): its data;
- an approval: its state;
- a ballot session: its state, ballots issued and returned per category, the box's count and
  digest;
- an inspection group: its name, leader, members, the organizations it covers, its version
  (whose acceptance counts rests on who is in it);
- a ballot session's people eligible (from the roll) and present, per category;
- a 分类定级会议 record: everything it says (it is never changed).

A fact changed in a table without an event — with the application's own database role, no
trigger stands in the way — is `state-diverged`, naming the subject and its last event."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.canonical import canonical_json
from service.audit.models import AuditEvent
from service.audit.operations import chain_key_for
from service.audit.verify import Damage
from service.ballots.models import BallotCategory, BallotSession
from service.decisions import meetings
from service.decisions.models import DecisionMeeting
from service.gradings.models import Approval, Grading, RecordVersion
from service.inspection.models import InspectionGroup

UNSET = object()
BALLOT_STATES = {
    "ballot_session.open": "open",
    "ballot_session.close": "closed",
    "ballot_session.count": "counted",
}

GROUP_FACTS = ("name", "leader", "members", "covers", "version")
CATEGORY_FIGURES = ("issued", "returned", "eligible", "present")
Told = dict[tuple[str, Any], dict[str, Any]]  # (subject, id) -> facts, "event", "chain"


def _tell(told: Told, subject: str, ident: Any, event_id: int, chain: str, **facts: Any) -> None:
    entry = told.setdefault((subject, ident), {})
    entry.update(facts, event=event_id, chain=chain)


def _read(told: Told, row: tuple[Any, ...]) -> None:
    """Fold one event into what the trail tells."""
    event_id, entity_type, entity_id, action, org, after = row
    after, chain = after or {}, chain_key_for(org)
    if entity_type == "grading" and action in ("grading.enroll", "grading.transition"):
        facts = {k: after[k] for k in ("state", "level", "version") if k in after}
        _tell(told, "grading", int(entity_id), event_id, chain, **facts)
    elif entity_type == "grading" and action == "grading.reschedule":
        _tell(told, "grading", int(entity_id), event_id, chain, version=after["version"])
    elif entity_type == "grading" and action == "grading.promote":
        facts = {k: after[k] for k in ("level", "version") if k in after}
        known = told.get(("grading", int(entity_id)), {})
        if "version" not in facts and "version" in known:  # an event from before it said so:
            facts["version"] = known["version"] + 1  # a promotion is one write of the row
        _tell(told, "grading", int(entity_id), event_id, chain, **facts)
    elif action in ("record.create", "record.correct"):
        ident = (int(entity_id), after["record_type"], after["key"], after["version"])
        _tell(told, "record", ident, event_id, chain, data=canonical_json(after["data"]))
    elif action.startswith("approval.") and "approval_id" in after:
        state = after.get("state", "pending")
        _tell(told, "approval", after["approval_id"], event_id, chain, state=state)
    elif entity_type == "inspection_group":
        facts = {k: after[k] for k in GROUP_FACTS}
        _tell(told, "inspection group", int(entity_id), event_id, chain, **facts)
    elif action == "ballot_session.attendance":
        _tell(told, "ballot session", int(entity_id), event_id, chain, present=after["present"])
    elif entity_type == "decision_meeting":
        _tell(told, "decision meeting", int(entity_id), event_id, chain, record=after)
    elif entity_type == "ballot_session":
        facts = {"state": BALLOT_STATES.get(action, after.get("state"))}
        if action == "ballot_session.open":
            issued = after["issued"]
            facts |= {"issued": issued, "returned": dict.fromkeys(issued, 0)}
            facts |= {"ballots": None, "box_digest": None}
            if "eligible" in after:  # since the roll: who may vote, and who came (not yet)
                facts |= {"eligible": after["eligible"], "present": dict.fromkeys(issued)}
        elif action == "ballot_session.close":
            facts["returned"] = after["returned"]
        elif action == "ballot_session.count":
            facts |= {"ballots": after["ballots"], "box_digest": after["box_digest"]}
        _tell(told, "ballot session", int(entity_id), event_id, chain, **facts)


def _replayed(session: Session) -> Told:
    events = AuditEvent.__table__
    told: Told = {}
    query = (
        select(
            events.c.id,
            events.c.entity_type,
            events.c.entity_id,
            events.c.action,
            events.c.organization_id,
            events.c.after,
        )
        .where(
            events.c.action.in_(
                [
                    "grading.enroll",
                    "grading.transition",
                    "grading.promote",
                    "grading.reschedule",
                    "record.create",
                    "record.correct",
                    "approval.request",
                    "approval.approve",
                    "approval.reject",
                    "approval.withdraw",
                    *BALLOT_STATES,
                    "ballot_session.void",
                    "ballot_session.attendance",
                    "decision_meeting.record",
                    "inspection_group.create",
                    "inspection_group.change",
                ]
            )
        )
        .order_by(events.c.id)
    )
    for row in session.execute(query.execution_options(yield_per=5000)):
        _read(told, tuple(row))
    return told


Rows = Iterator[tuple[Any, int | None, dict[str, Any]]]  # (id, organization id, facts)


def _gradings(session: Session) -> Rows:
    query = select(
        Grading.id, Grading.organization_id, Grading.state, Grading.level, Grading.version
    )
    for gid, org, state, level, version in session.execute(query.order_by(Grading.id)):
        yield gid, org, {"state": state, "level": level, "version": version}


def _records(session: Session) -> Rows:
    query = select(
        RecordVersion.grading_id,
        RecordVersion.record_type,
        RecordVersion.record_key,
        RecordVersion.version,
        RecordVersion.data,
        Grading.organization_id,
    ).join(Grading, Grading.id == RecordVersion.grading_id)
    for gid, kind, key, version, data, org in session.execute(
        query.order_by(RecordVersion.id).execution_options(yield_per=5000)
    ):
        yield (gid, kind, key, version), org, {"data": canonical_json(data)}


def _approvals(session: Session) -> Rows:
    query = select(Approval.id, Grading.organization_id, Approval.state).join(
        Grading, Grading.id == Approval.grading_id
    )
    for aid, org, state in session.execute(query.order_by(Approval.id)):
        yield aid, org, {"state": state}


def _ballot_sessions(session: Session) -> Rows:
    counts: dict[int, dict[str, dict[str, int | None]]] = {}
    for sid, code, *figures in session.execute(
        select(
            BallotCategory.session_id,
            BallotCategory.code,
            *(getattr(BallotCategory, name) for name in CATEGORY_FIGURES),
        )
    ):
        entry = counts.setdefault(sid, {name: {} for name in CATEGORY_FIGURES})
        for name, value in zip(CATEGORY_FIGURES, figures, strict=True):
            entry[name][code] = value
    query = select(
        BallotSession.id,
        BallotSession.organization_id,
        BallotSession.state,
        BallotSession.box_ballots,
        BallotSession.box_digest,
    )
    for sid, org, state, ballots, digest in session.execute(query.order_by(BallotSession.id)):
        facts: dict[str, Any] = {"state": state}
        facts |= counts.get(sid, {name: {} for name in CATEGORY_FIGURES})
        yield sid, org, facts | {"ballots": ballots, "box_digest": digest}


def _decision_meetings(session: Session) -> Rows:
    for meeting in session.scalars(select(DecisionMeeting).order_by(DecisionMeeting.id)):
        yield meeting.id, meeting.organization_id, {"record": meetings.snapshot(meeting)}


def _inspection_groups(session: Session) -> Rows:
    query = select(InspectionGroup).order_by(InspectionGroup.id)
    for group in session.scalars(query):
        facts = {k: getattr(group, k) for k in GROUP_FACTS}
        yield group.id, group.organization_id, facts


SUBJECTS: dict[str, Callable[[Session], Rows]] = {
    "grading": _gradings,
    "record": _records,
    "approval": _approvals,
    "ballot session": _ballot_sessions,
    "inspection group": _inspection_groups,
    "decision meeting": _decision_meetings,
}


def _name(subject: str, ident: Any) -> str:
    if subject == "record":
        grading, kind, key, version = ident
        return f"record {kind}/{key} v{version} of grading {grading}"
    return f"{subject} {ident}"


def _shown(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode()
        return repr(text if len(text) <= 80 else text[:77] + "...")
    return repr(value)


def diverged(session: Session) -> list[Damage]:
    told = _replayed(session)
    damage = []
    for subject, rows in SUBJECTS.items():
        for ident, org, have in rows(session):
            facts = told.pop((subject, ident), None)
            name = _name(subject, ident)
            if facts is None:
                detail = f"{name} is in its table but the trail never told of it"
                damage.append(Damage("state-diverged", chain_key_for(org), None, None, detail))
                continue
            for fact, value in have.items():
                want = facts.get(fact, UNSET)
                if want is not UNSET and want != value:
                    detail = (
                        f"{name}: the table says {fact} {_shown(value)}, the trail "
                        f"{_shown(want)} (its last event is {facts['event']})"
                    )
                    damage.append(
                        Damage("state-diverged", facts["chain"], facts["event"], None, detail)
                    )
    for (subject, ident), facts in told.items():
        detail = f"{_name(subject, ident)} is in the trail but gone from its table"
        damage.append(Damage("state-diverged", facts["chain"], facts["event"], None, detail))
    return damage
