"""The demo in motion, so that `make run` shows every page with something on it: 青石镇's three
village branches go the whole way to 公示 (survey, self-rating, a paper tally, the branch's
opinion, the superior's assessment, the township's 分类定级会议, a decision approved by the
supervisor), and the school's two organizations reach the ballot meeting: a session is open
and its codes wait to be used.

Everything goes through the same domain operations as the API, acted by the demo's accounts
(the county's reviewer, teller and supervisor), so the audit trail reads as it would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import calendar, demo
from service.accounts.models import Account
from service.ballots import operations as ballots
from service.ballots.models import BallotCode, BallotSession
from service.campaigns.models import Campaign
from service.context import Actor
from service.decisions import meetings
from service.decisions import operations as decisions
from service.gradings.models import Grading
from service.inspection import operations as inspection
from service.lifecycle import operations as gradings
from service.lifecycle import re_checks
from service.organizations.models import Organization
from service.rectification import after_grading
from service.rectification import operations as rectification
from service.reporting import operations as reporting
from service.scoring import operations as scoring
from service.standards.models import Standard
from service.survey import operations as survey
from service.workflows.states import BallotSessionState

# 青石镇: branch code -> (the level its scores reach, the total of its sheets)
NOTICED = {
    "YC-XL-QS-V01": ("good", "93.50"),
    "YC-XL-QS-V02": ("fairly_good", "86.00"),
    "YC-XL-QS-V03": ("average", "74.00"),
}
VOTING = ("YC-XL-SZ3", "YC-XL-SZ3-01")
DEDUCTED = Decimal("2.00")
BALLOT_TITLE = "兴隆县第三中学党员群众测评会"


@dataclass(frozen=True)
class Cast:
    reviewer: Actor
    teller: Actor
    supervisor: Actor
    secretary: Actor


def _actor(session: Session, username: str) -> Actor:
    account = session.scalars(select(Account).where(Account.username == username)).one()
    return Actor(account_id=account.id, username=username, role=None)


def _grading(session: Session, campaign: Campaign, code: str) -> Grading:
    return session.scalars(
        select(Grading)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Grading.campaign_id == campaign.id, Organization.code == code)
    ).one()


def sheet(standard: Standard, total: Decimal) -> list[dict[str, object]]:
    """Scores per indicator adding up to `total` of 100, each within its maximum."""
    scores: list[dict[str, object]] = []
    remaining = total
    for n, indicator in enumerate(standard.indicators):
        share = (
            remaining
            if n == len(standard.indicators) - 1
            else (indicator.max_points * total / 100).quantize(Decimal("0.01"), ROUND_DOWN)
        )
        remaining -= share
        entry: dict[str, object] = {"indicator": indicator.code, "evidence": "见台账"}
        if indicator.sub_items:
            left, subs = share, []
            for m, sub in enumerate(indicator.sub_items):
                part = (
                    left
                    if m == len(indicator.sub_items) - 1
                    else (sub.max_points * share / indicator.max_points).quantize(
                        Decimal("0.01"), ROUND_DOWN
                    )
                )
                left -= part
                subs.append({"code": sub.code, "score": part})
            entry["sub_items"] = subs
        else:
            entry["score"] = share
        scores.append(entry)
    return scores


def _to_evaluation(
    session: Session, cast: Cast, grading: Grading, total: Decimal, level: str
) -> None:
    standard = session.get_one(Standard, grading.standard_id)
    survey.add_survey_entry(
        session,
        cast.reviewer,
        grading,
        {
            "method": "meeting",
            "date": calendar.today(),
            "problems": ["党员教育不够经常"],
            "problem_categories": ["党建工作类"],
            "areas": {
                "setup": {"finding": "yes"},
                "leadership": {"finding": "yes"},
                "systems": {"finding": "partly", "note": "学习制度执行不严"},
            },
            "suggestions": ["每月开展一次主题党日"],
        },
    )
    gradings.request_transition(session, cast.reviewer, grading, "open_self_rating", None)
    scoring.write_sheet(
        session,
        cast.secretary,
        grading,
        "self_rating",
        {
            "scores": sheet(standard, total),
            "proposed_level": level,
            "explanation": "对照七项指标逐项自评，工作业绩和群众评价两项略有差距",
            "work_report": "一年来，支部坚持“三会一课”，开展主题党日12次，"
            "党员结对帮扶困难群众15户，为群众办实事8件。",
        },
    )
    gradings.request_transition(session, cast.secretary, grading, "submit_self_rating", None)


def _to_review(session: Session, cast: Cast, grading: Grading, level: str, total: Decimal) -> None:
    """Through evaluation (a paper tally of the meeting, the branch's opinion) to the
    superior's assessment and the reviewer's proposal."""
    _to_evaluation(session, cast, grading, total, level)
    ballots.paper_tally(
        session,
        cast.teller,
        grading,
        {
            "categories": [
                {
                    "code": "members",
                    "present": 19,
                    "issued": 19,
                    "returned": 19,
                    "invalid": 0,
                    "distribution": {level: 19},
                },
                {
                    "code": "public_reps",
                    "present": 10,
                    "issued": 10,
                    "returned": 10,
                    "invalid": 0,
                    "distribution": {level: 10},
                },
            ]
        },
    )
    scoring.form_opinion(
        session,
        cast.secretary,
        grading,
        {
            "level": level,
            "opinion": "依据测评结果，支部委员会研究提出定级意见",
            "met_on": calendar.today(),
        },
    )
    gradings.request_transition(session, cast.teller, grading, "close_evaluation", None)
    standard = session.get_one(Standard, grading.standard_id)
    assessed: dict[str, object] = {"scores": sheet(standard, total), "note": "量化考核"}
    if level == "average":  # one deduction item, entered in the 明细表 (扣分项目明细登记)
        deduction = next(a for a in standard.adjustments if a.kind == "deduction")
        assessed = {
            "scores": sheet(standard, total + DEDUCTED),
            "adjustments": [{"code": deduction.code, "points": DEDUCTED}],
            "note": "量化考核；党员发展程序不规范，扣2分",
        }
    scoring.write_sheet(session, cast.reviewer, grading, "assessment", assessed)
    decisions.propose(session, cast.reviewer, grading, {"level": level})


def _decided(session: Session, cast: Cast, grading: Grading) -> None:
    outcome = gradings.request_transition(
        session, cast.reviewer, grading, "decide", "青石镇分类定级会议研究"
    )
    assert outcome.approval is not None
    gradings.settle_approval(
        session, cast.supervisor, outcome.approval, approve=True, comment="同意"
    )


def _meeting(
    session: Session, cast: Cast, campaign: Campaign, noticed: list[tuple[Grading, str]]
) -> None:
    """青石镇党委's 分类定级会议, chaired by its secretary, deciding the three levels."""
    first = session.get_one(Organization, noticed[0][0].organization_id)
    assert first.parent_id is not None
    committee = session.get_one(Organization, first.parent_id)
    chair = committee.secretary or "青石镇党委书记"
    meetings.record_meeting(
        session,
        cast.reviewer,
        campaign,
        committee,
        [(g, session.get_one(Organization, g.organization_id)) for g, _ in noticed],
        {
            "held_on": calendar.today(),
            "chaired_by": chair,
            "attendees": [chair, "镇党委副书记", "组织委员", "宣传委员", "纪委书记"],
            "minutes": "综合上级考核结果、测评结果和基层党组织自我评定意见，逐个研究确定等级。",
            "results": [{"grading_id": g.id, "level": level} for g, level in noticed],
        },
    )


def stage(session: Session, *, box_secret: str) -> None:
    """青石镇 under publicity, its tables reported upward; the school's ballot meeting open."""
    campaign = session.scalars(select(Campaign).order_by(Campaign.id)).first()
    assert campaign is not None, "load the demo first"
    cast = Cast(
        reviewer=_actor(session, "county.reviewer"),
        teller=_actor(session, "county.teller"),
        supervisor=_actor(session, "county.supervisor"),
        secretary=Actor.system("demo"),
    )
    noticed = [(_grading(session, campaign, code), level) for code, (level, _) in NOTICED.items()]
    for (grading, level), (_, total) in zip(noticed, NOTICED.values(), strict=True):
        _to_review(session, cast, grading, level, Decimal(total))
    _meeting(session, cast, campaign, noticed)
    for grading, _ in noticed:
        _decided(session, cast, grading)
    last_year(session, cast)
    # 青石镇 reports its levels upward (上报), signed off by its secretary
    township = session.scalars(select(Organization).where(Organization.code == "YC-XL-QS")).one()
    reporting.submit(
        session, cast.reviewer, campaign, township, "grading_tables", "青石镇党委书记 李国强", None
    )
    _guided(session, cast, campaign)
    voting = [_grading(session, campaign, code) for code in VOTING]
    for grading in voting:
        _to_evaluation(session, cast, grading, Decimal("88.00"), "fairly_good")
    ballots.open_session(
        session,
        cast.teller,
        campaign,
        [(g, session.get_one(Organization, g.organization_id)) for g in voting],
        {
            "title": BALLOT_TITLE,
            "categories": [{"code": "members", "issued": 16}, {"code": "public_reps", "issued": 6}],
        },
        box_secret=box_secret,
    )


def _guided(session: Session, cast: Cast, campaign: Campaign) -> None:
    """每个支部安排了指导组进行指导: 凤凰镇's branches have the county's 指导组 while they are
    graded, and it has been to the first village during the survey."""
    town = session.scalars(select(Organization).where(Organization.code == "YC-XL-FH")).one()
    inspector = _actor(session, "county.inspector")
    inspection.create_group(
        session,
        cast.reviewer,
        campaign,
        {"name": "凤凰镇分类定级指导组", "leader": inspector.username, "covers": [town.id]},
    )
    inspection.add_visit(
        session,
        inspector,
        _grading(session, campaign, "YC-XL-FH-V01"),
        {
            "visited_on": calendar.today(),
            "purpose": "调查摸底",
            "notes": "深入党员群众，听取对支部班子和活动阵地的意见建议",
        },
    )


# 青石镇's own campaign of last year (the seeds' townships graded their branches themselves),
# walked through by the real operations: its levels, and what a level brings after it.
LAST_YEAR = {
    "YC-XL-QS-V01": ("good", "92.00"),
    "YC-XL-QS-V02": ("average", "74.00"),
    "YC-XL-QS-V03": ("poor", "55.00"),
}
DAY = 86400.0


def last_year(session: Session, cast: Cast) -> Campaign:
    """青石镇党委's campaign of last year: decided, noticed and rated about a year ago, each
    branch's 组织生活会 held on its level, the 较差 one's measures, helpers, 一组织一策 and an
    approved rectification plan (public at /plans), the middle one's 自查报告 — in 整改; the
    好 one (its 典型经验 publicized) rectified, accepted, in 回头看 and confirmed by a work
    group's 复查. Run with the calendar's clock set back, so that its 公示 ended long ago."""
    current = session.scalars(select(Campaign).order_by(Campaign.id)).first()
    assert current is not None, "load the demo first"
    township = session.scalars(select(Organization).where(Organization.code == "YC-XL-QS")).one()
    standards = {s.domain: s.standard_id for s in current.standards}
    now = calendar.clock
    try:
        calendar.clock = lambda: now() - 400 * DAY
        year = calendar.today().year
        # three branches: a 20 % cap on 好 would allow none (the township set no quota)
        held = demo.campaign(
            session, cast.reviewer, township, standards, year, "青石镇", good_share=None
        )
        graded = [(_grading(session, held, code), level) for code, (level, _) in LAST_YEAR.items()]
        for (grading, level), (_, total) in zip(graded, LAST_YEAR.values(), strict=True):
            _to_review(session, cast, grading, level, Decimal(total))
        _meeting(session, cast, held, graded)
        for grading, _ in graded:
            _decided(session, cast, grading)
        calendar.clock = lambda: now() - 380 * DAY
        for grading, _ in graded:
            gradings.request_transition(session, cast.reviewer, grading, "finalize", None)
            _after_the_level(session, cast, grading)
        calendar.clock = lambda: now() - 200 * DAY
        _rectified_and_re_checked(session, cast, held, graded[0][0])
        inspection.add_visit(  # the group looks in on the 较差 branch's 整改
            session,
            _actor(session, "county.inspector"),
            graded[2][0],
            {
                "visited_on": calendar.today(),
                "purpose": "整改提高",
                "notes": "查看整改台账和第一书记工作日志，要求每月报送进度",
            },
        )
    finally:
        calendar.clock = now
    return held


def _rectified_and_re_checked(
    session: Session, cast: Cast, held: Campaign, grading: Grading
) -> None:
    """The 好 branch: its one item closed (销号), the county's inspection group accepts the
    rectification (检查验收), 回头看 begins, and a work group's 复查 confirms the level."""
    today = calendar.today()
    rectification.add_item(
        session,
        cast.secretary,
        grading,
        {
            "problem": "党员教育管理不够经常",
            "cause": "流动党员多",
            "measure": "建立流动党员微信群，每月线上学习",
            "target": "流动党员每月参学率达到90%",
            "deadline": date.fromordinal(today.toordinal() + 60),
            "responsible": "组织委员",
            "category": "党建工作类",
            "term": "near",
        },
    )
    rectification.approve_plan(session, cast.supervisor, grading)
    rectification.step(session, cast.secretary, grading, "I1", "start", {})
    evidence = {"evidence": "流动党员学习记录（3—5月）"}
    rectification.step(session, cast.secretary, grading, "I1", "submit", evidence)
    rectification.step(session, cast.reviewer, grading, "I1", "close", {})
    inspector = _actor(session, "county.inspector")
    inspection.create_group(
        session,
        cast.reviewer,
        held,
        {
            "name": "兴隆县委指导检查组",
            "leader": inspector.username,
            "covers": [held.organization_id],
        },
    )
    inspection.accept(
        session,
        inspector,
        grading,
        "rectification",
        {"conclusion": "accepted", "findings": "整改项目已销号，台账齐全", "accepted_on": today},
    )
    gradings.request_transition(session, cast.reviewer, grading, "start_re_review", None)
    rows = [(grading, {"outcome": "confirmed", "findings": ["整改到位，维持原定等次"]})]
    re_checks.check_rows(session, held, rows)
    group = {"name": "兴隆县委复查工作组", "leader": "县委组织部副部长", "members": ["组织科科长"]}
    re_checks.write_sheet(session, cast.reviewer, group, today, rows)


def _after_the_level(session: Session, cast: Cast, grading: Grading) -> None:
    today = calendar.today()
    after_grading.life_meeting(
        session,
        cast.secretary,
        grading,
        {
            "held_on": today,
            "chaired_by": "支部书记",
            "attendees": ["支部书记", "组织委员", "宣传委员", "党员代表"],
            "problems_found": ["三会一课记录不全", "为民办事跟踪不够"],
            "lessons": "对照定级结果查摆问题，组织生活要经常、认真、严肃",
        },
    )
    if grading.level == "good":
        after_grading.exemplary(
            session,
            cast.reviewer,
            grading,
            {
                "experience": "“党员联系户”全覆盖，每名党员联系5至8户群众，群众事有人管",
                "publicized_on": today,
                "channels": "兴隆党建微信公众号、全县现场推进会",
            },
        )
    gradings.request_transition(session, cast.reviewer, grading, "start_rectification", None)
    if grading.level == "average":
        after_grading.self_check_report(
            session,
            cast.secretary,
            grading,
            {
                "written_on": today,
                "report": "对照七项指标自查，班子团结但发展思路不够清晰，已制定整改方案。",
                "findings": ["发展思路不清"],
                "regraded_level": grading.level,  # 对照标准重新定级: still 一般
            },
        )
    if grading.level != "poor":
        return
    after_grading.weak_measures(
        session,
        cast.reviewer,
        grading,
        {
            "measures": [
                {"kind": "adjust_leadership", "taken_on": today, "description": "调整支部书记"},
                {"kind": "first_secretary", "taken_on": today, "description": "选派第一书记"},
            ]
        },
    )
    rectification.assign_helpers(
        session,
        cast.reviewer,
        grading,
        {
            "paired_leader": "青石镇党委书记",
            "liaison": "镇组织委员",
            "first_secretary": "县派第一书记",
        },
    )
    after_grading.strategy(
        session,
        cast.reviewer,
        grading,
        {
            "tasks": [
                {
                    "task": "抓书记、强班子",
                    "goal": "选好配强支部书记",
                    "measures": ["县派第一书记驻村", "新任书记集中培训"],
                    "term": "near",
                }
            ]
        },
    )
    rectification.add_item(
        session,
        cast.secretary,
        grading,
        {
            "problem": "班子软弱涣散，三会一课不经常",
            "cause": "书记年龄偏大，后备力量不足",
            "measure": "调整书记，每月固定主题党日",
            "target": "全年三会一课记录齐全",
            "deadline": date.fromordinal(today.toordinal() + 180),
            "responsible": "支部书记",
            "category": "党建工作类",
            "task": "抓书记、强班子",
            "term": "near",
            "priority": "urgent",
        },
    )
    rectification.approve_plan(session, cast.supervisor, grading)


def unused_code(session: Session) -> str | None:
    """A code of the demo's open ballot meeting that nobody has used yet (for `make run`)."""
    return session.scalar(
        select(BallotCode.code)
        .join(BallotSession, BallotSession.id == BallotCode.session_id)
        .where(
            BallotSession.title == BALLOT_TITLE,
            BallotSession.state == BallotSessionState.OPEN,
            BallotCode.used.is_(False),
        )
        .order_by(BallotCode.id)
        .limit(1)
    )
