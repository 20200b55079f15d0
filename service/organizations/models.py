from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    false,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from service.db import Base, JSONType, UTCDateTime, utcnow
from service.workflows.states import one_of
from service.workflows.writes import engine_only


class OrgKind(StrEnum):
    COMMITTEE = "committee"  # 党委 / 党工委 / 组织部
    GENERAL_BRANCH = "general_branch"  # 党总支
    BRANCH = "branch"  # 党支部


KIND_LABELS = {
    OrgKind.COMMITTEE: "党委",
    OrgKind.GENERAL_BRANCH: "党总支",
    OrgKind.BRANCH: "党支部",
}

# Grassroots organizations are the ones a campaign grades: every general branch and branch, and
# a committee marked `grassroots` (基层党委: a village's, a company's, a school's).
GRADED_KINDS = (OrgKind.GENERAL_BRANCH, OrgKind.BRANCH)


class OrgStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    DISSOLVED = "dissolved"


class Domain(Base):
    """领域: a closed list, extended only by a migration."""

    __tablename__ = "domains"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    label: Mapped[str] = mapped_column(String(30), unique=True)
    position: Mapped[int] = mapped_column(Integer)


class Placed(Protocol):
    """What deciding who may needs of an organization: which one, its name for a message, and
    where it is in the tree. An Organization is one; so is a Place."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Place:
    """An organization's id, name and path read along with something else (a transition's
    grading): enough to decide who may and to answer, without an ORM object."""

    id: int
    name: str
    path: str


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str | None] = mapped_column(ForeignKey("domains.code"))
    coordination_area: Mapped[str | None] = mapped_column(String(100))
    secretary: Mapped[str | None] = mapped_column(String(100))
    # where due-soon and overdue reminders go when e-mail is configured (SMTP_HOST)
    contact_email: Mapped[str | None] = mapped_column(String(200))
    # how the public reaches this committee about its 公示 (电话、地址、信箱), printed on the notice
    notice_contact: Mapped[str | None] = mapped_column(String(300))
    member_count: Mapped[int] = mapped_column(Integer, default=0)  # 正式 + 预备
    # 支部基本情况: the roll (正式党员, 预备党员), the committee (支委: name and post), the term.
    full_members: Mapped[int | None] = mapped_column(Integer)
    probationary_members: Mapped[int | None] = mapped_column(Integer)
    committee_members: Mapped[Any] = mapped_column(JSONType, nullable=True)
    elected_on: Mapped[date | None] = mapped_column(Date)  # 换届: when this committee was elected
    founded_on: Mapped[date | None] = mapped_column(Date)
    # 基层党委: a committee that is itself a grassroots organization, graded like a branch
    grassroots: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(20), default=OrgStatus.ACTIVE.value)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Materialized path of ids, "/1/4/19/": subtree queries are one indexed prefix match.
    path: Mapped[str] = mapped_column(String(1000), index=True)
    depth: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('committee', 'general_branch', 'branch')", name="kind"),
        CheckConstraint(one_of("status", OrgStatus), name="status"),
        CheckConstraint("member_count >= 0", name="member_count_non_negative"),
        CheckConstraint("grassroots = false OR kind = 'committee'", name="grassroots_committee"),
        CheckConstraint(
            "full_members IS NULL OR probationary_members IS NULL "
            "OR member_count = full_members + probationary_members",
            name="roll_adds_up",
        ),
    )

    _status_by_engine = validates("status")(engine_only(OrgStatus.ACTIVE))

    @classmethod
    def graded(cls) -> ColumnElement[bool]:
        """The organizations a campaign grades (GRADED_KINDS, and grassroots committees)."""
        return or_(cls.kind.in_([k.value for k in GRADED_KINDS]), cls.grassroots.is_(True))

    def is_within(self, ancestor_path: str) -> bool:
        return self.path.startswith(ancestor_path)

    def snapshot(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "domain": self.domain,
            "coordination_area": self.coordination_area,
            "secretary": self.secretary,
            "contact_email": self.contact_email,
            "notice_contact": self.notice_contact,
            "member_count": self.member_count,
            "full_members": self.full_members,
            "probationary_members": self.probationary_members,
            "committee_members": self.committee_members,
            "elected_on": self.elected_on,
            "founded_on": self.founded_on,
            "grassroots": self.grassroots,
            "status": self.status,
            "merged_into_id": self.merged_into_id,
            "parent_id": self.parent_id,
        }


class OrganizationMove(Base):
    """A change of parent: the tree's history, kept forever."""

    __tablename__ = "organization_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    from_parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    to_parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    moved_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
