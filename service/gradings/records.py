"""Versioned stage records: a record is never updated in place.

Writing a record that exists already is a correction: it needs a reason, becomes a new version
naming the one it supersedes, and — once the record's stage is over — waits for a supervisor's
approval before it is written. Which state is a record type's stage: service.workflows.states.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from service.audit.operations import jsonable, record
from service.context import Actor
from service.errors import ValidationFailed
from service.gradings.approvals import request_approval
from service.gradings.models import Approval, Grading, RecordVersion
from service.workflows.states import STAGE_OF_RECORD

# Corrections of these always wait for a supervisor, whatever the stage (paper ballot tallies).
ALWAYS_APPROVED = frozenset({"ballot_tally"})


def _newest() -> Any:
    """A version no later version supersedes."""
    newer = aliased(RecordVersion)
    return ~select(newer.id).where(newer.supersedes_id == RecordVersion.id).exists()


def latest_versions(session: Session, grading_id: int, record_type: str) -> list[RecordVersion]:
    """The newest version of every record of this type on the grading, in key order."""
    query = (
        select(RecordVersion)
        .where(
            RecordVersion.grading_id == grading_id,
            RecordVersion.record_type == record_type,
            _newest(),
        )
        # Keys are a letter and a count (I1, I2 … I10): shorter first keeps them in order.
        .order_by(func.length(RecordVersion.record_key), RecordVersion.record_key)
    )
    return list(session.scalars(query))


def latest_data(session: Session, gradings: Any, record_type: str) -> list[Any]:
    """The data of the newest version of every record of this type on many gradings at once
    (`gradings`: a select of their ids) — for reports."""
    return list(
        session.scalars(
            select(RecordVersion.data).where(
                RecordVersion.grading_id.in_(gradings),
                RecordVersion.record_type == record_type,
                _newest(),
            )
        )
    )


def versions(session: Session, grading_id: int, record_type: str, key: str) -> list[RecordVersion]:
    """Every version of one record, oldest first."""
    return list(
        session.scalars(
            select(RecordVersion)
            .where(
                RecordVersion.grading_id == grading_id,
                RecordVersion.record_type == record_type,
                RecordVersion.record_key == key,
            )
            .order_by(RecordVersion.version)
        )
    )


def version(
    session: Session, grading_id: int, record_type: str, key: str, number: int
) -> RecordVersion | None:
    """One version of a record, as it was written (who, when, why are on it)."""
    return session.scalars(
        select(RecordVersion).where(
            RecordVersion.grading_id == grading_id,
            RecordVersion.record_type == record_type,
            RecordVersion.record_key == key,
            RecordVersion.version == number,
        )
    ).first()


def currents(
    session: Session, grading_ids: list[int], record_type: str, key: str = "main"
) -> dict[int, RecordVersion]:
    """`current` for many gradings in one statement: grading id -> its record's last version."""
    found: dict[int, RecordVersion] = {}
    for version in session.scalars(
        select(RecordVersion)
        .where(
            RecordVersion.grading_id.in_(grading_ids),
            RecordVersion.record_type == record_type,
            RecordVersion.record_key == key,
        )
        .order_by(RecordVersion.version)
    ):
        found[version.grading_id] = version  # the last one read is the newest
    return found


def current(session: Session, grading_id: int, record_type: str, key: str) -> RecordVersion | None:
    return session.scalars(
        select(RecordVersion)
        .where(
            RecordVersion.grading_id == grading_id,
            RecordVersion.record_type == record_type,
            RecordVersion.record_key == key,
        )
        .order_by(RecordVersion.version.desc())
        .limit(1)
    ).first()


def write(
    session: Session,
    actor: Actor,
    grading: Grading,
    record_type: str,
    data: dict[str, Any],
    *,
    key: str = "main",
    reason: str | None = None,
) -> RecordVersion | Approval:
    if record_type not in STAGE_OF_RECORD:
        raise ValidationFailed(
            f"unknown record type {record_type!r}", errors={"record_type": ["unknown"]}
        )
    previous = current(session, grading.id, record_type, key)
    if previous is not None and not (reason and reason.strip()):
        raise ValidationFailed(
            "a correction needs a reason", errors={"reason": ["required for a correction"]}
        )
    if previous is not None and (
        grading.state != STAGE_OF_RECORD[record_type] or record_type in ALWAYS_APPROVED
    ):
        return request_approval(
            session,
            actor,
            grading,
            kind="correction",
            subject=record_type,
            payload={"record_key": key, "data": jsonable(data)},
            reason=reason,
        )
    return _append(session, actor, grading, record_type, key, data, previous, reason, None)


def _append(
    session: Session,
    actor: Actor,
    grading: Grading,
    record_type: str,
    key: str,
    data: dict[str, Any],
    previous: RecordVersion | None,
    reason: str | None,
    approval_id: int | None,
) -> RecordVersion:
    version = RecordVersion(
        grading_id=grading.id,
        record_type=record_type,
        record_key=key,
        version=(previous.version + 1) if previous else 1,
        supersedes_id=previous.id if previous else None,
        data=jsonable(data),
        reason=reason,
        created_by=actor.username,
        approval_id=approval_id,
    )
    session.add(version)
    session.flush()
    record(
        session,
        actor,
        "record.correct" if previous else "record.create",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        before={
            "record_type": record_type,
            "key": key,
            "version": previous.version,
            "data": previous.data,
        }
        if previous
        else None,
        after={
            "record_type": record_type,
            "key": key,
            "version": version.version,
            "data": version.data,
        },
        reason=reason,
    )
    return version


def apply_approved_correction(
    session: Session, actor: Actor, grading: Grading, approval: Approval
) -> RecordVersion:
    key = approval.payload["record_key"]
    previous = current(session, grading.id, approval.subject, key)
    return _append(
        session,
        actor,
        grading,
        approval.subject,
        key,
        approval.payload["data"],
        previous,
        approval.reason,
        approval.id,
    )


def count_versions(session: Session, grading_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecordVersion)
            .where(RecordVersion.grading_id == grading_id)
        )
        or 0
    )
