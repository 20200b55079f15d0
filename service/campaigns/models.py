from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.db import Base, JSONType, UTCDateTime, utcnow
from service.scores import ScoreColumn
from service.workflows.states import CampaignStatus, one_of
from service.workflows.writes import engine_only


class RatingSourceKind(StrEnum):
    SUPERIOR = "superior"  # 上级党委评定
    SELF = "self"  # 自评
    MEMBERS = "members"  # 党员评议
    PUBLIC = "public"  # 群众评议
    SERVICE_RECIPIENTS = "service_recipients"  # 服务对象评议


SOURCE_LABELS = {
    RatingSourceKind.SUPERIOR: "上级评定",
    RatingSourceKind.SELF: "自评",
    RatingSourceKind.MEMBERS: "党员评议",
    RatingSourceKind.PUBLIC: "群众评议",
    RatingSourceKind.SERVICE_RECIPIENTS: "服务对象评议",
}


class Campaign(Base):
    """一次分类定级工作: run by a committee over its subtree."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    level_scheme_id: Mapped[int] = mapped_column(ForeignKey("level_schemes.id"))
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.DRAFT.value)
    publicity_working_days: Mapped[int] = mapped_column(Integer, default=5)
    new_org_cutoff: Mapped[date | None] = mapped_column(Date)
    # How ballots are cast and counted, and the decision rules; None means the defaults
    # (service.ballots.config, service.decisions.rules).
    ballot_config: Mapped[Any] = mapped_column(JSONType, nullable=True)
    decision_config: Mapped[Any] = mapped_column(JSONType, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    standards: Mapped[list[CampaignStandard]] = relationship(
        order_by="CampaignStandard.domain", cascade="all, delete-orphan", lazy="selectin"
    )
    phases: Mapped[list[CampaignPhase]] = relationship(
        order_by="CampaignPhase.position", cascade="all, delete-orphan", lazy="selectin"
    )
    sources: Mapped[list[RatingSource]] = relationship(
        order_by="RatingSource.position", cascade="all, delete-orphan", lazy="selectin"
    )
    quota_rules: Mapped[list[QuotaRule]] = relationship(
        order_by="QuotaRule.id", cascade="all, delete-orphan", lazy="selectin"
    )
    veto_rules: Mapped[list[VetoRule]] = relationship(
        order_by="VetoRule.id", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint(one_of("status", CampaignStatus), name="status"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        CheckConstraint("publicity_working_days BETWEEN 1 AND 60", name="publicity_days"),
    )

    _status_by_engine = validates("status")(engine_only(CampaignStatus.DRAFT))


class CampaignStandard(Base):
    __tablename__ = "campaign_standards"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    domain: Mapped[str] = mapped_column(ForeignKey("domains.code"))
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)

    __table_args__ = (UniqueConstraint("campaign_id", "domain"),)


class CampaignPhase(Base):
    __tablename__ = "campaign_phases"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(30))
    starts_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("campaign_id", "phase"),)


class RatingSource(Base):
    __tablename__ = "campaign_rating_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(30))
    weight: Mapped[Decimal] = mapped_column(ScoreColumn)  # percent; all weights sum to 100

    __table_args__ = (UniqueConstraint("campaign_id", "source"),)


class QuotaScope(StrEnum):
    """Over which organizations a quota is counted (docs/decisions/0018)."""

    CAMPAIGN = "campaign"  # every organization taking part in the campaign
    COMMITTEE = "committee"  # each deciding committee's own organizations (e.g. each township)


class QuotaRule(Base):
    """A cap and/or floor on the share of one level, e.g. 好 ≤ 20 %, over a scope."""

    __tablename__ = "campaign_quota_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    level_code: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(20), default=QuotaScope.CAMPAIGN.value)
    max_share: Mapped[Decimal | None] = mapped_column(ScoreColumn)  # percent
    min_share: Mapped[Decimal | None] = mapped_column(ScoreColumn)

    __table_args__ = (
        UniqueConstraint("campaign_id", "level_code", "scope"),
        CheckConstraint("scope IN ('campaign', 'committee')", name="scope"),
    )


class VetoRule(Base):
    """一票否决: a finding that forces a level regardless of score."""

    __tablename__ = "campaign_veto_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    forced_level_code: Mapped[str] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("campaign_id", "code"),)


class CampaignAmendment(Base):
    """The only way an opened campaign's configuration changes: recorded with a reason."""

    __tablename__ = "campaign_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    amended_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    amended_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[Any] = mapped_column(JSONType)
    after: Mapped[Any] = mapped_column(JSONType)
