from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from service.db import Base, UTCDateTime, utcnow
from service.workflows.states import ComplaintState, one_of
from service.workflows.writes import engine_only


class Complaint(Base):
    """A complaint against a grading under publicity (anonymous allowed, contact optional)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(
        String(20), default=ComplaintState.RECEIVED.value, index=True
    )
    assigned_to: Mapped[str | None] = mapped_column(String(100))
    findings: Mapped[str | None] = mapped_column(Text)  # 调查核实
    reply: Mapped[str | None] = mapped_column(Text)  # 反馈
    upheld: Mapped[bool | None] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(one_of("state", ComplaintState), name="state"),)

    _state_by_engine = validates("state")(engine_only(ComplaintState.RECEIVED))


class RateLimitHit(Base):
    """Fixed-window counters for public endpoints; a client is kept only as a keyed hash."""

    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer, default=0)
