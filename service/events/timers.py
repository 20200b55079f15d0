"""Timers: what the calendar makes happen. Each run looks at today (Beijing date) and writes an
event for every grading whose stage is due within three days or overdue, every rectification
item past its deadline and every notice period that has ended — each once, ever: the event's
dedup key (grading, stage, due date) is unique, so two workers or a hundred runs write one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.campaigns.models import Campaign, CampaignPhase
from service.events import outbox
from service.gradings.models import Grading, RecordVersion
from service.organizations.models import Organization
from service.workflows.states import (
    PHASE_LABELS,
    PHASE_OF_STATE,
    UNDER_PUBLICITY,
    CampaignStatus,
    GradingState,
)

DUE_SOON_DAYS = 3


@dataclass(frozen=True)
class Reminder:
    """A new due-soon or overdue event, for the e-mail step."""

    type: str
    organization_id: int
    organization_name: str
    contact_email: str | None
    text: str


def _once(
    session: Session, type_: str, subject: str, org: int, data: dict[str, object], key: str
) -> bool:
    """Write the event unless one with `key` exists; True only for the run that wrote it."""
    return outbox.emit(session, type_, subject, org, data, dedup_key=key)


def _phases(session: Session, today: date) -> list[Reminder]:
    states_of: dict[str, list[str]] = {}
    for state, phase in PHASE_OF_STATE.items():
        states_of.setdefault(phase, []).append(state)
    found = []
    phases = session.execute(
        select(CampaignPhase.campaign_id, CampaignPhase.phase, CampaignPhase.due_on, Campaign.name)
        .join(Campaign, Campaign.id == CampaignPhase.campaign_id)
        .where(
            Campaign.status == CampaignStatus.OPEN,
            CampaignPhase.due_on <= today + timedelta(days=DUE_SOON_DAYS),
        )
    ).all()
    for campaign_id, phase, due_on, campaign_name in phases:
        late = due_on < today
        type_ = "campaign.phase_overdue" if late else "campaign.phase_due_soon"
        gradings = session.execute(
            select(
                Grading.id, Grading.organization_id, Organization.name, Organization.contact_email
            )
            .join(Organization, Organization.id == Grading.organization_id)
            .where(Grading.campaign_id == campaign_id, Grading.state.in_(states_of.get(phase, [])))
        ).all()
        label = PHASE_LABELS.get(phase, phase)
        for gid, org, name, email in gradings:
            data = {
                "grading_id": gid,
                "campaign_id": campaign_id,
                "phase": phase,
                "phase_label": label,
                "due_on": due_on.isoformat(),
                "days_left": (due_on - today).days,
                "link": outbox.grading_link(gid),
            }
            key = f"{type_}:{gid}:{phase}:{due_on.isoformat()}"
            if _once(session, type_, f"gradings/{gid}", org, data, key):
                when = f"已逾期（应于{due_on}前完成）" if late else f"将于{due_on}到期"
                found.append(Reminder(type_, org, name, email, f"{campaign_name}：{label}{when}"))
    return found


def _publicity(session: Session, today: date) -> None:
    ended = session.execute(
        select(Grading.id, Grading.organization_id, Grading.publicity_ends_on).where(
            Grading.state.in_(UNDER_PUBLICITY), Grading.publicity_ends_on < today
        )
    ).all()
    for gid, org, ends_on in ended:
        assert ends_on is not None  # compared with today above
        data = {"grading_id": gid, "ended_on": ends_on.isoformat()}
        data["link"] = outbox.grading_link(gid)
        key = f"publicity.period_ended:{gid}:{ends_on.isoformat()}"
        _once(session, "publicity.period_ended", f"gradings/{gid}", org, data, key)


def _items(session: Session, today: date) -> list[Reminder]:
    """Rectification items past their deadline and not closed, from their latest versions."""
    rows = session.execute(
        select(
            RecordVersion.grading_id,
            RecordVersion.record_key,
            RecordVersion.version,
            RecordVersion.data,
            Grading.organization_id,
            Organization.name,
            Organization.contact_email,
        )
        .join(Grading, Grading.id == RecordVersion.grading_id)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(
            RecordVersion.record_type == "rectification_item",
            Grading.state == GradingState.RECTIFICATION,
        )
        .order_by(RecordVersion.grading_id, RecordVersion.record_key, RecordVersion.version)
    ).all()
    latest = {(r[0], r[1]): r for r in rows}  # the last version of each item wins
    found = []
    for (gid, key), (_, _, _, data, org, name, email) in latest.items():
        deadline = data.get("deadline")
        if not deadline or data.get("status") == "closed" or date.fromisoformat(deadline) >= today:
            continue
        payload = {"grading_id": gid, "item": key, "problem": data.get("problem")}
        payload |= {"deadline": deadline, "link": outbox.grading_link(gid)}
        dedup = f"rectification.item_overdue:{gid}:{key}:{deadline}"
        if _once(session, "rectification.item_overdue", f"gradings/{gid}", org, payload, dedup):
            text = f"整改事项 {key}（{data.get('problem') or ''}）已超过整改时限 {deadline}"
            found.append(Reminder("rectification.item_overdue", org, name, email, text))
    return found


def fire(session: Session, today: date) -> list[Reminder]:
    """Write today's timer events (each once, ever); return the reminders new in this run."""
    reminders = _phases(session, today)
    _publicity(session, today)
    return reminders + _items(session, today)
