"""Four eyes (四眼原则): a pending request fires only when a supervisor in scope who is not the
requester approves it; the transition's guards are checked again at that moment."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.accounts.models import Role
from service.audit.operations import record
from service.context import Actor
from service.db import utcnow
from service.errors import (
    ApprovalDecided,
    ApprovalPending,
    NotFound,
    SelfApproval,
    ValidationFailed,
)
from service.gradings.models import Approval, Grading
from service.organizations.models import Organization


def pending_for(session: Session, grading_id: int) -> Approval | None:
    return session.scalars(
        select(Approval).where(Approval.grading_id == grading_id, Approval.state == "pending")
    ).first()


def request_approval(
    session: Session,
    actor: Actor,
    grading: Grading,
    *,
    kind: str,
    subject: str,
    payload: dict[str, Any] | None,
    reason: str | None,
) -> Approval:
    existing = pending_for(session, grading.id)
    if existing is not None:
        raise ApprovalPending(
            f"approval {existing.id} ({existing.subject}) is still pending for this grading",
            approval_id=existing.id,
        )
    approval = Approval(
        grading_id=grading.id,
        kind=kind,
        subject=subject,
        payload=payload,
        reason=reason,
        requested_by_account_id=actor.account_id,
        requested_by=actor.username,
    )
    session.add(approval)
    session.flush()
    record(
        session,
        actor,
        "approval.request",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        after={"approval_id": approval.id, "kind": kind, "subject": subject, "payload": payload},
        reason=reason,
    )
    return approval


def get_approval(session: Session, approval_id: int) -> Approval:
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise NotFound(f"approval {approval_id} was not found")
    return approval


def decide(
    session: Session,
    actor: Actor,
    principal: Principal,
    approval: Approval,
    *,
    approve: bool,
    comment: str | None,
) -> Approval:
    grading = session.get_one(Grading, approval.grading_id)
    org = session.get_one(Organization, grading.organization_id)
    principal.require(org, [Role.SUPERVISOR], "deciding an approval")
    if approval.state != "pending":
        raise ApprovalDecided(f"approval {approval.id} was {approval.state} already")
    if approval.requested_by_account_id == principal.account_id:
        raise SelfApproval("a supervisor cannot approve or reject their own request")
    if not approve and not (comment and comment.strip()):
        raise ValidationFailed(
            "a rejection says why", errors={"comment": ["required when rejecting"]}
        )
    if approve:
        if approval.kind == "transition":
            from service.gradings.operations import fire

            fire(session, actor, grading, approval.subject, approval.reason, approval=approval)
        else:
            from service.records.operations import apply_approved_correction

            apply_approved_correction(session, actor, grading, approval)
    approval.state = "approved" if approve else "rejected"
    approval.decided_by_account_id = principal.account_id
    approval.decided_by = actor.username
    approval.decided_at = utcnow()
    approval.comment = comment
    session.flush()
    record(
        session,
        actor,
        f"approval.{'approve' if approve else 'reject'}",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        before={"approval_id": approval.id, "state": "pending"},
        after={
            "approval_id": approval.id,
            "state": approval.state,
            "subject": approval.subject,
            "requested_by": approval.requested_by,
        },
        reason=comment,
    )
    return approval
