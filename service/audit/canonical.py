"""The canonical encoding of an audit event, and its hash (docs/audit-trail.md).

    hash = sha256( utf8( canonical_json(fields) ) ) as lower-case hex

where `fields` is the object below and canonical_json is JSON with keys sorted, no
insignificant white space (separators "," and ":"), non-ASCII characters written as themselves
(ensure_ascii off) and the timestamp as "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC. The first event of
a chain has prev_hash GENESIS (64 zeros).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = (
    "chain_key",
    "chain_seq",
    "prev_hash",
    "occurred_at",
    "actor_account_id",
    "actor_username",
    "actor_role",
    "token_id",
    "client_ip",
    "request_id",
    "action",
    "entity_type",
    "entity_id",
    "organization_id",
    "before",
    "after",
    "reason",
)


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def event_fields(event: Any) -> dict[str, Any]:
    fields = {name: getattr(event, name) for name in HASHED_FIELDS}
    fields["occurred_at"] = timestamp(fields["occurred_at"])
    return fields


def event_hash(event: Any) -> str:
    return hashlib.sha256(canonical_json(event_fields(event))).hexdigest()


def fields_hash(values: dict[str, Any]) -> str:
    """event_hash of an event given as a mapping of its columns."""
    fields = {name: values[name] for name in HASHED_FIELDS}
    fields["occurred_at"] = timestamp(fields["occurred_at"])
    return hashlib.sha256(canonical_json(fields)).hexdigest()
