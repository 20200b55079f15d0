"""Reporting upward (上报): a committee below the campaign's (a township) submits its tables to
the campaign's committee by the campaign's date — 汇总表, 明细表, 较差名单 and 较差状况明细表 by
the seeds' 4月15日; the 复查情况 with its 附件1、2 (the weak organizations' status and the
campaign's progress) by 6月25日 — signed off by a named person. What was submitted is kept as it
was (a snapshot and its digest); the county sees who submitted, who is late, and what changed
in the data since; a resubmission is a new version and needs a reason."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import calendar
from service.audit.operations import jsonable, record
from service.campaigns.models import Campaign, CampaignPhase
from service.context import Actor
from service.errors import ValidationFailed
from service.organizations.models import Organization
from service.reporting.models import ReportSubmission
from service.reports import queries
from service.workflows.states import Phase

KINDS = {
    "grading_tables": "分类定级汇总表、明细表、较差名单、较差状况明细表",
    "review": "复查情况（附件1：较差党组织整改情况；附件2：工作进度）",
}
# The seeds' dates (month, day); a campaign may set its own in decision_config.reporting.
SEED_DATES = {"grading_tables": (4, 15), "review": (6, 25)}


def due_on(session: Session, campaign: Campaign, kind: str) -> date:
    """The campaign's date for `kind`: decision_config.reporting[kind] when set, else the
    seeds' 4月15日 / 6月25日 — of the campaign's year, or of the next one when its 公示 ends
    later (a campaign graded in the autumn reports in the spring)."""
    configured = ((campaign.decision_config or {}).get("reporting") or {}).get(kind)
    if configured:
        return date.fromisoformat(str(configured))
    month, day = SEED_DATES[kind]
    seeds = date(campaign.year, month, day)
    publicity_ends = session.scalar(
        select(CampaignPhase.due_on).where(
            CampaignPhase.campaign_id == campaign.id, CampaignPhase.phase == Phase.PUBLICITY
        )
    )
    if publicity_ends is not None and publicity_ends >= seeds:
        return date(campaign.year + 1, month, day)
    return seeds


def snapshot(
    session: Session, campaign: Campaign, committee: Organization, kind: str
) -> dict[str, Any]:
    """The tables as they read now (final levels), as JSON."""
    if kind == "grading_tables":
        tables: dict[str, Any] = {
            "summary": queries.summary(session, campaign, committee, False),
            "detail": list(queries.detail_rows(session, campaign, committee, False)),
            "poor_list": queries.poor_list(session, campaign, committee, False),
            "poor_status": queries.poor_status(session, campaign, committee, False),
        }
    else:
        tables = {
            "poor_status": queries.poor_status(session, campaign, committee, False),
            "progress": queries.progress(session, campaign, committee),
        }
    return dict(jsonable(tables))


def digest_of(tables: dict[str, Any]) -> str:
    text = json.dumps(tables, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def submit(
    session: Session,
    actor: Actor,
    campaign: Campaign,
    committee: Organization,
    kind: str,
    signed_off_by: str,
    reason: str | None,
) -> ReportSubmission:
    """Submit `committee`'s tables: the next version, late or not; the first needs no reason,
    every later one does (what changed, and why it was sent again)."""
    last = session.scalar(
        select(func.max(ReportSubmission.version)).where(
            ReportSubmission.campaign_id == campaign.id,
            ReportSubmission.organization_id == committee.id,
            ReportSubmission.kind == kind,
        )
    )
    if last and not (reason and reason.strip()):
        raise ValidationFailed(
            f"version {last} was submitted already: a resubmission needs a reason",
            detail_zh=f"已上报过第 {last} 版：重新上报须说明理由（改了什么、为什么）",
            errors={"reason": ["required for a resubmission"]},
        )
    tables = snapshot(session, campaign, committee, kind)
    deadline = due_on(session, campaign, kind)
    submission = ReportSubmission(
        campaign_id=campaign.id,
        organization_id=committee.id,
        kind=kind,
        version=(last or 0) + 1,
        submitted_by=actor.username,
        signed_off_by=signed_off_by,
        reason=reason,
        due_on=deadline,
        late=calendar.today() > deadline,
        digest=digest_of(tables),
        snapshot=tables,
    )
    session.add(submission)
    session.flush()
    record(
        session,
        actor,
        "report.submit",
        "report_submission",
        submission.id,
        organization_id=committee.id,
        after={
            "campaign_id": campaign.id,
            "kind": kind,
            "version": submission.version,
            "signed_off_by": signed_off_by,
            "due_on": deadline,
            "late": submission.late,
            "digest": submission.digest,
        },
        reason=reason,
    )
    return submission


def reporting_committees(session: Session, campaign: Campaign, visible: Any) -> list[Organization]:
    """The committees below the campaign's that report to it (townships), those the caller
    sees: `visible` is the caller's filter on Organization.path."""
    top = session.get_one(Organization, campaign.organization_id)
    return list(
        session.scalars(
            select(Organization)
            .where(
                Organization.kind == "committee",
                Organization.path.startswith(top.path, autoescape=True),
                Organization.id != top.id,
                visible,
            )
            .order_by(Organization.path)
        )
    )


def _changed(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The organizations whose row in the 明细表 (or 较差状况明细表) differs from what was
    submitted — added, removed or changed."""
    table = "detail" if "detail" in now else "poor_status"
    old = {row["name"]: row for row in before.get(table, [])}
    new = {row["name"]: row for row in now.get(table, [])}
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def overview(
    session: Session, campaign: Campaign, kind: str, committees: list[Organization]
) -> dict[str, Any]:
    """Per committee: submitted (on time or late), missing, or overdue; the latest version
    and whether the data changed since it was submitted (and for which organizations)."""
    deadline = due_on(session, campaign, kind)
    today = calendar.today()
    latest_of: dict[int, ReportSubmission] = {}  # every committee's latest version, one query
    for sent in session.scalars(
        select(ReportSubmission)
        .where(
            ReportSubmission.campaign_id == campaign.id,
            ReportSubmission.kind == kind,
            ReportSubmission.organization_id.in_([c.id for c in committees]),
        )
        .order_by(ReportSubmission.version)
    ):
        latest_of[sent.organization_id] = sent
    items = []
    for committee in committees:
        latest = latest_of.get(committee.id)
        entry: dict[str, Any] = {"organization_id": committee.id, "organization": committee.name}
        if latest is None:
            entry |= {
                "status": "overdue" if today > deadline else "missing",
                "latest": None,
                "changed_since": None,
                "changed_organizations": [],
            }
        else:
            # the organizations' rows, not the day's counters (the progress table's overdue
            # figures move with the calendar)
            changed = _changed(latest.snapshot, snapshot(session, campaign, committee, kind))
            entry |= {
                "status": "late" if latest.late else "submitted",
                "latest": submission_out(latest, with_snapshot=False),
                "changed_since": bool(changed),
                "changed_organizations": changed,
            }
        entry["status_label"] = STATUS_LABELS[entry["status"]]
        items.append(entry)
    return {
        "kind": kind,
        "kind_label": KINDS[kind],
        "due_on": deadline,
        "items": items,
    }


STATUS_LABELS = {
    "submitted": "已按时上报",
    "late": "逾期上报",
    "missing": "未上报",
    "overdue": "逾期未报",
}


def submission_out(submission: ReportSubmission, *, with_snapshot: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": submission.id,
        "campaign_id": submission.campaign_id,
        "organization_id": submission.organization_id,
        "kind": submission.kind,
        "version": submission.version,
        "submitted_at": submission.submitted_at,
        "submitted_by": submission.submitted_by,
        "signed_off_by": submission.signed_off_by,
        "reason": submission.reason,
        "due_on": submission.due_on,
        "late": submission.late,
        "digest": submission.digest,
    }
    if with_snapshot:
        out["snapshot"] = submission.snapshot
    return out
