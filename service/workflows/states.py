"""The lifecycles' vocabulary: one StrEnum of states per lifecycle, and the facts of each
grading state (its label, the campaign phase whose deadline applies, the records written in
it, whether a level stands) on its StateSpec — every table about states is derived from here.

This module imports nothing from the domain, so models, rules and operations can all use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from service.workflows.spec import StateSpec


class Phase(StrEnum):
    """A campaign's phases, each with a deadline (截止日期)."""

    SURVEY = "survey"  # 调查摸底
    SELF_RATING = "self_rating"  # 自评
    EVALUATION = "evaluation"  # 党员群众测评
    SUPERIOR_REVIEW = "superior_review"  # 上级评定
    PUBLICITY = "publicity"  # 公示
    RECTIFICATION = "rectification"  # 整改
    RE_REVIEW = "re_review"  # 回头看
    PROMOTION = "promotion"  # 晋位升级


class GradingState(StrEnum):
    SURVEY = "survey"
    SELF_RATING = "self_rating"
    EVALUATION = "evaluation"
    SUPERIOR_REVIEW = "superior_review"
    PUBLICITY = "publicity"
    COMPLAINT_REVIEW = "complaint_review"
    RATED = "rated"
    RECTIFICATION = "rectification"
    RE_REVIEW = "re_review"
    PROMOTION = "promotion"
    CLOSED = "closed"


G = GradingState
GRADING_STATES: tuple[StateSpec, ...] = (
    StateSpec(G.SURVEY, "调查摸底", phase=Phase.SURVEY, records=("survey_entry",)),
    StateSpec(G.SELF_RATING, "自评", phase=Phase.SELF_RATING, records=("self_rating",)),
    StateSpec(
        G.EVALUATION,
        "党员群众测评",
        phase=Phase.EVALUATION,
        records=("ballot_tally", "branch_opinion"),
    ),
    StateSpec(
        G.SUPERIOR_REVIEW,
        "上级评定",
        phase=Phase.SUPERIOR_REVIEW,
        records=("assessment", "decision", "veto_flags"),
    ),
    StateSpec(G.PUBLICITY, "公示", phase=Phase.PUBLICITY, level_stands=True, noticed=True),
    StateSpec(
        G.COMPLAINT_REVIEW, "投诉复核", phase=Phase.PUBLICITY, level_stands=True, noticed=True
    ),
    StateSpec(
        G.RATED,
        "定级",
        records=("life_meeting", "weak_measures", "exemplary"),
        level_stands=True,
    ),
    StateSpec(
        G.RECTIFICATION,
        "整改",
        phase=Phase.RECTIFICATION,
        records=(
            "rectification_item",
            "rectification_helpers",
            "rectification_plan",
            "rectification_pairing",
            "pairing_activity",
            "rectification_acceptance",
            "inspection_visit",
            "strategy",
        ),
        level_stands=True,
    ),
    StateSpec(
        G.RE_REVIEW,
        "回头看",
        phase=Phase.RE_REVIEW,
        records=("self_check_report", "re_check"),
        level_stands=True,
    ),
    StateSpec(
        G.PROMOTION,
        "晋位升级",
        phase=Phase.PROMOTION,
        records=(
            "special_report",
            "satisfaction_tally",
            "outside_opinion",
            "promotion_acceptance",
            "promotion_decision",
        ),
        level_stands=True,
    ),
    StateSpec(G.CLOSED, "结束", level_stands=True),
)
del G

# Derived, never retyped.
PHASE_OF_STATE: dict[str, str] = {s.name: s.phase for s in GRADING_STATES if s.phase}
STAGE_OF_RECORD: dict[str, str] = {r: s.name for s in GRADING_STATES for r in s.records}
LEVEL_STANDS: tuple[str, ...] = tuple(s.name for s in GRADING_STATES if s.level_stands)
UNDER_PUBLICITY: tuple[str, ...] = tuple(s.name for s in GRADING_STATES if s.noticed)
GRADING_STATE_LABELS: dict[str, str] = {s.name: s.label for s in GRADING_STATES}
# What each kind of stage record is called where people read it.
RECORD_LABELS: dict[str, str] = {
    "survey_entry": "调查摸底记录",
    "self_rating": "自评",
    "ballot_tally": "测评计票",
    "branch_opinion": "分类定级意见",
    "assessment": "上级评定",
    "decision": "定级决定",
    "veto_flags": "否决情形",
    "rectification_item": "整改事项",
    "rectification_helpers": "帮扶责任人",
    "rectification_plan": "整改方案",
    "special_report": "专项报告",
    "satisfaction_tally": "满意度测评",
    "outside_opinion": "同级意见",
    "rectification_pairing": "先进帮后进结对",
    "pairing_activity": "结对帮扶活动",
    "rectification_acceptance": "整改验收",
    "inspection_visit": "指导检查",
    "promotion_acceptance": "晋位升级验收",
    "promotion_decision": "晋位决定",
    "life_meeting": "组织生活会",
    "weak_measures": "较差组织处置措施",
    "exemplary": "典型经验",
    "self_check_report": "自查报告",
    "re_check": "复查",
    "strategy": "一组织一策",
}
PHASE_LABELS: dict[str, str] = {p: GRADING_STATE_LABELS[p] for p in Phase}


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class BallotSessionState(StrEnum):
    OPEN = "open"  # codes issued, ballots accepted
    CLOSED = "closed"  # no more ballots
    COUNTED = "counted"  # the box opened, tallies written
    VOIDED = "voided"  # not counted, with a reason (e.g. its box key is lost)


class ComplaintState(StrEnum):
    RECEIVED = "received"
    INVESTIGATING = "investigating"
    ANSWERED = "answered"


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SpotCheckState(StrEnum):
    PLANNED = "planned"  # the population fixed; the seed not yet known
    DRAWN = "drawn"  # the sample drawn from the seed, for good
    CHECKING = "checking"  # findings being recorded
    CONCLUDED = "concluded"  # every sampled grading has its finding


class PlanStatus(StrEnum):
    """A rectification plan (整改方案): its items are drafted, then a supervisor approves it."""

    DRAFTING = "drafting"
    APPROVED = "approved"  # its record is written: items are worked on, none is added


class ItemStatus(StrEnum):
    """A rectification item (整改项目)."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    CLOSED = "closed"  # 销号


# The grading transitions by which a spot check that finds falsification reopens a decided
# level, by the state the level stands in now (service.lifecycle.workflow declares them).
REOPENED_AFTER_SPOT_CHECK = {
    "reopen_after_spot_check": GradingState.RATED,
    "reopen_rectification_after_spot_check": GradingState.RECTIFICATION,
    "reopen_re_review_after_spot_check": GradingState.RE_REVIEW,
    "reopen_promotion_after_spot_check": GradingState.PROMOTION,
}


def values(vocabulary: Iterable[str]) -> list[str]:
    """The vocabulary's values in its order (a StrEnum's, or a spec's state names): what a
    schema's OneOf takes."""
    return [str(member) for member in vocabulary]


def one_of(column: str, vocabulary: Iterable[str]) -> str:
    """A CHECK constraint's text: `column` holds one of the vocabulary's values."""
    return f"{column} IN ({', '.join(repr(v) for v in values(vocabulary))})"


def is_(column: str, member: StrEnum, *, negated: bool = False) -> str:
    """A partial index's predicate: `column` is (or is not) one state."""
    return f"{column} {'<>' if negated else '='} '{member.value}'"
