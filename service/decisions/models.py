"""分类定级会议: the committee's meeting that decides the levels (党委召开分类定级会议，综合考核结果
和基层党组织自我评定意见，研究确定各基层党组织等级). Recorded once and never changed: a correction
is another meeting record that names the one it corrects and why."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, JSONType, UTCDateTime, utcnow


class DecisionMeeting(Base):
    __tablename__ = "decision_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))  # who met
    held_on: Mapped[date] = mapped_column(Date)
    chaired_by: Mapped[str] = mapped_column(String(100))
    attendees: Mapped[Any] = mapped_column(JSONType)  # names, as the minutes list them
    minutes: Mapped[str] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("decision_meetings.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # why it corrects another
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    results: Mapped[list[DecisionMeetingResult]] = relationship(
        order_by="DecisionMeetingResult.grading_id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class DecisionMeetingResult(Base):
    """What the meeting decided for one grading: the level of its collective decision."""

    __tablename__ = "decision_meeting_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("decision_meetings.id"), index=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    level: Mapped[str] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("meeting_id", "grading_id"),)
