"""An evidence file's record: where it belongs, what it is and its content's SHA-256. The
bytes live in the store (store.py), named by that hash; the row is written once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class EvidenceFile(Base):
    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    grading_id: Mapped[int] = mapped_column(ForeignKey("gradings.id"), index=True)
    # self_rating, assessment, rectification_item:I1, complaint:12
    attached_to: Mapped[str] = mapped_column(String(60))
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
    )
