"""One grading's lifecycle, declared as data.

survey 调查摸底 → self_rating 自评 → evaluation 党员群众测评 → superior_review 上级评定 →
publicity 公示 (⇄ complaint_review 投诉复核) → rated 定级 → rectification 整改 →
re_review 回头看 → promotion 晋位升级 → closed 结束, with send-backs (退回) that need a reason.

Guards that depend on stage data (scores, ballots, plans — later issues) are named hooks in
service.gradings.guards; each has a stable code and a Chinese and English refusal text.
"""

from __future__ import annotations

from service.accounts.models import Role
from service.gradings import guards
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec

R, T, S = Role.REVIEWER, Role.TELLER, Role.SECRETARY

GRADING_SPEC = WorkflowSpec(
    name="grading",
    attribute="state",
    initial="survey",
    states=(
        StateSpec("survey", "调查摸底"),
        StateSpec("self_rating", "自评"),
        StateSpec("evaluation", "党员群众测评"),
        StateSpec("superior_review", "上级评定"),
        StateSpec("publicity", "公示"),
        StateSpec("complaint_review", "投诉复核"),
        StateSpec("rated", "定级"),
        StateSpec("rectification", "整改"),
        StateSpec("re_review", "回头看"),
        StateSpec("promotion", "晋位升级"),
        StateSpec("closed", "结束"),
    ),
    transitions=(
        TransitionSpec(
            "open_self_rating",
            "survey",
            "self_rating",
            "完成调查摸底，开始自评",
            (R,),
            guards=(guards.SURVEY_RECORDED,),
        ),
        TransitionSpec(
            "submit_self_rating",
            "self_rating",
            "evaluation",
            "提交自评",
            (S,),
            guards=(guards.SELF_RATING_SUBMITTED,),
        ),
        TransitionSpec(
            "return_to_survey", "self_rating", "survey", "退回调查摸底", (R,), needs_reason=True
        ),
        TransitionSpec(
            "return_self_rating", "evaluation", "self_rating", "退回自评", (R,), needs_reason=True
        ),
        TransitionSpec(
            "close_evaluation",
            "evaluation",
            "superior_review",
            "测评计票完成",
            (T,),
            guards=(guards.BALLOTS_COUNTED,),
        ),
        TransitionSpec(
            "return_to_evaluation",
            "superior_review",
            "evaluation",
            "退回重新测评",
            (R,),
            needs_reason=True,
        ),
        TransitionSpec(
            "decide",
            "superior_review",
            "publicity",
            "作出定级决定并公示",
            (R,),
            guards=(
                guards.ASSESSMENT_ENTERED,
                guards.LEVEL_PROPOSED,
                guards.VETO_RESPECTED,
                guards.NEW_ORG_NOT_TOP,
                guards.SOURCE_THRESHOLDS,
                guards.QUOTA_CAP,
            ),
            needs_approval=True,
        ),
        TransitionSpec(
            "receive_complaint",
            "publicity",
            "complaint_review",
            "受理投诉",
            (R,),
            needs_reason=True,
        ),
        TransitionSpec(
            "dismiss_complaint",
            "complaint_review",
            "publicity",
            "投诉不成立，继续公示",
            (R,),
            needs_reason=True,
        ),
        TransitionSpec(
            "uphold_complaint",
            "complaint_review",
            "superior_review",
            "投诉成立，重新评定",
            (R,),
            needs_reason=True,
            needs_approval=True,
        ),
        TransitionSpec(
            "finalize",
            "publicity",
            "rated",
            "公示期满，确定等级",
            (R,),
            guards=(guards.PUBLICITY_PERIOD_OVER, guards.NO_OPEN_COMPLAINTS, guards.QUOTA_FLOORS),
        ),
        TransitionSpec("start_rectification", "rated", "rectification", "开始整改", (R,)),
        TransitionSpec(
            "start_re_review",
            "rectification",
            "re_review",
            "整改完成，回头看",
            (R,),
            guards=(guards.RECTIFICATION_CLOSED,),
        ),
        TransitionSpec(
            "return_to_rectification",
            "re_review",
            "rectification",
            "退回整改",
            (R,),
            needs_reason=True,
        ),
        TransitionSpec(
            "reopen_review",
            "re_review",
            "superior_review",
            "回头看发现问题，重新评定",
            (R,),
            needs_reason=True,
            needs_approval=True,
        ),
        TransitionSpec(
            "start_promotion", "re_review", "promotion", "回头看完成，进入晋位升级", (R,)
        ),
        TransitionSpec(
            "close",
            "promotion",
            "closed",
            "晋位升级完成，结束",
            (R,),
            guards=(guards.PROMOTION_SETTLED,),
        ),
    ),
)

GRADING_WORKFLOW = Workflow(GRADING_SPEC)
