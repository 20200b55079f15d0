"""Four eyes (四眼原则): requests that wait for a supervisor — a transition that needs approval,
or a correction of a record after its stage. This module keeps the approval rows; carrying out
what was approved is service.lifecycle.operations.settle_approval, beside `fire`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.operations import record
from service.context import Actor
from service.errors import ApprovalPending, NotFound
from service.gradings.facts import GradingFacts
from service.gradings.models import Approval, Grading
from service.workflows.states import ApprovalState


def pending_for(
    session: Session, grading_id: int, facts: GradingFacts | None = None
) -> Approval | None:
    """The grading's pending approval (none, without a query, when the facts loaded with the
    grading say so)."""
    if facts is not None and facts.grading_id == grading_id and not facts.pending_approval:
        return None
    return session.scalars(
        select(Approval).where(
            Approval.grading_id == grading_id, Approval.state == ApprovalState.PENDING
        )
    ).first()


def refuse_if_pending(
    session: Session, grading: Grading, facts: GradingFacts | None = None
) -> None:
    """One request at a time: while one waits, the grading takes no other step."""
    pending = pending_for(session, grading.id, facts)
    if pending is not None:
        raise ApprovalPending(
            f"approval {pending.id} ({pending.subject}) is pending for this grading",
            approval_id=pending.id,
        )


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
    refuse_if_pending(session, grading)
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
