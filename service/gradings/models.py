from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.db import Base, JSONType, UTCDateTime, utcnow
from service.errors import StageNotOpen
from service.organizations.models import Organization
from service.workflows.states import ApprovalState, GradingState, is_, one_of
from service.workflows.writes import engine_only


class Grading(Base):
    """One organization's grading within one campaign. Its lifecycle is a workflow.

    `version` is SQLAlchemy's version counter: every UPDATE says WHERE version = <read>, so two
    writers that read the same version cannot both win.
    """

    __tablename__ = "gradings"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"))
    state: Mapped[str] = mapped_column(String(40), default=GradingState.SURVEY.value, index=True)
    # The decided level: set when a decision is approved, cleared when the grading goes back
    # to superior review (an upheld complaint, a re-review).
    level: Mapped[str | None] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state_entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # 公示: set when a decision is approved, from the campaign's length in working days.
    publicity_starts_on: Mapped[date | None] = mapped_column(Date)
    publicity_ends_on: Mapped[date | None] = mapped_column(Date)
    # the end was counted on weekends alone (a year nobody had entered): corrected, never
    # shortened, when the year's holiday schedule is entered (service.workdays)
    publicity_ends_estimated: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    # Read for the names lists show; loaded with them (contains_eager) or found in the session.
    organization: Mapped[Organization] = relationship(viewonly=True)

    __table_args__ = (UniqueConstraint("campaign_id", "organization_id"),)
    __mapper_args__ = {"version_id_col": version}

    _state_by_engine = validates("state")(engine_only(GradingState.SURVEY))

    def require_stage(self, stage: GradingState, what: str) -> None:
        """Stage work (a sheet, a tally, a plan…) is done while the grading is in its stage."""
        if self.state != stage:
            raise StageNotOpen(
                f"{what} is entered while the grading is in {stage}; it is in {self.state}",
                state=self.state,
            )


class Approval(Base):
    """A request that waits for a second person (四眼原则): a supervisor, not the requester."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # transition | correction
    subject: Mapped[str] = mapped_column(String(60))  # the transition or the record type
    payload: Mapped[Any] = mapped_column(JSONType, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default=ApprovalState.PENDING.value, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by_account_id: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_account_id: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(Text)

    grading: Mapped[Grading] = relationship(viewonly=True)

    __table_args__ = (
        CheckConstraint(one_of("state", ApprovalState), name="state"),
        CheckConstraint("kind IN ('transition', 'correction')", name="kind"),
        # one request waits at a time, whatever races: the second insert fails (409)
        Index(
            "uq_approvals_one_pending",
            "grading_id",
            unique=True,
            postgresql_where=text(is_("state", ApprovalState.PENDING)),
            sqlite_where=text(is_("state", ApprovalState.PENDING)),
        ),
    )

    _state_by_engine = validates("state")(engine_only(ApprovalState.PENDING))


class RecordVersion(Base):
    """One version of a stage record (score sheet, tally, decision) of a grading.

    Never updated in place: a correction is a new version naming the one it supersedes and why.
    Append-only in the database, like the audit trail.
    """

    __tablename__ = "record_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    record_type: Mapped[str] = mapped_column(String(40))
    record_key: Mapped[str] = mapped_column(String(60), default="main")
    version: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("record_versions.id"))
    data: Mapped[Any] = mapped_column(JSONType)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"))

    __table_args__ = (UniqueConstraint("grading_id", "record_type", "record_key", "version"),)
