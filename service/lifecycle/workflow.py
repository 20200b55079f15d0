"""One grading's lifecycle, declared as data.

survey 调查摸底 → self_rating 自评 → evaluation 党员群众测评 → superior_review 上级评定 →
publicity 公示 (⇄ complaint_review 投诉复核) → rated 定级 → rectification 整改 →
re_review 回头看 → promotion 晋位升级 → closed 结束, with send-backs (退回) that need a reason.

The states and their facts are in service.workflows.states; the guards (each with a stable
code and a Chinese and English refusal) in service.lifecycle.guards.
"""

from __future__ import annotations

from service.accounts.models import Role
from service.campaigns.procedure import Duty
from service.lifecycle import guards
from service.workflows.approval import second_person
from service.workflows.engine import Workflow
from service.workflows.spec import TransitionSpec, WorkflowSpec
from service.workflows.states import (
    GRADING_STATES,
    RECORD_LABELS,
    REOPENED_AFTER_SPOT_CHECK,
    GradingState,
)

R, T, S = Role.REVIEWER, Role.TELLER, Role.SECRETARY
GRADING_SPEC = WorkflowSpec(
    name="grading",
    label="基层党组织分类定级",
    attribute="state",
    initial=GradingState.SURVEY,
    states=GRADING_STATES,
    transitions=(
        TransitionSpec(
            "open_self_rating",
            GradingState.SURVEY,
            GradingState.SELF_RATING,
            "完成调查摸底，开始自评",
            (R,),
            guards=(guards.SURVEY_RECORDED,),
        ),
        TransitionSpec(
            "submit_self_rating",
            GradingState.SELF_RATING,
            GradingState.EVALUATION,
            "提交自评",
            (S,),
            guards=(guards.SELF_RATING_SUBMITTED,),
        ),
        TransitionSpec(
            "return_to_survey",
            GradingState.SELF_RATING,
            GradingState.SURVEY,
            "退回调查摸底",
            (R,),
            needs_reason=True,
        ),
        TransitionSpec(
            "return_self_rating",
            GradingState.EVALUATION,
            GradingState.SELF_RATING,
            "退回自评",
            (R,),
            guards=(guards.NO_BALLOT_RUNNING,),
            needs_reason=True,
            duty=Duty.BALLOT,
        ),
        TransitionSpec(
            "close_evaluation",
            GradingState.EVALUATION,
            GradingState.SUPERIOR_REVIEW,
            "测评计票完成",
            (T,),
            guards=(guards.BALLOTS_COUNTED, guards.NO_BALLOT_RUNNING, guards.BRANCH_OPINION_FORMED),
            duty=Duty.BALLOT,
        ),
        TransitionSpec(
            "return_to_evaluation",
            GradingState.SUPERIOR_REVIEW,
            GradingState.EVALUATION,
            "退回重新测评",
            (R,),
            needs_reason=True,
            duty=Duty.DECISION,
        ),
        TransitionSpec(
            "decide",
            GradingState.SUPERIOR_REVIEW,
            GradingState.PUBLICITY,
            "作出定级决定并公示",
            (R,),
            guards=(
                guards.ASSESSMENT_ENTERED,
                guards.LEVEL_PROPOSED,
                guards.DECISION_MEETING_HELD,
                guards.VETO_RESPECTED,
                guards.NEW_ORG_NOT_TOP,
                guards.SOURCE_THRESHOLDS,
                guards.QUOTA_CAP,
            ),
            needs_approval=True,
            duty=Duty.DECISION,
        ),
        TransitionSpec(
            "receive_complaint",
            GradingState.PUBLICITY,
            GradingState.COMPLAINT_REVIEW,
            "受理投诉",
            (R,),
            needs_reason=True,
            duty=Duty.DECISION,
        ),
        TransitionSpec(
            "dismiss_complaint",
            GradingState.COMPLAINT_REVIEW,
            GradingState.PUBLICITY,
            "投诉不成立，继续公示",
            (R,),
            needs_reason=True,
            duty=Duty.DECISION,
        ),
        TransitionSpec(
            "uphold_complaint",
            GradingState.COMPLAINT_REVIEW,
            GradingState.SUPERIOR_REVIEW,
            "投诉成立，重新评定",
            (R,),
            needs_reason=True,
            needs_approval=True,
            duty=Duty.DECISION,
        ),
        TransitionSpec(
            "finalize",
            GradingState.PUBLICITY,
            GradingState.RATED,
            "公示期满，确定等级",
            (R,),
            guards=(guards.PUBLICITY_PERIOD_OVER, guards.NO_OPEN_COMPLAINTS, guards.QUOTA_FLOORS),
            duty=Duty.DECISION,
        ),
        TransitionSpec(
            "start_rectification", GradingState.RATED, GradingState.RECTIFICATION, "开始整改", (R,)
        ),
        *(
            TransitionSpec(
                name,
                source,
                GradingState.SUPERIOR_REVIEW,
                "抽查发现弄虚作假，重新评定",
                (Role.INSPECTOR,),
                guards=(guards.FALSIFICATION_FOUND,),
                needs_reason=True,
                needs_approval=True,
            )
            for name, source in REOPENED_AFTER_SPOT_CHECK.items()
        ),
        TransitionSpec(
            "start_re_review",
            GradingState.RECTIFICATION,
            GradingState.RE_REVIEW,
            "整改完成，回头看",
            (R,),
            guards=(guards.RECTIFICATION_CLOSED, guards.RECTIFICATION_ACCEPTED),
        ),
        TransitionSpec(
            "return_to_rectification",
            GradingState.RE_REVIEW,
            GradingState.RECTIFICATION,
            "退回整改",
            (R,),
            needs_reason=True,
        ),
        TransitionSpec(
            "reopen_review",
            GradingState.RE_REVIEW,
            GradingState.SUPERIOR_REVIEW,
            "回头看发现问题，重新评定",
            (R,),
            needs_reason=True,
            needs_approval=True,
            duty=Duty.DECISION,
        ),
        TransitionSpec(
            "start_promotion",
            GradingState.RE_REVIEW,
            GradingState.PROMOTION,
            "回头看完成，进入晋位升级",
            (R,),
        ),
        TransitionSpec(
            "close",
            GradingState.PROMOTION,
            GradingState.CLOSED,
            "晋位升级完成，结束",
            (R,),
            guards=(guards.PROMOTION_SETTLED, guards.NO_BALLOT_RUNNING),
        ),
    ),
)

GRADING_WORKFLOW = Workflow(GRADING_SPEC)


def subject_label(kind: str, subject: str) -> str:
    """What an approval is for, as people read it: the transition's label, or the record's."""
    if kind == "transition":
        transition = GRADING_SPEC.transition(subject)
        return transition.label if transition is not None else subject
    return f"更正{RECORD_LABELS.get(subject, subject)}"


# A transition that needs approval waits for a supervisor in scope who is not the requester.
APPROVAL_SPEC = second_person("approval", "审批", Role.SUPERVISOR, "批准", "驳回")
APPROVAL_WORKFLOW = Workflow(APPROVAL_SPEC)
