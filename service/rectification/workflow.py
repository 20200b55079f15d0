"""A rectification plan (整改方案): drafted by the branch secretary item by item, approved by a
supervisor once (its record is the approval). A rectification item (整改项目): open →
in_progress → submitted (with evidence) → closed (销号, verified by the superior), or returned
(with a reason) to in_progress."""

from __future__ import annotations

from service.accounts.models import Role
from service.errors import ItemWrongState, PlanApproved
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import ItemStatus as S
from service.workflows.states import PlanStatus

RECTIFICATION_PLAN_SPEC = WorkflowSpec(
    name="rectification_plan",
    label="整改方案",
    attribute="status",
    initial=PlanStatus.DRAFTING,
    states=(StateSpec(PlanStatus.DRAFTING, "拟订中"), StateSpec(PlanStatus.APPROVED, "已批准")),
    transitions=(
        TransitionSpec(
            "approve", PlanStatus.DRAFTING, PlanStatus.APPROVED, "审批整改方案", (Role.SUPERVISOR,)
        ),
    ),
    wrong_state=PlanApproved,
)
RECTIFICATION_PLAN_WORKFLOW = Workflow(RECTIFICATION_PLAN_SPEC)

RECTIFICATION_ITEM_SPEC = WorkflowSpec(
    name="rectification_item",
    label="整改项目",
    attribute="status",
    initial=S.OPEN,
    states=(
        StateSpec(S.OPEN, "未开始"),
        StateSpec(S.IN_PROGRESS, "整改中"),
        StateSpec(S.SUBMITTED, "申请销号"),
        StateSpec(S.CLOSED, "已销号"),
    ),
    transitions=(
        TransitionSpec("start", S.OPEN, S.IN_PROGRESS, "开始整改", (Role.SECRETARY,)),
        TransitionSpec("submit", S.IN_PROGRESS, S.SUBMITTED, "申请销号", (Role.SECRETARY,)),
        TransitionSpec("close", S.SUBMITTED, S.CLOSED, "验收销号", (Role.REVIEWER,)),
        TransitionSpec(
            "return", S.SUBMITTED, S.IN_PROGRESS, "退回", (Role.REVIEWER,), needs_reason=True
        ),
    ),
    wrong_state=ItemWrongState,
)

RECTIFICATION_ITEM_WORKFLOW = Workflow(RECTIFICATION_ITEM_SPEC)
