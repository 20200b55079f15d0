"""追究责任 wherever oversight finds something: a spot check's falsification, an upheld complaint,
a 回头看 that reopened a level, an inspection group that would not accept. Each record names its
source, which must be of the grading and must have found something; append-only, on the
grading's audit chain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.operations import record
from service.context import Actor
from service.errors import Conflict, NotFound, ValidationFailed
from service.gradings.models import Approval, Grading, RecordVersion
from service.inspection.operations import ACCEPTED
from service.organizations.models import Organization
from service.publicity.models import Complaint
from service.spotchecks.models import AccountabilityRecord, SpotCheckItem
from service.workflows.states import ApprovalState

SOURCES = ("spot_check", "complaint", "re_review", "inspection")
ACCEPTANCES = ("rectification_acceptance", "promotion_acceptance")


def _found(session: Session, grading: Grading, source: str, source_id: int) -> str | None:
    """Why the source does not hold against this grading (None when it does)."""
    if source == "spot_check":
        item = session.scalars(
            select(SpotCheckItem).where(
                SpotCheckItem.spot_check_id == source_id, SpotCheckItem.grading_id == grading.id
            )
        ).first()
        if item is None:
            return f"spot check {source_id} did not sample grading {grading.id}"
        return None if item.outcome == "falsified" else "the spot check found no falsification"
    if source == "complaint":
        complaint = session.get(Complaint, source_id)
        if complaint is None or complaint.grading_id != grading.id:
            return f"grading {grading.id} has no complaint {source_id}"
        return None if complaint.upheld else "the complaint was not upheld"
    if source == "re_review":
        approval = session.get(Approval, source_id)
        if approval is None or approval.grading_id != grading.id:
            return f"grading {grading.id} has no approval {source_id}"
        if approval.subject != "reopen_review" or approval.state != ApprovalState.APPROVED:
            return "the 回头看 did not reopen the level (an approved reopen_review)"
        return None
    version = session.get(RecordVersion, source_id)
    if (
        version is None
        or version.grading_id != grading.id
        or version.record_type not in ACCEPTANCES
    ):
        return f"grading {grading.id} has no inspection acceptance {source_id}"
    return None if version.data.get("conclusion") != ACCEPTED else "the group accepted it"


def write(
    session: Session,
    actor: Actor,
    grading: Grading,
    committee: Organization,
    source: str,
    source_id: int,
    body: Mapping[str, Any],
) -> AccountabilityRecord:
    """Who answers (the committee — the organization or one above it — and persons) and the
    measure, linked to its source; 422 for a source of another grading, 409 for one that found
    nothing."""
    org = session.get_one(Organization, grading.organization_id)
    if not org.path.startswith(committee.path):
        raise ValidationFailed(
            "the committee answering for it is the organization or one above it",
            errors={"committee_id": [f"not above {org.name}"]},
        )
    if source not in SOURCES:
        raise ValidationFailed("unknown source", errors={"source": [f"one of {SOURCES}"]})
    why_not = _found(session, grading, source, source_id)
    if why_not is not None and why_not.startswith(("grading", "spot check")):
        raise NotFound(why_not, errors={"source_id": ["not found for this grading"]})
    if why_not is not None:
        raise Conflict(f"{source} {source_id}: {why_not}")
    entry = AccountabilityRecord(
        spot_check_id=source_id if source == "spot_check" else None,
        source=source,
        source_id=source_id,
        grading_id=grading.id,
        committee_id=committee.id,
        persons=body["persons"],
        measure=body["measure"],
        recorded_by=actor.username,
    )
    session.add(entry)
    session.flush()
    record(
        session,
        actor,
        "spot_check.accountability" if source == "spot_check" else "accountability.record",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        after={
            **({"spot_check_id": source_id} if source == "spot_check" else {}),
            "source": source,
            "source_id": source_id,
            "committee_id": committee.id,
            "persons": entry.persons,
            "measure": entry.measure,
        },
    )
    return entry


def of_grading(session: Session, grading: Grading) -> list[AccountabilityRecord]:
    return list(
        session.scalars(
            select(AccountabilityRecord)
            .where(AccountabilityRecord.grading_id == grading.id)
            .order_by(AccountabilityRecord.id)
        )
    )
