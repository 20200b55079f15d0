"""Anonymous ballots (无记名测评票).

There is no table of ballots. A submitted ballot only marks its code as used and adds one to the
counters of its answers, so nothing stored can lead from a code, a submission time or an order of
submission to what was chosen. The code row records nothing but "used".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.db import Base
from service.scores import ScoreColumn
from service.workflows.states import BallotSessionState
from service.workflows.writes import engine_only


class BallotSession(Base):
    """测评会: one meeting rating one or several gradings of one campaign."""

    __tablename__ = "ballot_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))  # where it is held
    title: Mapped[str] = mapped_column(String(200))
    asks: Mapped[str] = mapped_column(String(20))  # level | indicators
    state: Mapped[str] = mapped_column(String(20), default=BallotSessionState.OPEN.value)
    quorum: Mapped[Decimal] = mapped_column(Numeric(5, 4))  # share of issued ballots returned
    held_on: Mapped[date] = mapped_column(Date)  # the only time kept: the day of the meeting
    opened_by: Mapped[str] = mapped_column(String(100))

    categories: Mapped[list[BallotCategory]] = relationship(
        order_by="BallotCategory.position", cascade="all, delete-orphan", lazy="selectin"
    )
    gradings: Mapped[list[BallotSessionGrading]] = relationship(
        order_by="BallotSessionGrading.grading_id", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint("state IN ('open', 'closed', 'counted')", name="state"),
        CheckConstraint("asks IN ('level', 'indicators')", name="asks"),
    )

    _state_by_engine = validates("state")(engine_only(BallotSessionState.OPEN))


class BallotSessionGrading(Base):
    __tablename__ = "ballot_session_gradings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ballot_sessions.id"), index=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)

    __table_args__ = (UniqueConstraint("session_id", "grading_id"),)


class BallotCategory(Base):
    """A rater category of the session (党员, 群众代表 …): ballots issued and returned."""

    __tablename__ = "ballot_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ballot_sessions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(30))
    issued: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("session_id", "code"),
        CheckConstraint("returned <= issued", name="returned_le_issued"),
    )


class BallotCode(Base):
    """A one-time code. Printed for the meeting; nothing but `used` is ever recorded on it."""

    __tablename__ = "ballot_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ballot_sessions.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(20), unique=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class BallotCounter(Base):
    """How many ballots gave an answer (`item`: level:<code> or indicator:<code>)."""

    __tablename__ = "ballot_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ballot_sessions.id"), index=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"))
    category: Mapped[str] = mapped_column(String(40))
    item: Mapped[str] = mapped_column(String(60))
    count: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Decimal] = mapped_column(ScoreColumn, default=Decimal(0))  # sum of scores

    __table_args__ = (UniqueConstraint("session_id", "grading_id", "category", "item"),)
