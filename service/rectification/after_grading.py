"""The records the seed documents ask for once a level stands: the branch's 组织生活会 on its
grading (problems found, 经验教训), its 自查报告 (回头看: before and during 整改), the measures
taken for a 较差 organization (调整班子, 移送纪检司法, 工作组进驻, 选派第一书记) and an exemplary
organization's 典型经验 (总结宣传先进). Each is a versioned stage record: written once, corrected
with a reason (and a supervisor's approval outside its stage), audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from service.audit.operations import jsonable
from service.campaigns.models import Campaign
from service.context import Actor
from service.errors import StageNotOpen, ValidationFailed
from service.gradings import records
from service.gradings.models import Approval, Grading, RecordVersion
from service.standards.models import LevelScheme
from service.survey import classification
from service.workflows.states import GRADING_STATE_LABELS, LEVEL_STANDS, UNDER_PUBLICITY

MEASURES = {
    "adjust_leadership": "调整班子",
    "refer_to_discipline": "移送纪检司法机关",
    "work_team": "工作组进驻",
    "first_secretary": "选派第一书记",
}
AFTER_THE_LEVEL = tuple(s for s in LEVEL_STANDS if s not in UNDER_PUBLICITY)
SELF_CHECK_STATES = ("rectification", "re_review")


def _in(grading: Grading, states: tuple[str, ...], what: str, what_zh: str) -> None:
    if grading.state not in states:
        allowed = "、".join(GRADING_STATE_LABELS[s] for s in states)
        raise StageNotOpen(
            f"{what} is written while the grading is in {', '.join(states)}; it is in "
            f"{grading.state}",
            detail_zh=f"{what_zh}须在评定处于“{allowed}”时录入，现在是“"
            f"{GRADING_STATE_LABELS.get(grading.state, grading.state)}”",
            state=grading.state,
        )


def _levels(session: Session, grading: Grading) -> list[str]:
    campaign = session.get_one(Campaign, grading.campaign_id)
    return [lv.code for lv in session.get_one(LevelScheme, campaign.level_scheme_id).levels]


def _write(
    session: Session, actor: Actor, grading: Grading, record_type: str, body: Mapping[str, Any]
) -> RecordVersion | Approval:
    data = jsonable({k: v for k, v in body.items() if k != "reason"})
    return records.write(session, actor, grading, record_type, data, reason=body.get("reason"))


def life_meeting(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion | Approval:
    """组织生活会: the branch meets on its level once it stands."""
    _in(grading, AFTER_THE_LEVEL, "the 组织生活会", "组织生活会")
    return _write(session, actor, grading, "life_meeting", body)


def self_check_report(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion | Approval:
    """自查报告 (回头看): before and during 整改, not only after every item is closed; with it
    the organization may grade itself again against the standards (重新定级)."""
    _in(grading, SELF_CHECK_STATES, "the self-check report", "自查报告")
    regraded = body.get("regraded_level")
    if regraded is not None and regraded not in _levels(session, grading):
        raise ValidationFailed(
            "the re-grading names a level the campaign's scheme does not have",
            detail_zh="重新定级的等次不在本次活动的等次方案中",
            errors={"regraded_level": [f"not a level of the campaign: {regraded}"]},
        )
    return _write(session, actor, grading, "self_check_report", body)


def weak_measures(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion | Approval:
    """What the superior did about a 较差 organization."""
    _in(grading, AFTER_THE_LEVEL, "measures", "处置措施")
    if grading.level != _levels(session, grading)[-1]:
        raise ValidationFailed(
            "measures are recorded for an organization at the lowest level",
            detail_zh="处置措施只记录在最低等次（较差）的组织上",
            errors={"measures": ["only for the lowest level"]},
        )
    return _write(session, actor, grading, "weak_measures", body)


def strategy(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion | Approval:
    """一组织一策: the superior's plan for this organization, task by task (抓书记、强班子…)."""
    _in(grading, ("rectification", "re_review"), "the strategy", "一组织一策")
    campaign = session.get_one(Campaign, grading.campaign_id)
    known = classification.tasks(campaign.decision_config)
    classification.require_known("tasks", [t["task"] for t in body["tasks"]], known)
    return _write(session, actor, grading, "strategy", body)


def exemplary(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion | Approval:
    """典型经验 of an organization at the top level, to publicize (总结宣传先进)."""
    _in(grading, AFTER_THE_LEVEL, "an exemplary experience", "典型经验")
    if grading.level != _levels(session, grading)[0]:
        raise ValidationFailed(
            "an exemplary experience is recorded for an organization at the top level",
            detail_zh="典型经验只记录在最高等次（好）的组织上",
            errors={"experience": ["only for the top level"]},
        )
    return _write(session, actor, grading, "exemplary", body)
