"""The shape of a request waiting for a second person (四眼原则): pending → approved or
rejected by a holder of a given role who is not the requester. The grading's approvals
(service.lifecycle.workflow), grant requests (service.accounts.workflow) and witness
registrations (service.audit.witness_workflow) are each one."""

from __future__ import annotations

from service.errors import ApprovalDecided
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import ApprovalState as S


def second_person(
    name: str, label: str, role: str, approve_label: str, reject_label: str
) -> WorkflowSpec:
    """pending → approved, or rejected with a reason, by `role` — never the requester (the
    operation checks who asked)."""
    return WorkflowSpec(
        name=name,
        label=label,
        attribute="state",
        initial=S.PENDING,
        states=(
            StateSpec(S.PENDING, "待审批"),
            StateSpec(S.APPROVED, "已批准"),
            StateSpec(S.REJECTED, "已驳回"),
        ),
        transitions=(
            TransitionSpec("approve", S.PENDING, S.APPROVED, approve_label, (role,)),
            TransitionSpec(
                "reject", S.PENDING, S.REJECTED, reject_label, (role,), needs_reason=True
            ),
        ),
        wrong_state=ApprovalDecided,
    )
