"""Reading a grading with what the caller may do next, and moving it through its lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.audit.operations import record
from service.campaigns.models import Campaign, CampaignPhase
from service.context import Actor
from service.db import utcnow
from service.errors import (
    ApprovalPending,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from service.gradings.approvals import pending_for, request_approval
from service.gradings.guards import GuardContext
from service.gradings.models import Approval, Grading
from service.organizations.models import Organization
from service.workflows.grading import GRADING_SPEC, GRADING_WORKFLOW

# The campaign phase whose deadline applies in each state.
PHASE_OF_STATE = {
    "survey": "survey",
    "self_rating": "self_rating",
    "evaluation": "evaluation",
    "superior_review": "superior_review",
    "publicity": "publicity",
    "complaint_review": "publicity",
    "rectification": "rectification",
    "re_review": "re_review",
    "promotion": "promotion",
}


def get_grading(session: Session, grading_id: int) -> Grading:
    grading = session.get(Grading, grading_id)
    if grading is None:
        raise NotFound(f"grading {grading_id} was not found")
    return grading


def guard_context(
    session: Session, grading: Grading, today: date | None = None, *, for_update: bool = False
) -> GuardContext:
    days = session.scalar(
        select(Campaign.publicity_working_days).where(Campaign.id == grading.campaign_id)
    )
    return GuardContext(session, today or utcnow().date(), days or 0, for_update)


def deadline(session: Session, grading: Grading) -> date | None:
    phase = PHASE_OF_STATE.get(grading.state)
    if phase is None:
        return None
    return session.scalar(
        select(CampaignPhase.due_on).where(
            CampaignPhase.campaign_id == grading.campaign_id, CampaignPhase.phase == phase
        )
    )


def view(
    session: Session, principal: Principal, grading: Grading, org: Organization
) -> dict[str, Any]:
    context = guard_context(session, grading)
    held = principal.roles_at(org)
    pending = pending_for(session, grading.id)
    transitions = []
    for availability in GRADING_WORKFLOW.available(grading, context):
        t = availability.transition
        blocked = [r.as_dict() for r in availability.refusals]
        if not held.intersection(t.roles):
            blocked.insert(
                0,
                {
                    "code": "role_not_allowed",
                    "message_zh": f"需要角色：{'、'.join(r.value for r in t.roles)}",
                    "message_en": f"needs the role {', '.join(r.value for r in t.roles)}",
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
    due = deadline(session, grading)
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
    }


def fire(
    session: Session,
    actor: Actor,
    grading: Grading,
    name: str,
    reason: str | None,
    *,
    approval: Approval | None = None,
) -> Grading:
    before = {"state": grading.state, "version": grading.version, "level": grading.level}
    GRADING_WORKFLOW.fire(grading, name, guard_context(session, grading, for_update=True), reason)
    grading.state_entered_at = utcnow()
    if name == "decide":
        from service.calendar import add_working_days
        from service.decisions.rules import proposed_level

        grading.level = proposed_level(session, grading)
        today = utcnow().date()
        days = session.scalar(
            select(Campaign.publicity_working_days).where(Campaign.id == grading.campaign_id)
        )
        grading.publicity_starts_on = today
        grading.publicity_ends_on = add_working_days(today, days or 0)
    elif grading.state == "superior_review":
        grading.level = None  # sent back: the level is decided again
    session.flush()  # the version check: a concurrent writer of the same version fails here
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
    )
    return grading


@dataclass
class Outcome:
    grading: Grading
    approval: Approval | None


def request_transition(
    session: Session,
    actor: Actor,
    principal: Principal,
    grading: Grading,
    org: Organization,
    name: str,
    reason: str | None,
    if_match: frozenset[int] | None = None,
) -> Outcome:
    transition = GRADING_SPEC.transition(name)
    if transition is None:
        raise ValidationFailed(
            f"the grading workflow has no transition {name!r}",
            errors={"transition": [f"unknown transition {name!r}"]},
        )
    principal.require(org, transition.roles, f"{name} ({transition.label})")
    PreconditionFailed.check(grading.version, if_match)
    if transition.needs_approval:
        GRADING_WORKFLOW.check(grading, name, guard_context(session, grading), reason)
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
    pending = pending_for(session, grading.id)
    if pending is not None:
        raise ApprovalPending(
            f"approval {pending.id} ({pending.subject}) is pending for this grading",
            approval_id=pending.id,
        )
    fire(session, actor, grading, name, reason)
    return Outcome(grading, None)
