"""A complaint during publicity (公示期间的投诉): received → investigating (调查核实) →
answered (反馈). A reviewer takes it up (another reviewer may take it over) and answers it."""

from __future__ import annotations

from service.accounts.models import Role
from service.errors import ComplaintWrongState
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import ComplaintState as S

COMPLAINT_SPEC = WorkflowSpec(
    name="complaint",
    label="投诉",
    attribute="state",
    initial=S.RECEIVED,
    states=(
        StateSpec(S.RECEIVED, "已受理"),
        StateSpec(S.INVESTIGATING, "调查核实中"),
        StateSpec(S.ANSWERED, "已答复"),
    ),
    transitions=(
        TransitionSpec("assign", S.RECEIVED, S.INVESTIGATING, "受理调查", (Role.REVIEWER,)),
        TransitionSpec(
            "reassign", S.INVESTIGATING, S.INVESTIGATING, "转由他人调查", (Role.REVIEWER,)
        ),
        TransitionSpec("answer", S.INVESTIGATING, S.ANSWERED, "答复", (Role.REVIEWER,)),
    ),
    wrong_state=ComplaintWrongState,
)

COMPLAINT_WORKFLOW = Workflow(COMPLAINT_SPEC)
