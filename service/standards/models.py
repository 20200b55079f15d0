from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UTCDateTime, utcnow
from service.scores import ScoreColumn


class Standard(Base):
    """分类定级参考标准: one version of the template for one 领域."""

    __tablename__ = "standards"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(ForeignKey("domains.code"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    total_points: Mapped[Decimal] = mapped_column(ScoreColumn)
    bonus_cap: Mapped[Decimal] = mapped_column(ScoreColumn, default=Decimal("0"))
    deduction_cap: Mapped[Decimal] = mapped_column(ScoreColumn, default=Decimal("0"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("standards.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    indicators: Mapped[list[Indicator]] = relationship(
        order_by="Indicator.position", cascade="all, delete-orphan", lazy="selectin"
    )
    adjustments: Mapped[list[Adjustment]] = relationship(
        order_by="Adjustment.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("domain", "version"),
        CheckConstraint("total_points > 0", name="total_positive"),
    )


class Indicator(Base):
    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    max_points: Mapped[Decimal] = mapped_column(ScoreColumn)
    description: Mapped[str | None] = mapped_column(Text)
    guidance: Mapped[str | None] = mapped_column(Text)

    sub_items: Mapped[list[SubItem]] = relationship(
        order_by="SubItem.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("standard_id", "code"),
        CheckConstraint("max_points > 0", name="max_positive"),
    )


class SubItem(Base):
    """细化分解: an indicator's parts; their maximums sum to the indicator's."""

    __tablename__ = "indicator_sub_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    max_points: Mapped[Decimal] = mapped_column(ScoreColumn)
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("indicator_id", "code"),
        CheckConstraint("max_points > 0", name="max_positive"),
    )


class Adjustment(Base):
    """加减分: a bonus or deduction item with its own limit."""

    __tablename__ = "standard_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    max_points: Mapped[Decimal] = mapped_column(ScoreColumn)
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("standard_id", "code"),
        CheckConstraint("kind IN ('bonus', 'deduction')", name="kind"),
        CheckConstraint("max_points > 0", name="max_positive"),
    )


class LevelScheme(Base):
    """Ordered levels with lower bounds. Immutable once created."""

    __tablename__ = "level_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    levels: Mapped[list[Level]] = relationship(
        order_by="Level.position", cascade="all, delete-orphan", lazy="selectin"
    )

    def level_for(self, score: Decimal) -> Level | None:
        """The highest level whose lower bound the score reaches; None below every bound."""
        for level in self.levels:
            if score >= level.lower_bound:
                return level
        return None


class Level(Base):
    __tablename__ = "levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("level_schemes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 0 = best
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(40))
    lower_bound: Mapped[Decimal] = mapped_column(ScoreColumn)

    __table_args__ = (
        UniqueConstraint("scheme_id", "code"),
        UniqueConstraint("scheme_id", "position"),
    )
