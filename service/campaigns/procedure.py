"""The procedure a campaign keeps — the seed documents' by default.

The seeds rest on separation: 上级党委派专人负责测评票的发放、回收、统计; 上级党委评定 (量化考核);
满意度测评会由上级党组织主持; 党委召开分类定级会议研究确定. So the superior's duties are done by
someone holding the role on a committee strictly above the graded organization, and never by
anyone homed inside it. The branch forms its own opinion from the ballot (依据测评结果形成分类定
级意见，并报上级审核), and the committee decides in a recorded meeting.

A campaign's `decision_config` may relax a duty (`duties: {"ballot": "in_scope"}`) or a record
(`branch_opinion: false`, `decision_meeting: false`); what it does not say is the seeds' rule —
so a campaign created before these rules existed keeps them too (docs/decisions/0033).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Duty(StrEnum):
    """Work the seed documents give to the superior committee."""

    SURVEY = "survey"  # 调查摸底: the survey ledger
    BALLOT = "ballot"  # 测评: codes, attendance, closing, counting, paper tallies
    ASSESSMENT = "assessment"  # 上级评定: the quantitative assessment
    SATISFACTION = "satisfaction"  # 群众满意度测评会 before a promotion
    DECISION = "decision"  # 分类定级会议: vetoes, the proposed level, the meeting, decide


class Holder(StrEnum):
    """Who may do a duty for a graded organization."""

    SUPERIOR = "superior"  # a grant on a committee strictly above it (the seeds)
    IN_SCOPE = "in_scope"  # any grant covering it (never someone homed inside it)


DUTY_LABELS: dict[Duty, tuple[str, str]] = {
    Duty.SURVEY: ("调查摸底", "the survey"),
    Duty.BALLOT: ("测评票的发放、回收、统计", "issuing, collecting and counting the ballots"),
    Duty.ASSESSMENT: ("上级党委评定（量化考核）", "the superior's assessment"),
    Duty.SATISFACTION: ("群众满意度测评会", "the satisfaction meeting"),
    Duty.DECISION: ("分类定级会议研究确定等级", "deciding the level"),
}

# The stage records each duty writes (a correction's approver holds the duty too).
DUTY_OF_RECORD: dict[str, Duty] = {
    "survey_entry": Duty.SURVEY,
    "ballot_tally": Duty.BALLOT,
    "assessment": Duty.ASSESSMENT,
    "veto_flags": Duty.DECISION,
    "decision": Duty.DECISION,
    "satisfaction_tally": Duty.SATISFACTION,
    "promotion_decision": Duty.DECISION,
    "re_check": Duty.DECISION,  # 复查: the superior's work group re-checks the level
}


def _config(decision_config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return decision_config or {}


def holder(decision_config: Mapping[str, Any] | None, duty: Duty) -> Holder:
    """Who may do `duty` in a campaign of this configuration (the seeds: the superior)."""
    return Holder((_config(decision_config).get("duties") or {}).get(duty, Holder.SUPERIOR))


def branch_opinion_required(decision_config: Mapping[str, Any] | None) -> bool:
    """Evaluation closes only after the branch has formed its opinion (the seeds: yes)."""
    return bool(_config(decision_config).get("branch_opinion", True))


def decision_meeting_required(decision_config: Mapping[str, Any] | None) -> bool:
    """A level is decided only as a recorded 分类定级会议 decided it (the seeds: yes)."""
    return bool(_config(decision_config).get("decision_meeting", True))


def effective(decision_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The procedure as it applies: every duty's holder and both records' requirement."""
    return {
        "duties": {duty.value: holder(decision_config, duty).value for duty in Duty},
        "branch_opinion": branch_opinion_required(decision_config),
        "decision_meeting": decision_meeting_required(decision_config),
    }
