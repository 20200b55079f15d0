"""A ballot meeting (测评会): open (codes issued, ballots sealed into the box) → closed →
counted (the box opened, totals written); a supervisor may void a session that cannot be
counted (its box key is lost, the meeting went wrong), with a reason."""

from __future__ import annotations

from service.accounts.models import Role
from service.errors import BallotSessionWrongState
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import BallotSessionState as S

BALLOT_SESSION_SPEC = WorkflowSpec(
    name="ballot_session",
    label="测评会",
    attribute="state",
    initial=S.OPEN,
    states=(
        StateSpec(S.OPEN, "投票中"),
        StateSpec(S.CLOSED, "已截止"),
        StateSpec(S.COUNTED, "已计票"),
        StateSpec(S.VOIDED, "已作废"),
    ),
    transitions=(
        TransitionSpec("close", S.OPEN, S.CLOSED, "截止投票", (Role.TELLER,)),
        TransitionSpec("count", S.CLOSED, S.COUNTED, "计票（须达到法定人数）", (Role.TELLER,)),
        TransitionSpec(
            "void", S.OPEN, S.VOIDED, "作废（投票中）", (Role.SUPERVISOR,), needs_reason=True
        ),
        TransitionSpec(
            "void_closed",
            S.CLOSED,
            S.VOIDED,
            "作废（已截止）",
            (Role.SUPERVISOR,),
            needs_reason=True,
        ),
    ),
    wrong_state=BallotSessionWrongState,
)

BALLOT_SESSION_WORKFLOW = Workflow(BALLOT_SESSION_SPEC)
