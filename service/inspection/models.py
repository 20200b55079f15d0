from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, JSONType, UTCDateTime, utcnow


class InspectionGroup(Base):
    """A campaign's 指导检查组: its leader and members (accounts holding the inspector role
    there) and the organizations it is responsible for (each with its subtree; no organization
    under two groups of one campaign). Changed only with a reason, every change audited."""

    __tablename__ = "inspection_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    # the committee that formed it (the campaign's): whoever sees it sees the group
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    leader: Mapped[str] = mapped_column(String(100))  # an account's username
    members: Mapped[Any] = mapped_column(JSONType)  # usernames, the leader not among them
    covers: Mapped[Any] = mapped_column(JSONType)  # organization ids, each with its subtree
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
