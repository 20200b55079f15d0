"""The grading workflow's guards: each a named hook with a stable code and refusal texts.

Stage data (survey entries, self-rating, ballot tallies, assessments, decisions, rectification
items, promotion decisions) are versioned records (service.records); the guards ask whether the
record a stage needs is there. Later issues write those records through their own endpoints;
the checks here stay the contract. `HOOKS` can be replaced per code (tests do), so a stage can
tighten its rule without touching the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.workflows.spec import Guard


@dataclass
class GuardContext:
    session: Session
    today: date
    publicity_working_days: int
    for_update: bool = False  # True while firing: rules that count across gradings take locks


Check = Callable[[Any, GuardContext], bool]


def _has_record(record_type: str) -> Check:
    def check(grading: Any, ctx: GuardContext) -> bool:
        from service.records.models import RecordVersion

        found = ctx.session.scalar(
            select(RecordVersion.id)
            .where(RecordVersion.grading_id == grading.id, RecordVersion.record_type == record_type)
            .limit(1)
        )
        return found is not None

    return check


def _publicity_over(grading: Any, ctx: GuardContext) -> bool:
    """Publicity closes only after its last day."""
    from service.calendar import add_working_days

    ends = grading.publicity_ends_on or add_working_days(
        grading.state_entered_at.date(), ctx.publicity_working_days
    )
    return ctx.today > ends


def _no_open_complaints(grading: Any, ctx: GuardContext) -> bool:
    from service.gradings.models import Approval
    from service.publicity.models import Complaint

    open_complaint = ctx.session.scalar(
        select(Complaint.id)
        .where(
            Complaint.grading_id == grading.id, Complaint.state.in_(("received", "investigating"))
        )
        .limit(1)
    )
    if open_complaint is not None:
        return False
    pending = ctx.session.scalar(
        select(Approval.id).where(
            Approval.grading_id == grading.id,
            Approval.state == "pending",
            Approval.subject == "uphold_complaint",
        )
    )
    return pending is None


def _rectification_closed(grading: Any, ctx: GuardContext) -> bool:
    from service.records.operations import latest_versions

    items = latest_versions(ctx.session, grading.id, "rectification_item")
    return all(item.data.get("status") == "closed" for item in items)


HOOKS: dict[str, Check] = {
    "survey_recorded": _has_record("survey_entry"),
    "self_rating_submitted": _has_record("self_rating"),
    "ballots_counted": _has_record("ballot_tally"),
    "assessment_entered": _has_record("assessment"),
    "level_proposed": _has_record("decision"),
    "publicity_period_over": _publicity_over,
    "no_open_complaints": _no_open_complaints,
    "rectification_closed": _rectification_closed,
    "promotion_settled": _has_record("promotion_decision"),
}


def _decision_rule(code: str) -> Check:
    def check(grading: Any, ctx: GuardContext) -> bool:
        from service.decisions import rules

        return rules.CHECKS[code](grading, ctx)

    return check


for _code in (
    "veto_respected",
    "new_org_not_top",
    "source_thresholds",
    "quota_cap",
    "quota_floors",
):
    HOOKS[_code] = _decision_rule(_code)


def _guard(code: str, zh: str, en: str) -> Guard:
    return Guard(code, zh, en, lambda subject, ctx: HOOKS[code](subject, ctx))


SURVEY_RECORDED = _guard(
    "survey_recorded", "至少需要一条调查摸底记录", "the survey needs at least one entry"
)
SELF_RATING_SUBMITTED = _guard(
    "self_rating_submitted", "自评尚未填报", "the self-rating has not been entered"
)
BALLOTS_COUNTED = _guard("ballots_counted", "测评票尚未计票", "the ballots have not been counted")
ASSESSMENT_ENTERED = _guard(
    "assessment_entered", "上级量化考核评分尚未录入", "the superior's assessment scores are missing"
)
LEVEL_PROPOSED = _guard("level_proposed", "尚未提出定级意见", "no level has been proposed")
PUBLICITY_PERIOD_OVER = _guard(
    "publicity_period_over", "公示期未满", "the publicity period has not ended"
)
NO_OPEN_COMPLAINTS = _guard("no_open_complaints", "仍有未办结的投诉", "a complaint is still open")
RECTIFICATION_CLOSED = _guard(
    "rectification_closed", "整改项目尚未全部销号", "not every rectification item is closed"
)
VETO_RESPECTED = _guard(
    "veto_respected",
    "存在一票否决情形，只能定为最低等次",
    "a veto applies: only the level it forces can be decided",
)
NEW_ORG_NOT_TOP = _guard(
    "new_org_not_top",
    "新建党组织原则上不能评为最高等次（需申请例外）",
    "an organization founded after the cut-off cannot get the top level "
    "without an approved exception",
)
SOURCE_THRESHOLDS = _guard(
    "source_thresholds",
    "评价来源得分未达到该等次的门槛",
    "a rating source is below the threshold this level needs",
)
QUOTA_CAP = _guard("quota_cap", "该等次已达到比例上限", "this level's quota (cap) is reached")
QUOTA_FLOORS = _guard(
    "quota_floors",
    "全部定级后，有等次低于比例下限（如较差不少于5%）",
    "with every grading decided, a level is below its floor (e.g. poor ≥ 5 %)",
)
PROMOTION_SETTLED = _guard(
    "promotion_settled", "晋位升级尚未作出结论", "the promotion is not settled"
)
