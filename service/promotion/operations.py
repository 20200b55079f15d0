"""晋位升级: a weak organization that closed every rectification item may rise by one level,
after a satisfaction evaluation (群众满意度测评) and its secretary's special report (专项述职)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from service.audit.operations import jsonable, record
from service.campaigns.models import Campaign
from service.context import Actor
from service.decisions.rules import forced_level
from service.errors import NotFound, NotPromotable, ValidationFailed
from service.gradings import records
from service.gradings.models import Grading, RecordVersion
from service.inspection.operations import acceptance_reasons
from service.rectification.operations import needs_helpers
from service.scores import round_score
from service.scoring.composite import ballot_source_values
from service.standards.models import LevelScheme
from service.workflows.states import GradingState, ItemStatus

DEFAULT_MIN_SATISFACTION = Decimal(80)


def file_report(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion:
    grading.require_stage(GradingState.PROMOTION, "the special report")
    written = records.write(
        session,
        actor,
        grading,
        "special_report",
        dict(body),
        reason=body.get("reason")
        or ("修改述职" if records.current(session, grading.id, "special_report", "main") else None),
    )
    assert isinstance(written, RecordVersion)
    return written


def satisfaction(session: Session, grading: Grading) -> Decimal | None:
    """Points per valid satisfaction ballot (0–100) over every counted session, or None; exact
    until the one rounding (725/8 = 90.625 → 90.63)."""
    tallies = [t.data for t in records.latest_versions(session, grading.id, "satisfaction_tally")]
    values = ballot_source_values(tallies).values()
    earned = sum((v.value * v.ballots for v in values), Fraction(0))
    count = sum(v.ballots for v in values)
    return round_score(earned / count) if count else None


def opinion_bodies(campaign: Campaign) -> list[dict[str, str]]:
    """The bodies whose written opinion a promotion needs (the campaign's decision_config)."""
    return list((campaign.decision_config or {}).get("promotion_opinions") or [])


def record_opinion(
    session: Session, actor: Actor, grading: Grading, code: str, body: Mapping[str, Any]
) -> RecordVersion:
    """The written opinion of a body the campaign names (征求同级意见), as received."""
    grading.require_stage(GradingState.PROMOTION, "an opinion on the promotion")
    campaign = session.get_one(Campaign, grading.campaign_id)
    named = {b["code"]: b["name"] for b in opinion_bodies(campaign)}
    if code not in named:
        raise NotFound(f"the campaign asks no opinion of a body {code!r}")
    written = records.write(
        session,
        actor,
        grading,
        "outside_opinion",
        {"body": named[code], **jsonable({k: v for k, v in body.items() if k != "reason"})},
        key=code,
        reason=body.get("reason"),  # a changed opinion says why (422 without)
    )
    assert isinstance(written, RecordVersion)
    return written


def opinions(session: Session, grading: Grading, campaign: Campaign) -> list[dict[str, Any]]:
    """Each body the campaign names, with its opinion as recorded (None: not received)."""
    found = []
    for body in opinion_bodies(campaign):
        current = records.current(session, grading.id, "outside_opinion", body["code"])
        found.append({**body, "opinion": current.data if current else None})
    return found


def _opinion_reasons(session: Session, grading: Grading, campaign: Campaign) -> list[str]:
    reasons = []
    for entry in opinions(session, grading, campaign):
        if entry["opinion"] is None:
            reasons.append(f"opinion_missing:{entry['code']}")
        elif not entry["opinion"]["favourable"]:
            reasons.append(f"opinion_against:{entry['code']}")
    return reasons


def give_verdict(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion:
    """The promotion's verdict: the level stays, or rises one step when every condition holds."""
    grading.require_stage(GradingState.PROMOTION, "the promotion verdict")
    campaign = session.get_one(Campaign, grading.campaign_id)
    scheme = session.get_one(LevelScheme, campaign.level_scheme_id)
    positions = {lv.code: lv.position for lv in scheme.levels}
    target, current = body["level"], grading.level
    if target not in positions:
        raise ValidationFailed("not a level of the scheme", errors={"level": ["unknown level"]})
    data: dict[str, Any] = {"from": current, "to": target, "reason": body.get("reason")}
    if target != current:
        if current is None or not needs_helpers(session, grading):
            raise NotPromotable(
                "only organizations in the two lowest levels are promoted", reasons=["not_eligible"]
            )
        if positions[target] != positions[current] - 1:
            raise ValidationFailed(
                "a promotion raises the level by exactly one step",
                errors={"level": [f"from {current} only one step up is allowed"]},
            )
        reasons = []
        items = records.latest_versions(session, grading.id, "rectification_item")
        if any(i.data["status"] != ItemStatus.CLOSED for i in items):
            reasons.append("rectification_items_open")
        if records.current(session, grading.id, "special_report", "main") is None:
            reasons.append("special_report_missing")
        score = satisfaction(session, grading)
        threshold = Decimal(
            str(
                (campaign.decision_config or {}).get(
                    "promotion_min_satisfaction", DEFAULT_MIN_SATISFACTION
                )
            )
        )
        if score is None or score < threshold:
            reasons.append("satisfaction_below_threshold")
        if forced_level(session, grading, campaign) is not None:
            reasons.append("veto")
        opinions_refused = _opinion_reasons(session, grading, campaign)
        reasons += opinions_refused
        acceptance = acceptance_reasons(session, grading, campaign)
        reasons += list(acceptance)
        if reasons:
            # an opinion's reason names its body: opinion_missing:LG (领导小组), an
            # acceptance's its group: acceptance_missing (第一指导检查组)
            names = {b["code"]: b["name"] for b in opinion_bodies(campaign)}
            labels = {r: names[r.partition(":")[2]] for r in opinions_refused} | acceptance
            told = [f"{r} ({labels[r]})" if r in labels else r for r in reasons]
            raise NotPromotable(
                f"the level cannot rise: {', '.join(told)} "
                f"(satisfaction {score}, needs {threshold})",
                reasons=reasons,
            )
        data["satisfaction"] = str(score)
        if not (body.get("reason") or "").strip():
            raise ValidationFailed("a promotion says why", errors={"reason": ["required"]})
    written = records.write(
        session,
        actor,
        grading,
        "promotion_decision",
        data,
        reason=body.get("reason")
        if records.current(session, grading.id, "promotion_decision", "main")
        else None,
    )
    assert isinstance(written, RecordVersion)
    if target != current:
        version = grading.version
        grading.level = target
        session.flush()
        record(  # the version too: replaying the trail must land on the row's (docs/audit-trail)
            session,
            actor,
            "grading.promote",
            "grading",
            grading.id,
            organization_id=grading.organization_id,
            before={"level": current, "version": version},
            after={"level": target, "version": grading.version},
            reason=body.get("reason"),
        )
    return written
