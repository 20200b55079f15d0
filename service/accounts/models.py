from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.db import Base, UTCDateTime, utcnow
from service.workflows.states import ApprovalState, is_, one_of
from service.workflows.writes import engine_only


class Role(StrEnum):
    SECRETARY = "secretary"  # 书记: their own organization
    REVIEWER = "reviewer"  # 评定人: organizations under their committee
    TELLER = "teller"  # 计票人: organizations under their committee
    SUPERVISOR = "supervisor"  # 审批人: approves, in their subtree
    INSPECTOR = "inspector"  # 检查人: reads everything in their subtree, audit included
    ADMIN = "admin"  # 管理员: configuration, accounts and tokens in their subtree
    PORTAL = "portal"  # 门户: a portal's service account acting for the people of its subtree


ROLE_LABELS = {
    Role.SECRETARY: "书记",
    Role.REVIEWER: "评定人",
    Role.TELLER: "计票人",
    Role.SUPERVISOR: "审批人",
    Role.INSPECTOR: "检查人",
    Role.ADMIN: "管理员",
    Role.PORTAL: "门户",
}

_ROLE_CHECK = "role IN ({})".format(", ".join(f"'{r.value}'" for r in Role))


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # single sign-on: the identity (issuer + subject) the first sign-in bound the account to
    oidc_issuer: Mapped[str | None] = mapped_column(String(300))
    oidc_subject: Mapped[str | None] = mapped_column(String(300))
    # the workbench's sign-in (service/accounts/passwords.py): a salted scrypt hash, never the
    # password; failed attempts in a row and the lockout they lead to
    password_hash: Mapped[str | None] = mapped_column(String(255))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index(
            "uq_accounts_oidc_identity",
            "oidc_issuer",
            "oidc_subject",
            unique=True,
            postgresql_where=text("oidc_issuer IS NOT NULL"),
            sqlite_where=text("oidc_issuer IS NOT NULL"),
        ),
    )

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="account", order_by="RoleGrant.id", lazy="selectin"
    )
    pending_grants: Mapped[list[GrantRequest]] = relationship(
        primaryjoin="and_(GrantRequest.account_id == Account.id, "
        f"GrantRequest.state == '{ApprovalState.PENDING.value}')",
        order_by="GrantRequest.id",
        lazy="selectin",
        viewonly=True,
    )


class RoleGrant(Base):
    """A role bound to an organization subtree. Revoked, never deleted."""

    __tablename__ = "role_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))

    account: Mapped[Account] = relationship(back_populates="grants")

    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)


# Roles granted by two admins (docs/decisions/0025): the one that approves others' requests, and
# the portal's, which acts for anyone of its subtree (approvers included).
APPROVING_ROLES = frozenset({Role.SUPERVISOR, Role.PORTAL})


class GrantRequest(Base):
    """A grant of an approving role, waiting for an admin of a higher scope than the one who
    asked. Approved, it becomes a RoleGrant; decided, it is final."""

    __tablename__ = "grant_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=ApprovalState.PENDING.value)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("role_grants.id"))

    __table_args__ = (
        CheckConstraint(_ROLE_CHECK, name="role"),
        CheckConstraint(one_of("state", ApprovalState), name="state"),
        Index(
            "uq_grant_requests_one_pending",
            "account_id",
            "role",
            "organization_id",
            unique=True,
            postgresql_where=text(is_("state", ApprovalState.PENDING)),
            sqlite_where=text(is_("state", ApprovalState.PENDING)),
        ),
    )

    _state_by_engine = validates("state")(engine_only(ApprovalState.PENDING))


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
