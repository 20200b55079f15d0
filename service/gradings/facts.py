"""What a request about one grading reads besides the grading itself — its campaign's notice
period and stage deadlines, whether an approval is pending, which records it has — selected in
the statement that loads the grading (FACTS) and handed on as one immutable value
(GradingFacts): the transition's guards and its answer read nothing more.

The value is what was true at the load. Whoever holds it passes it on only while nothing it
says has been written since (a transition fires without writing records; an approval it
requests answers 202 with no view); everything else passes none, and the guards and the view
then read what they need from the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from sqlalchemy import String, cast, func, select

from service.campaigns.models import Campaign, CampaignPhase
from service.gradings.models import Approval, Grading, RecordVersion
from service.workflows.states import ApprovalState

FACTS = (
    select(Campaign.publicity_working_days)
    .where(Campaign.id == Grading.campaign_id)
    .scalar_subquery()
    .label("publicity_working_days"),
    select(
        func.aggregate_strings(CampaignPhase.phase + "=" + cast(CampaignPhase.due_on, String), ",")
    )
    .where(CampaignPhase.campaign_id == Grading.campaign_id)
    .scalar_subquery()
    .label("due_dates"),
    select(func.aggregate_strings(RecordVersion.record_type, ","))
    .where(RecordVersion.grading_id == Grading.id)
    .scalar_subquery()
    .label("record_types"),
    select(Approval.id)
    .where(Approval.grading_id == Grading.id, Approval.state == ApprovalState.PENDING)
    .limit(1)
    .scalar_subquery()
    .label("pending_approval_id"),
)


@dataclass(frozen=True, slots=True)
class GradingFacts:
    grading_id: int
    notice_days: int  # the campaign's 公示 period, in working days
    due_dates: Mapping[str, date]  # the campaign's phase -> due date
    record_types: frozenset[str]  # the record types the grading has
    pending_approval: bool

    @classmethod
    def read(cls, grading_id: int, facts: Any) -> GradingFacts:
        """What FACTS read (the row's last four columns, in FACTS' order)."""
        notice_days, due_dates, record_types, pending_id = facts
        due = {
            phase: date.fromisoformat(on)
            for phase, _, on in (item.partition("=") for item in (due_dates or "").split(","))
            if phase
        }
        return cls(
            grading_id,
            notice_days or 0,
            MappingProxyType(due),
            frozenset((record_types or "").split(",")) - {""},
            pending_id is not None,
        )
