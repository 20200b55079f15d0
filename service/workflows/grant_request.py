"""Four eyes on power (docs/decisions/0025): a grant of an approving role waits, pending, for an
admin of a higher scope than the requester's — approved (the grant becomes live) or rejected."""

from __future__ import annotations

from service.accounts.models import Role
from service.errors import ApprovalDecided
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import ApprovalState as S

GRANT_REQUEST_SPEC = WorkflowSpec(
    name="grant_request",
    label="授权审批",
    attribute="state",
    initial=S.PENDING,
    states=(
        StateSpec(S.PENDING, "待审批"),
        StateSpec(S.APPROVED, "已批准"),
        StateSpec(S.REJECTED, "已驳回"),
    ),
    transitions=(
        TransitionSpec("approve", S.PENDING, S.APPROVED, "批准授权", (Role.ADMIN,)),
        TransitionSpec(
            "reject", S.PENDING, S.REJECTED, "驳回授权", (Role.ADMIN,), needs_reason=True
        ),
    ),
    wrong_state=ApprovalDecided,
)

GRANT_REQUEST_WORKFLOW = Workflow(GRANT_REQUEST_SPEC)
