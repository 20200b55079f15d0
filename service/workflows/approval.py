"""A request waiting for a second person (四眼原则): pending → approved or rejected, by a
supervisor in scope who is not the requester."""

from __future__ import annotations

from service.accounts.models import Role
from service.errors import ApprovalDecided
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import ApprovalState as S


def second_person(
    name: str, label: str, role: Role, approve_label: str, reject_label: str
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


APPROVAL_SPEC = second_person("approval", "审批", Role.SUPERVISOR, "批准", "驳回")
APPROVAL_WORKFLOW = Workflow(APPROVAL_SPEC)
