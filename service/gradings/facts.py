"""What a request about one grading reads besides the grading itself — its campaign's notice
period and stage deadlines, whether an approval is pending, which records it has — selected in
the statement that loads the grading (FACTS) and kept in `session.info` for the rest of the
session, so that its guards and its answer read nothing more.

The memos stay true within the session: whoever writes one of these facts here updates them
(service.gradings.records adds a record type, service.gradings.approvals forgets "none pending"); a
flush that changes a campaign or its phases forgets the campaigns' facts; a rollback (of a
savepoint too) forgets them all. Another session's writes are as invisible as they were to a
read at the start of this one."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import String, cast, event, func, select
from sqlalchemy.orm import Session

from service.campaigns.models import Campaign, CampaignPhase
from service.gradings.models import Approval, Grading, RecordVersion
from service.workflows.states import ApprovalState

NOTICE_DAYS = "notice days of campaigns"  # campaign id -> publicity working days
DUE_DATES = "due dates of campaigns"  # campaign id -> {phase: due_on}
RECORD_TYPES = "record types of gradings"  # grading id -> the record types it has
NONE_PENDING = "gradings without a pending approval"  # grading ids

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


def remember(session: Session, grading: Grading, facts: Any) -> None:
    """Keep what FACTS read (the row's last four columns, in FACTS' order)."""
    notice_days, due_dates, record_types, pending_id = facts
    info = session.info
    info.setdefault(NOTICE_DAYS, {})[grading.campaign_id] = notice_days or 0
    info.setdefault(DUE_DATES, {})[grading.campaign_id] = {
        phase: date.fromisoformat(due)
        for phase, _, due in (item.partition("=") for item in (due_dates or "").split(",") if item)
    }
    info.setdefault(RECORD_TYPES, {})[grading.id] = set((record_types or "").split(",")) - {""}
    if pending_id is None:
        info.setdefault(NONE_PENDING, set()).add(grading.id)


def known(session: Session, memo: str, key: int) -> Any:
    """The remembered fact, or None when this session has not read it."""
    return session.info.get(memo, {}).get(key)


def remember_one(session: Session, memo: str, key: int, value: Any) -> None:
    session.info.setdefault(memo, {})[key] = value


def record_written(session: Session, grading_id: int, record_type: str) -> None:
    types = known(session, RECORD_TYPES, grading_id)
    if types is not None:
        types.add(record_type)


@event.listens_for(Session, "after_flush")
def _forget_changed_campaigns(session: Session, _context: Any) -> None:
    if not (session.info.get(NOTICE_DAYS) or session.info.get(DUE_DATES)):
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Campaign | CampaignPhase):
            session.info.pop(NOTICE_DAYS, None)
            session.info.pop(DUE_DATES, None)
            return


@event.listens_for(Session, "after_soft_rollback")
def _forget_everything(session: Session, _previous: Any) -> None:
    """A rollback (a savepoint's too) may undo a fact written since it was remembered."""
    for memo in (NOTICE_DAYS, DUE_DATES, RECORD_TYPES, NONE_PENDING):
        session.info.pop(memo, None)
