"""A spot check (抽查) by a higher level: planned (the population fixed) → drawn (the sample,
from a seed nobody controls alone; once) → checking (findings recorded) → concluded (every
sampled grading has its finding). docs/spot-checks.md."""

from __future__ import annotations

from service.accounts.models import Role
from service.errors import SpotCheckWrongState
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import SpotCheckState as S

INSPECTORS = (Role.INSPECTOR,)

SPOT_CHECK_SPEC = WorkflowSpec(
    name="spot_check",
    label="抽查",
    attribute="state",
    initial=S.PLANNED,
    states=(
        StateSpec(S.PLANNED, "已计划"),
        StateSpec(S.DRAWN, "已抽样"),
        StateSpec(S.CHECKING, "核查中"),
        StateSpec(S.CONCLUDED, "已完成"),
    ),
    transitions=(
        TransitionSpec("draw", S.PLANNED, S.DRAWN, "抽样", INSPECTORS),
        TransitionSpec("start_checking", S.DRAWN, S.CHECKING, "开始核查", INSPECTORS),
        TransitionSpec("conclude", S.CHECKING, S.CONCLUDED, "完成抽查", INSPECTORS),
    ),
    wrong_state=SpotCheckWrongState,
)

SPOT_CHECK_WORKFLOW = Workflow(SPOT_CHECK_SPEC)
