from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, JSONType, UTCDateTime, utcnow


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
