"""分类定级会议: recording the committee's meeting, and what the `decide` guard reads of it.

A meeting is held by a committee above every organization it decides, while their gradings are
in superior review; it names its date, chair, attendees, minutes and a level per grading. A level
is decided (`decide`) only as the latest meeting since the grading entered superior review
decided it — unless the campaign sets decision_config.decision_meeting to false."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.audit.operations import record
from service.campaigns import procedure
from service.campaigns.models import Campaign
from service.context import Actor
from service.decisions import rules
from service.decisions.models import DecisionMeeting, DecisionMeetingResult
from service.errors import StageNotOpen, ValidationFailed
from service.gradings.models import Grading
from service.organizations.models import Organization, OrgKind
from service.standards.models import LevelScheme
from service.workflows.context import GuardContext
from service.workflows.states import GradingState


def snapshot(meeting: DecisionMeeting) -> dict[str, Any]:
    """What the trail keeps of a meeting (and what its replay compares)."""
    return {
        "campaign_id": meeting.campaign_id,
        "organization_id": meeting.organization_id,
        "held_on": meeting.held_on.isoformat(),
        "chaired_by": meeting.chaired_by,
        "attendees": list(meeting.attendees),
        "minutes": meeting.minutes,
        "corrects_id": meeting.corrects_id,
        "results": [{"grading_id": r.grading_id, "level": r.level} for r in meeting.results],
    }


def record_meeting(
    session: Session,
    actor: Actor,
    campaign: Campaign,
    committee: Organization,
    gradings: Sequence[tuple[Grading, Organization]],
    data: Mapping[str, Any],
) -> DecisionMeeting:
    """Record a 分类定级会议 once: 422 naming each field that does not fit, 409 for a grading
    that is not in superior review."""
    errors: dict[str, list[str]] = {}
    if committee.kind == OrgKind.BRANCH:
        errors["organization_id"] = ["a branch does not decide levels: its superior does"]
    scheme = session.get_one(LevelScheme, campaign.level_scheme_id)
    levels = {lv.code for lv in scheme.levels}
    seen: set[int] = set()
    for n, ((grading, org), result) in enumerate(zip(gradings, data["results"], strict=True)):
        field = f"results.{n}"
        if grading.id in seen:
            errors[f"{field}.grading_id"] = ["each grading once"]
        seen.add(grading.id)
        if grading.campaign_id != campaign.id:
            errors[f"{field}.grading_id"] = ["belongs to another campaign"]
        elif org.path == committee.path or not org.path.startswith(committee.path):
            errors[f"{field}.grading_id"] = [f"{org.name} is not below {committee.name}"]
        if result["level"] not in levels:
            errors[f"{field}.level"] = [f"choose one of {', '.join(sorted(levels))}"]
    attendees = list(dict.fromkeys(data["attendees"]))
    if data["chaired_by"] not in attendees:
        errors["chaired_by"] = ["the chair is one of the attendees"]
    corrects = None
    if data.get("corrects_id") is not None:
        corrects = session.get(DecisionMeeting, data["corrects_id"])
        if corrects is None or corrects.campaign_id != campaign.id:
            errors["corrects_id"] = ["no such meeting in this campaign"]
        if not (data.get("reason") or "").strip():
            errors["reason"] = ["say why this record corrects another"]
    elif data.get("reason"):
        errors["reason"] = ["only a record that corrects another gives a reason"]
    if errors:
        raise ValidationFailed("the meeting record does not fit", errors=errors)
    not_ready = [g.id for g, _ in gradings if g.state != GradingState.SUPERIOR_REVIEW]
    if not_ready:
        raise StageNotOpen(
            f"gradings {', '.join(map(str, not_ready))} are not in superior review: the meeting "
            "decides levels under review",
            grading_ids=not_ready,
        )
    meeting = DecisionMeeting(
        campaign_id=campaign.id,
        organization_id=committee.id,
        held_on=data["held_on"],
        chaired_by=data["chaired_by"],
        attendees=attendees,
        minutes=data["minutes"],
        corrects_id=corrects.id if corrects else None,
        reason=data.get("reason"),
        recorded_by=actor.username,
        results=[
            DecisionMeetingResult(grading_id=g.id, level=r["level"])
            for (g, _), r in zip(gradings, data["results"], strict=True)
        ],
    )
    session.add(meeting)
    session.flush()
    record(
        session,
        actor,
        "decision_meeting.record",
        "decision_meeting",
        meeting.id,
        organization_id=committee.id,
        after=snapshot(meeting),
        reason=meeting.reason,
    )
    return meeting


def latest_decided(session: Session, grading: Grading) -> tuple[int, str] | None:
    """(meeting id, level) of the latest meeting that decided the grading since it last entered
    superior review; None if no meeting has."""
    row = session.execute(
        select(DecisionMeetingResult.meeting_id, DecisionMeetingResult.level)
        .join(DecisionMeeting, DecisionMeeting.id == DecisionMeetingResult.meeting_id)
        .where(
            DecisionMeetingResult.grading_id == grading.id,
            DecisionMeeting.recorded_at >= grading.state_entered_at,
        )
        .order_by(DecisionMeeting.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _required(session: Session, grading: Grading) -> bool:
    campaign = session.get_one(Campaign, grading.campaign_id)
    return procedure.decision_meeting_required(campaign.decision_config)


def meeting_decided(grading: Grading, ctx: GuardContext) -> bool:
    """The level proposed is the level the 分类定级会议 decided (where the campaign asks)."""
    if not _required(ctx.session, grading):
        return True
    decided = latest_decided(ctx.session, grading)
    return decided is not None and decided[1] == rules.proposed_level(ctx.session, grading)


def meeting_detail(grading: Grading, ctx: GuardContext) -> str | None:
    decided = latest_decided(ctx.session, grading)
    if decided is None:
        return "no 分类定级会议 has decided it since it entered superior review"
    proposed = rules.proposed_level(ctx.session, grading)
    return f"meeting {decided[0]} decided {decided[1]}; the proposed level is {proposed}"


def in_campaign(principal: Principal, campaign: Campaign) -> Any:
    """The campaign's 分类定级会议 held by committees the caller sees."""
    return (
        select(DecisionMeeting)
        .join(Organization, Organization.id == DecisionMeeting.organization_id)
        .where(
            DecisionMeeting.campaign_id == campaign.id,
            principal.visible_filter(Organization.path),
        )
    )
