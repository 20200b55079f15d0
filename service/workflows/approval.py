"""A request waiting for a second person (四眼原则): pending → approved or rejected, by a
supervisor in scope who is not the requester."""

from __future__ import annotations

from service.accounts.models import Role
from service.errors import ApprovalDecided
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import ApprovalState as S

APPROVAL_SPEC = WorkflowSpec(
    name="approval",
    label="审批",
    attribute="state",
    initial=S.PENDING,
    states=(
        StateSpec(S.PENDING, "待审批"),
        StateSpec(S.APPROVED, "已批准"),
        StateSpec(S.REJECTED, "已驳回"),
    ),
    transitions=(
        TransitionSpec("approve", S.PENDING, S.APPROVED, "批准", (Role.SUPERVISOR,)),
        TransitionSpec(
            "reject", S.PENDING, S.REJECTED, "驳回", (Role.SUPERVISOR,), needs_reason=True
        ),
    ),
    wrong_state=ApprovalDecided,
)

APPROVAL_WORKFLOW = Workflow(APPROVAL_SPEC)
