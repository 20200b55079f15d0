"""A grading through its lifecycle: what the caller may do next, firing a transition (or
requesting it when it needs approval), carrying out what a supervisor approved, many gradings
at once, and the history read as a story."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from service import calendar, metrics
from service.accounts.access import Principal
from service.audit.models import AuditEvent
from service.audit.operations import RowUpdate, record
from service.calendar import notice_ends
from service.campaigns.models import Campaign, CampaignPhase
from service.context import Actor
from service.db import utcnow
from service.decisions.rules import proposed_level
from service.errors import (
    DomainError,
    NotFound,
    PreconditionFailed,
    SelfApproval,
    ValidationFailed,
)
from service.gradings.approvals import pending_for, refuse_if_pending, request_approval
from service.gradings.facts import GradingFacts
from service.gradings.load import GRADINGS
from service.gradings.models import Approval, Grading
from service.gradings.records import apply_approved_correction
from service.lifecycle.workflow import APPROVAL_WORKFLOW, GRADING_SPEC, GRADING_WORKFLOW
from service.organizations.models import Organization, Placed
from service.workdays import operations as workdays
from service.workflows.context import GuardContext
from service.workflows.states import PHASE_OF_STATE, GradingState


def get_grading(session: Session, grading_id: int) -> Grading:
    grading = session.get(Grading, grading_id)
    if grading is None:
        raise NotFound(f"grading {grading_id} was not found")
    return grading


def _publicity_days(session: Session, grading: Grading, facts: GradingFacts | None) -> int:
    """The campaign's notice period: as loaded with the grading, or read."""
    if facts is not None and facts.grading_id == grading.id:
        return facts.notice_days
    days = session.scalar(_NOTICE_DAYS, {"campaign_id": grading.campaign_id})
    return int(days or 0)


_NOTICE_DAYS = select(Campaign.publicity_working_days).where(
    Campaign.id == bindparam("campaign_id")
)


def guard_context(
    session: Session,
    grading: Grading,
    today: date | None = None,
    *,
    for_update: bool = False,
    facts: GradingFacts | None = None,
) -> GuardContext:
    days = _publicity_days(session, grading, facts)
    return GuardContext(session, today or calendar.today(), days, for_update, facts)


def deadline(session: Session, grading: Grading, facts: GradingFacts | None = None) -> date | None:
    phase = PHASE_OF_STATE.get(grading.state)
    if phase is None:
        return None
    if facts is not None and facts.grading_id == grading.id:
        return facts.due_dates.get(phase)
    return session.scalar(_DUE_ON, {"campaign_id": grading.campaign_id, "phase": phase})


_DUE_ON = select(CampaignPhase.due_on).where(
    CampaignPhase.campaign_id == bindparam("campaign_id"), CampaignPhase.phase == bindparam("phase")
)


def view(
    session: Session,
    principal: Principal,
    grading: Grading,
    org: Placed,
    facts: GradingFacts | None = None,
) -> dict[str, Any]:
    """The grading with every next step, allowed or why not. `facts`: as loaded with it, when
    nothing they say was written since."""
    context = guard_context(session, grading, facts=facts)
    held = principal.roles_at(org)
    pending = pending_for(session, grading.id, facts)
    transitions = []
    for availability in GRADING_WORKFLOW.available(grading, context):
        t = availability.transition
        blocked = [r.as_dict() for r in availability.refusals]
        if not held.intersection(t.roles):
            blocked.insert(
                0,
                {
                    "code": "role_not_allowed",
                    "message_zh": f"需要角色：{'、'.join(t.roles)}",
                    "message_en": f"needs the role {', '.join(t.roles)}",
                },
            )
        if pending is not None:
            blocked.append(
                {
                    "code": "approval_pending",
                    "message_zh": "有待审批的请求",
                    "message_en": f"approval {pending.id} is pending",
                }
            )
        transitions.append(
            {
                "name": t.name,
                "label": t.label,
                "dest": t.dest,
                "dest_label": GRADING_SPEC.state_label(t.dest),
                "needs_reason": t.needs_reason,
                "needs_approval": t.needs_approval,
                "allowed": not blocked,
                "blocked_by": blocked,
            }
        )
    due = deadline(session, grading, facts)
    today = context.today
    return {
        "id": grading.id,
        "campaign_id": grading.campaign_id,
        "organization_id": grading.organization_id,
        "organization_name": org.name,
        "standard_id": grading.standard_id,
        "state": grading.state,
        "state_label": GRADING_SPEC.state_label(grading.state),
        "version": grading.version,
        "state_entered_at": grading.state_entered_at,
        "deadline": due,
        "days_left": (due - today).days if due else None,
        "overdue": bool(due and due < today),
        "pending_approval": pending,
        "transitions": transitions,
        "publicity_starts_on": grading.publicity_starts_on,
        "publicity_ends_on": grading.publicity_ends_on,
        "publicity_ends_estimated": grading.publicity_ends_estimated,
        "warnings": warnings(session, grading),
    }


def warnings(session: Session, grading: Grading) -> list[dict[str, str]]:
    """What the caller should know that is not an error: a 公示 end counted on weekends alone."""
    if not grading.publicity_ends_estimated or grading.publicity_starts_on is None:
        return []
    workdays.fresh(session)
    ends = grading.publicity_ends_on or grading.publicity_starts_on
    years = [
        y
        for y in range(grading.publicity_starts_on.year, ends.year + 1)
        if calendar.source(y) == "weekends"
    ] or [ends.year]
    named = "、".join(map(str, years))
    return [
        {
            "code": "calendar_estimated",
            "message_zh": f"公示截止日 {ends} 暂按双休日推算：{named}年节假日安排尚未录入。录入后"
            "（PUT /api/v1/calendar/{年份} 或 calendar import）自动更正，只会延后，不会提前。",
            "message_en": f"the notice's end {ends} is an estimate counted on weekends alone: "
            f"the holidays of {', '.join(map(str, years))} were not entered. Entering them (PUT "
            "/api/v1/calendar/YEAR or `calendar import`) corrects it — later, never earlier.",
        }
    ]


def fire(
    session: Session,
    actor: Actor,
    grading: Grading,
    name: str,
    reason: str | None,
    *,
    approval: Approval | None = None,
    facts: GradingFacts | None = None,
) -> Grading:
    before = {"state": grading.state, "version": grading.version, "level": grading.level}
    context = guard_context(session, grading, for_update=True, facts=facts)
    GRADING_WORKFLOW.fire(grading, name, context, reason)
    grading.state_entered_at = utcnow()
    if name == "decide":
        grading.level = proposed_level(session, grading)
        today = calendar.today()
        grading.publicity_starts_on = today
        days = context.publicity_working_days
        workdays.fresh(session)
        ends, estimated = notice_ends(today, days)
        if estimated:  # a year may have been entered since this process last read them
            workdays.fresh(session, now=True)
            ends, estimated = notice_ends(today, days)
        grading.publicity_ends_on, grading.publicity_ends_estimated = ends, estimated
    elif grading.state == GradingState.SUPERIOR_REVIEW:
        grading.level = None  # sent back: the level is decided again
    # The version check and the event in one statement: a concurrent writer of the same
    # version makes this fail (StaleDataError) and the whole transaction roll back.
    change = _written(session, grading)
    after: dict[str, Any] = {
        "state": grading.state,
        "version": grading.version,
        "level": grading.level,
        "transition": name,
    }
    if approval is not None:
        after |= {"approval_id": approval.id, "requested_by": approval.requested_by}
    record(
        session,
        actor,
        "grading.transition",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        before=before,
        after=after,
        reason=reason,
        update=change,
    )
    metrics.transition_fired(name)
    return grading


def _written(session: Session, grading: Grading) -> RowUpdate | None:
    """The grading's changed columns as one guarded UPDATE for the audit event's statement,
    with the ORM told they are written (so its own flush leaves them). A grading not yet in
    the database is flushed by the ORM instead."""
    state = inspect(grading)
    if not state.persistent:
        session.flush()
        return None
    # The ORM keeps each attribute set since the load in committed_state (its old value): those
    # are the columns to write (one set back to what it was is written as it is — harmless).
    values = {key: state.dict[key] for key in state.committed_state if key in _GRADING_COLUMNS}
    version = grading.version
    values["version"] = version + 1
    for key, value in values.items():
        set_committed_value(grading, key, value)
    # Nothing of the grading is left for the ORM to write: off the session's list of modified
    # objects, so that the flush before the event has nothing to sort through.
    state._commit_all(state.dict, session.identity_map)
    return RowUpdate(GRADINGS, grading.id, version, values)


_GRADING_COLUMNS = frozenset(c.key for c in GRADINGS.columns if c.key not in ("id", "version"))


@dataclass
class Outcome:
    grading: Grading
    approval: Approval | None


def request_transition(
    session: Session,
    actor: Actor,
    grading: Grading,
    name: str,
    reason: str | None,
    if_match: frozenset[int] | None = None,
    facts: GradingFacts | None = None,
) -> Outcome:
    """Fire `name` now, or — when it needs a supervisor — check it and request approval.
    The caller has checked who may (GRADING_WORKFLOW.authorize)."""
    transition = GRADING_WORKFLOW.transition(name)
    PreconditionFailed.check(grading.version, if_match)
    if transition.needs_approval:
        GRADING_WORKFLOW.check(grading, name, guard_context(session, grading, facts=facts), reason)
        approval = request_approval(
            session,
            actor,
            grading,
            kind="transition",
            subject=name,
            payload={"version": grading.version},
            reason=reason,
        )
        return Outcome(grading, approval)
    refuse_if_pending(session, grading, facts)
    fire(session, actor, grading, name, reason, facts=facts)
    return Outcome(grading, None)


def fire_many(
    session: Session,
    actor: Actor,
    selected: Iterable[tuple[Grading, Organization]],
    name: str,
    reason: str | None,
    authorize: Callable[[Organization], object],
) -> list[dict[str, Any]]:
    """One transition on many gradings, each in its own savepoint: a refusal (`authorize`
    refusing the caller at that organization, too) undoes only its own grading. Each result
    says fired / approval_requested / refused (with the problem)."""
    results = []
    for grading, org in selected:
        savepoint = session.begin_nested()
        try:
            authorize(org)
            outcome = request_transition(session, actor, grading, name, reason)
        except DomainError as exc:
            savepoint.rollback()
            session.refresh(grading)
            problem: dict[str, Any] = {
                "type": f"/problems/{exc.type}",
                "status": exc.status,
                "detail": exc.detail,
                **{k: exc.extra[k] for k in ("reasons", "rule") if k in exc.extra},
            }
            results.append(_bulk_result(grading, "refused", None, problem))
            continue
        savepoint.commit()
        kind = "approval_requested" if outcome.approval else "fired"
        results.append(_bulk_result(grading, kind, outcome.approval, None))
    return results


def _bulk_result(
    grading: Grading, outcome: str, approval: Approval | None, problem: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "grading_id": grading.id,
        "state": grading.state,
        "version": grading.version,
        "outcome": outcome,
        "approval_id": approval.id if approval else None,
        "problem": problem,
    }


def settle_approval(
    session: Session,
    actor: Actor,
    approval: Approval,
    *,
    approve: bool,
    comment: str | None,
) -> Approval:
    """A supervisor (the caller has checked the role: APPROVAL_WORKFLOW.authorize) who is not
    the requester approves — the request is carried out now, its guards checked again — or
    rejects it with a comment. The approval's row is locked first: of an approve and a reject
    sent at once, the second waits, finds it decided and is refused (409)."""
    session.refresh(approval, with_for_update=True)
    grading = session.get_one(Grading, approval.grading_id)
    step = "approve" if approve else "reject"
    APPROVAL_WORKFLOW.require_source(approval, step)
    if approval.requested_by_account_id == actor.account_id:
        raise SelfApproval("a supervisor cannot approve or reject their own request")
    if not approve and not (comment and comment.strip()):
        raise ValidationFailed(
            "a rejection says why", errors={"comment": ["required when rejecting"]}
        )
    if approve and approval.kind == "transition":
        fire(session, actor, grading, approval.subject, approval.reason, approval=approval)
    elif approve:
        apply_approved_correction(session, actor, grading, approval)
    APPROVAL_WORKFLOW.apply(approval, step)
    approval.decided_by_account_id = actor.account_id
    approval.decided_by = actor.username
    approval.decided_at = utcnow()
    approval.comment = comment
    session.flush()
    record(
        session,
        actor,
        f"approval.{step}",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        before={"approval_id": approval.id, "state": APPROVAL_WORKFLOW.spec.initial},
        after={
            "approval_id": approval.id,
            "state": approval.state,
            "subject": approval.subject,
            "requested_by": approval.requested_by,
        },
        reason=comment,
    )
    return approval


def _of_grading(grading: Grading) -> Any:
    return (AuditEvent.entity_type == "grading") & (AuditEvent.entity_id == str(grading.id))


def history_events(
    session: Session, grading: Grading, *, after: int = 0, limit: int | None = None
) -> list[AuditEvent]:
    """The grading's audit events in order: its story, its records, approvals, complaints
    (those after event `after`; at most `limit`)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(_of_grading(grading), AuditEvent.id > after)
            .order_by(AuditEvent.id)
            .limit(limit)
        )
    )


def history_size(session: Session, grading: Grading) -> int:
    return int(session.scalar(select(func.count()).where(_of_grading(grading))) or 0)


def history(
    session: Session, grading: Grading, *, after: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    """The grading's audit events in order, each with a one-line summary a person can read."""
    return [
        {
            "event_id": event.id,
            "at": event.occurred_at,
            "actor": event.actor_username,
            "role": event.actor_role,
            "action": event.action,
            "summary": _summary(event.action, event.before or {}, event.after or {}),
            "reason": event.reason,
            "before": event.before,
            "after": event.after,
        }
        for event in history_events(session, grading, after=after, limit=limit)
    ]


def _summary(action: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    label = GRADING_SPEC.state_label
    if action == "grading.transition":
        return (
            f"{after.get('transition')}: {before.get('state')} {label(before.get('state', ''))}"
            f" → {after.get('state')} {label(after.get('state', ''))}"
        )
    if action.startswith("approval."):
        return f"{action} #{after.get('approval_id')} {after.get('subject', '')}".strip()
    if action.startswith("record."):
        return f"{action} {after.get('record_type')} v{after.get('version')}"
    complaint = f"complaint #{after.get('complaint_id')}"
    if action == "complaint.file":
        return f"收到投诉 {complaint} filed"
    if action == "complaint.assign":
        return f"受理调查 {complaint} taken up by {after.get('assigned_to')}"
    if action == "complaint.answer":
        verdict = "成立 upheld" if after.get("upheld") else "不成立 not upheld"
        return f"答复投诉 {complaint}: {verdict}"
    if action == "grading.promote":
        return f"晋位升级 promoted: {before.get('level')} → {after.get('level')}"
    return action
