"""Anonymous ballots (无记名测评票) in a sealed box.

A submitted ballot marks its code as used and appends the ballot, sealed to the session's public
key, to the session's box; nothing is counted while the box is open. Counting opens the box in
memory and writes only totals. No row records a time finer than the meeting's day, and no
audit event is written per ballot (docs/decisions/0017).
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
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.db import Base
from service.workflows.states import BallotSessionState, one_of
from service.workflows.writes import engine_only


class BallotSession(Base):
    """测评会: one meeting rating one or several gradings of one campaign."""

    __tablename__ = "ballot_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))  # where it is held
    title: Mapped[str] = mapped_column(String(200))
    asks: Mapped[str] = mapped_column(String(20))  # level | indicators
    # What its gradings are in while it runs: evaluation (测评) or promotion (满意度测评). A ballot
    # is cast only while every grading of the session is still there.
    stage: Mapped[str] = mapped_column(String(20), default="evaluation")
    state: Mapped[str] = mapped_column(String(20), default=BallotSessionState.OPEN.value)
    # The share of those eligible (应到, from the roll) whose ballots must come back.
    quorum: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    held_on: Mapped[date] = mapped_column(Date)  # the only time kept: the day of the meeting
    opened_by: Mapped[str] = mapped_column(String(100))
    # The box's key pair: the public key in the clear, the private key wrapped under the
    # server's BALLOT_BOX_SECRET (never in the clear in the database).
    box_public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    box_private_key_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Set by counting: how many sealed ballots the box held, and the digest over them.
    box_ballots: Mapped[int | None] = mapped_column(Integer)
    box_digest: Mapped[str | None] = mapped_column(String(64))
    void_reason: Mapped[str | None] = mapped_column(Text)
    # Why more codes were issued than people are eligible (the superior's audited override).
    over_issue_reason: Mapped[str | None] = mapped_column(Text)

    categories: Mapped[list[BallotCategory]] = relationship(
        order_by="BallotCategory.position", cascade="all, delete-orphan", lazy="selectin"
    )
    gradings: Mapped[list[BallotSessionGrading]] = relationship(
        order_by="BallotSessionGrading.grading_id", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint(one_of("state", BallotSessionState), name="state"),
        CheckConstraint("asks IN ('level', 'indicators')", name="asks"),
        CheckConstraint("stage IN ('evaluation', 'promotion')", name="stage"),
    )

    _state_by_engine = validates("state")(engine_only(BallotSessionState.OPEN))


class BallotSessionGrading(Base):
    __tablename__ = "ballot_session_gradings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ballot_sessions.id"), index=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)

    __table_args__ = (UniqueConstraint("session_id", "grading_id"),)


class BallotCategory(Base):
    """A rater category of the session (党员, 群众代表 …): who may vote (应到: party members from
    the graded organizations' rolls, the others as invited), who came (实到), ballots issued and
    returned."""

    __tablename__ = "ballot_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ballot_sessions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(30))
    issued: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    eligible: Mapped[int | None] = mapped_column(Integer)  # 应到 (None: a session from before)
    present: Mapped[int | None] = mapped_column(Integer)  # 实到, recorded at the meeting

    __table_args__ = (
        UniqueConstraint("session_id", "code"),
        CheckConstraint("returned <= issued", name="returned_le_issued"),
        CheckConstraint("present IS NULL OR present >= 0", name="present_non_negative"),
    )


class BallotCode(Base):
    """A one-time code. Printed for the meeting; nothing but `used` is recorded on it — and,
    when the ballot came with an Idempotency-Key, its receipt sealed under that key
    (box.seal_retry), so a retry learns the first answer and a database reader learns nothing."""

    __tablename__ = "ballot_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("ballot_sessions.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(20), unique=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    retry_box: Mapped[bytes | None] = mapped_column(LargeBinary)


class SealedBallot(Base):
    """One ballot in its session's box: ciphertext only, keyed by its digest (no serial number,
    no time). Append-only in the database, like the audit trail."""

    __tablename__ = "ballot_box"

    session_id: Mapped[int] = mapped_column(ForeignKey("ballot_sessions.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of `sealed`
    receipt: Mapped[str] = mapped_column(String(11), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
