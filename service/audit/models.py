from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from service.db import Base, JSONType, UTCDateTime, utcnow
from service.workflows.states import ApprovalState, is_, one_of
from service.workflows.writes import engine_only

BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Base):
    """One write of the service: who, when, what, before and after, why.

    Append-only (database triggers refuse UPDATE, DELETE and TRUNCATE) and hash-chained: each
    event belongs to one chain (one per organization, plus `global`) and its `hash` covers its
    canonical encoding and the previous event's hash (docs/audit-trail.md).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chain_key: Mapped[str] = mapped_column(String(40))
    chain_seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_account_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str | None] = mapped_column(String(40))
    token_id: Mapped[int | None] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(60))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[Any] = mapped_column(JSONType, nullable=True)
    after: Mapped[Any] = mapped_column(JSONType, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text)
    # The portal's account when it acted for the actor (On-Behalf-Of); hashed when present.
    via: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("chain_key", "chain_seq"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_organization_id", "organization_id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )


class ChainHead(Base):
    """The last event of each chain. Its row lock serializes writers of one chain only."""

    __tablename__ = "audit_chain_heads"

    chain_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class Checkpoint(Base):
    """A signed statement of every chain's head at one moment. Append-only."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # the canonical JSON that was signed
    signature: Mapped[str] = mapped_column(String(200))  # base64 Ed25519 signature


class LogLeaf(Base):
    """The Merkle log's leaves: every audit event, in the order the integrator took them up.
    leaf_hash = SHA-256(0x00 ‖ the event's 32-byte hash). Append-only."""

    __tablename__ = "audit_log_leaves"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(64))


class LogNode(Base):
    """A complete subtree of the Merkle log: level ≥ 1 covers leaves
    [index·2^level, (index+1)·2^level). Written once, when its last leaf arrives. Append-only."""

    __tablename__ = "audit_log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class LogTip(Base):
    """The log's current size and root (one row). Its row lock serializes integrators; it is a
    convenience, never trusted: verify recomputes the root from the events."""

    __tablename__ = "audit_log_tip"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[str] = mapped_column(String(64))


class LogCheckpoint(Base):
    """A signed tree head in the C2SP tlog-checkpoint / signed-note text format. Append-only."""

    __tablename__ = "audit_log_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text)


class LogCosignature(Base):
    """A witness's cosignature of a checkpoint (C2SP tlog-cosignature line). Append-only."""

    __tablename__ = "audit_log_cosignatures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    checkpoint_id: Mapped[int] = mapped_column(BigInteger, index=True)
    witness: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(100))  # base64 Ed25519 public key
    line: Mapped[str] = mapped_column(Text)  # the signature line as it is appended to the note
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("checkpoint_id", "witness"),)


class Witness(Base):
    """A witness the log accepts cosignatures from: its name and Ed25519 verifier key, registered
    by an admin at the root and approved by a second (four eyes). Only an approved witness's
    cosignature is taken, and only if it verifies under this key."""

    __tablename__ = "audit_witnesses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    verifier_key: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(10), default=ApprovalState.PENDING.value)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_by_account_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(one_of("state", ApprovalState), name="state"),
        Index(
            "uq_audit_witnesses_one_live_name",
            "name",
            unique=True,
            postgresql_where=text(is_("state", ApprovalState.REJECTED, negated=True)),
            sqlite_where=text(is_("state", ApprovalState.REJECTED, negated=True)),
        ),
    )

    _state_by_engine = validates("state")(engine_only(ApprovalState.PENDING))
