from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from service.db import Base, JSONType, UTCDateTime, utcnow
from service.workflows.states import SpotCheckState, one_of
from service.workflows.writes import engine_only


class SpotCheck(Base):
    """A planned spot check: its population (a campaign's rated gradings in a subtree, of some
    levels), the sample's size, its strata, and — once drawn — the seed and where it came from."""

    __tablename__ = "spot_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    levels: Mapped[Any] = mapped_column(JSONType, nullable=True)  # None: every level
    share: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))  # percent of the population
    size: Mapped[int | None] = mapped_column(Integer)
    stratify: Mapped[Any] = mapped_column(JSONType)  # ["level"], ["level", "domain"] or []
    state: Mapped[str] = mapped_column(String(20), default=SpotCheckState.PLANNED.value)
    planned_by: Mapped[str] = mapped_column(String(100))
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    plan_event_id: Mapped[int | None] = mapped_column(Integer)
    # where the public value will come from, fixed with the plan (e.g. a lottery's draw of a day)
    public_source: Mapped[str] = mapped_column(String(200))
    # …and, since issue 33, exactly: a drand round or a lottery's draw of a named date, in the
    # future when planned (service.spotchecks.beacons); None for a plan from before
    beacon: Mapped[Any] = mapped_column(JSONType, nullable=True)
    # the seed: a tree head signed after the plan, and a public value entered after that
    checkpoint_tree_size: Mapped[int | None] = mapped_column(Integer)
    checkpoint_note_sha256: Mapped[str | None] = mapped_column(String(64))
    public_value: Mapped[str | None] = mapped_column(String(200))
    seed: Mapped[str | None] = mapped_column(String(64))
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    population_size: Mapped[int | None] = mapped_column(Integer)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(one_of("state", SpotCheckState), name="state"),
        CheckConstraint("(share IS NULL) <> (size IS NULL)", name="share_or_size"),
    )

    _state_by_engine = validates("state")(engine_only(SpotCheckState.PLANNED))


class SpotCheckItem(Base):
    """A sampled grading and, once checked, the finding: confirmed, or falsified (弄虚作假)
    with evidence. Written once."""

    __tablename__ = "spot_check_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_checks.id"), index=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    stratum: Mapped[str] = mapped_column(String(100))
    rank: Mapped[str] = mapped_column(String(64))  # the draw's key: SHA-256(seed:code)
    outcome: Mapped[str | None] = mapped_column(String(20))
    evidence: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    found_by: Mapped[str | None] = mapped_column(String(100))
    found_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("spot_check_id", "grading_id"),
        CheckConstraint("outcome IS NULL OR outcome IN ('confirmed', 'falsified')", name="outcome"),
    )


class AccountabilityRecord(Base):
    """追究责任: who answers for what oversight found, and the measure taken — linked to its
    source: a spot check's falsification (spot_check: the check), an upheld complaint
    (complaint), a 回头看 that reopened the level (re_review: the approved reopening) or an
    inspection group's refusal to accept (inspection: the acceptance record). Append-only, like
    the audit trail."""

    __tablename__ = "accountability_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int | None] = mapped_column(ForeignKey("spot_checks.id"), index=True)
    source: Mapped[str] = mapped_column(String(20), default="spot_check")
    source_id: Mapped[int] = mapped_column(Integer)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    persons: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "source IN ('spot_check', 'complaint', 're_review', 'inspection')", name="source"
        ),
    )
