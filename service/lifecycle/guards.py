"""The grading workflow's guards: each a stable code, a Chinese and English refusal, and the
check — whether the record a stage needs is there (stage data are versioned records, see
service.gradings.records), or one of the decision rules (service.decisions.rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from service.ballots.models import BallotSession, BallotSessionGrading
from service.calendar import local_date, notice_ends
from service.campaigns import procedure
from service.campaigns.models import Campaign
from service.decisions import meetings, rules
from service.gradings.models import Approval, RecordVersion
from service.gradings.records import latest_versions
from service.inspection.operations import rectification_accepted
from service.publicity.models import Complaint
from service.spotchecks.models import SpotCheckItem
from service.workflows.context import Check, GuardContext
from service.workflows.spec import Guard
from service.workflows.states import (
    ApprovalState,
    BallotSessionState,
    ComplaintState,
    ItemStatus,
)


def _has_record(record_type: str) -> Check:
    query = (
        select(RecordVersion.id)
        .where(
            RecordVersion.grading_id == bindparam("grading_id"),
            RecordVersion.record_type == record_type,
        )
        .limit(1)
    )

    def check(grading: Any, ctx: GuardContext) -> bool:
        if ctx.facts is not None and ctx.facts.grading_id == grading.id:
            return record_type in ctx.facts.record_types
        return ctx.session.scalar(query, {"grading_id": grading.id}) is not None

    return check


def _publicity_over(grading: Any, ctx: GuardContext) -> bool:
    """Publicity closes only after its last day."""
    ends = (
        grading.publicity_ends_on
        or notice_ends(
            local_date(grading.state_entered_at) or ctx.today, ctx.publicity_working_days
        )[0]
    )
    return ctx.today > ends


def _no_open_complaints(grading: Any, ctx: GuardContext) -> bool:
    open_complaint = ctx.session.scalar(
        select(Complaint.id)
        .where(
            Complaint.grading_id == grading.id,
            Complaint.state.in_((ComplaintState.RECEIVED, ComplaintState.INVESTIGATING)),
        )
        .limit(1)
    )
    if open_complaint is not None:
        return False
    pending = ctx.session.scalar(
        select(Approval.id).where(
            Approval.grading_id == grading.id,
            Approval.state == ApprovalState.PENDING,
            Approval.subject == "uphold_complaint",
        )
    )
    return pending is None


def _no_ballot_running(grading: Any, ctx: GuardContext) -> bool:
    """No ballot session over the grading is open, or closed and not yet counted: a meeting
    does not outlive the stage it was held for."""
    running = ctx.session.scalar(
        select(BallotSession.id)
        .join(BallotSessionGrading, BallotSessionGrading.session_id == BallotSession.id)
        .where(
            BallotSessionGrading.grading_id == grading.id,
            BallotSession.state.in_((BallotSessionState.OPEN, BallotSessionState.CLOSED)),
        )
        .limit(1)
    )
    return running is None


def _branch_opinion(grading: Any, ctx: GuardContext) -> bool:
    """The branch has formed its opinion from the ballot, where the campaign asks for it."""
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    if not procedure.branch_opinion_required(campaign.decision_config):
        return True
    return _has_record("branch_opinion")(grading, ctx)


def _rectification_closed(grading: Any, ctx: GuardContext) -> bool:
    items = latest_versions(ctx.session, grading.id, "rectification_item")
    return all(item.data.get("status") == ItemStatus.CLOSED for item in items)


SURVEY_RECORDED = Guard(
    "survey_recorded",
    "至少需要一条调查摸底记录",
    "the survey needs at least one entry",
    _has_record("survey_entry"),
)
SELF_RATING_SUBMITTED = Guard(
    "self_rating_submitted",
    "自评尚未填报",
    "the self-rating has not been entered",
    _has_record("self_rating"),
)
BALLOTS_COUNTED = Guard(
    "ballots_counted",
    "测评票尚未计票",
    "the ballots have not been counted",
    _has_record("ballot_tally"),
)
NO_BALLOT_RUNNING = Guard(
    "no_ballot_running",
    "还有测评场次未计票或未作废：测评会不能越过本环节",
    "a ballot session over this grading is still open or uncounted: count or void it first",
    _no_ballot_running,
)
BRANCH_OPINION_FORMED = Guard(
    "branch_opinion_formed",
    "基层党组织尚未依据测评结果形成分类定级意见",
    "the branch has not formed its opinion from the ballot",
    _branch_opinion,
)
ASSESSMENT_ENTERED = Guard(
    "assessment_entered",
    "上级量化考核评分尚未录入",
    "the superior's assessment scores are missing",
    _has_record("assessment"),
)
LEVEL_PROPOSED = Guard(
    "level_proposed", "尚未提出定级意见", "no level has been proposed", _has_record("decision")
)
PUBLICITY_PERIOD_OVER = Guard(
    "publicity_period_over", "公示期未满", "the publicity period has not ended", _publicity_over
)


def _falsification_found(grading: Any, ctx: GuardContext) -> bool:
    return (
        ctx.session.scalar(
            select(SpotCheckItem.id)
            .where(SpotCheckItem.grading_id == grading.id, SpotCheckItem.outcome == "falsified")
            .limit(1)
        )
        is not None
    )


FALSIFICATION_FOUND = Guard(
    "falsification_found",
    "抽查未发现弄虚作假",
    "no spot check found falsification in this grading",
    _falsification_found,
)
NO_OPEN_COMPLAINTS = Guard(
    "no_open_complaints", "仍有未办结的投诉", "a complaint is still open", _no_open_complaints
)
RECTIFICATION_CLOSED = Guard(
    "rectification_closed",
    "整改项目尚未全部销号",
    "not every rectification item is closed",
    _rectification_closed,
)
RECTIFICATION_ACCEPTED = Guard(
    "rectification_accepted",
    "指导检查组尚未验收整改",
    "the inspection group has not accepted the rectification (the campaign requires it)",
    lambda grading, ctx: rectification_accepted(ctx.session, grading),
)
DECISION_MEETING_HELD = Guard(
    "decision_meeting_held",
    "分类定级会议尚未研究确定该等次",
    "no recorded 分类定级会议 decided this level (the campaign requires it)",
    meetings.meeting_decided,
    explain=meetings.meeting_detail,
)
VETO_RESPECTED = Guard(
    "veto_respected",
    "存在一票否决情形，只能定为最低等次",
    "a veto applies: only the level it forces can be decided",
    rules.veto_respected,
)
NEW_ORG_NOT_TOP = Guard(
    "new_org_not_top",
    "新建党组织原则上不能评为最高等次（需申请例外）",
    "an organization founded after the cut-off cannot get the top level "
    "without an approved exception",
    rules.new_org_not_top,
)
SOURCE_THRESHOLDS = Guard(
    "source_thresholds",
    "评价来源得分未达到该等次的门槛",
    "a rating source is below the threshold this level needs",
    rules.source_thresholds_met,
)
QUOTA_CAP = Guard(
    "quota_cap",
    "该等次已达到比例上限",
    "this level's quota (cap) is reached",
    rules.within_cap,
    explain=rules.cap_detail,
    locks=True,
)
QUOTA_FLOORS = Guard(
    "quota_floors",
    "全部定级后，有等次低于比例下限（如较差不少于5%）",
    "with every grading decided, a level is below its floor (e.g. poor ≥ 5 %)",
    rules.floors_met,
)
PROMOTION_SETTLED = Guard(
    "promotion_settled",
    "晋位升级尚未作出结论",
    "the promotion is not settled",
    _has_record("promotion_decision"),
)
