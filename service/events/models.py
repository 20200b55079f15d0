"""The outbox portals read and webhooks deliver: one row per domain event, written in the
transaction that caused it, given its place in the feed (`seq`) by the sequencer after commit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from service.db import Base, JSONType, UTCDateTime, utcnow
from service.workflows.states import is_, one_of
from service.workflows.writes import engine_only

BigId = BigInteger().with_variant(Integer, "sqlite")


class OutboxEvent(Base):
    """A domain event (CloudEvents 1.0 when sent). `seq` is null until the sequencer, which
    takes committed events in one lock, numbers it: the feed's order, with no gaps a reader could
    pass over while a slower transaction commits. `dedup_key` makes a timer's event once-only."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    type: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(80))  # "gradings/12"
    organization_id: Mapped[int | None] = mapped_column(Integer, index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[Any] = mapped_column(JSONType)
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    __table_args__ = (
        Index(
            "ix_outbox_events_unsequenced",
            "id",
            postgresql_where=seq.is_(None),
            sqlite_where=seq.is_(None),
        ),
    )


class OutboxTip(Base):
    """The last sequence number given (one row); its row lock serializes sequencers."""

    __tablename__ = "outbox_tip"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # by an admin, or by the worker when a delivery is dead-lettered


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # failed for over a day (or cannot be signed): waits for an admin


class WebhookSubscription(Base):
    """A portal's endpoint: the event types it wants (empty: all) from one subtree. The signing
    secret is kept wrapped (AES-GCM under a key derived from SECRET_KEY) and shown only once."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    types: Mapped[Any] = mapped_column(JSONType)
    organization_id: Mapped[int] = mapped_column(Integer, index=True)
    secret_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default=SubscriptionStatus.ACTIVE.value)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # the circuit breaker: failures in a row, and until when its deliveries are left alone
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    open_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint(one_of("status", SubscriptionStatus), name="status"),)

    _status_by_engine = validates("status")(engine_only(SubscriptionStatus.ACTIVE))


class WebhookDelivery(Base):
    """One event for one subscription: pending until a 2xx, retried with backoff for over a
    day, then dead. A worker leases it (`leased_until`) while it sends; a worker killed
    mid-send leaves a lease that runs out, and the delivery is sent again (at least once)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint(one_of("status", DeliveryStatus), name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "subscription_id", "subject", "seq"),
        # the claim walks a subscription's pending deliveries oldest first, and asks which
        # subscriptions have one in flight: both stay small however long the delivered tail
        Index(
            "ix_webhook_deliveries_pending",
            "subscription_id",
            "seq",
            postgresql_where=text(is_("status", DeliveryStatus.PENDING)),
            sqlite_where=text(is_("status", DeliveryStatus.PENDING)),
        ),
        Index(
            "ix_webhook_deliveries_leased",
            "subscription_id",
            "leased_until",
            postgresql_where=leased_until.is_not(None),
            sqlite_where=leased_until.is_not(None),
        ),
    )

    _status_by_engine = validates("status")(engine_only(DeliveryStatus.PENDING))
