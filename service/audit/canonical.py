"""The canonical encoding of an audit event, and its hash (docs/audit-trail.md).

    hash = sha256( utf8( canonical_json(fields) ) ) as lower-case hex

where `fields` is the object below (`via` only when it is set) and canonical_json is JSON with
keys sorted, no insignificant white space (separators "," and ":"), non-ASCII characters written
as themselves (ensure_ascii off) and the timestamp as "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC.
The first event of a chain has prev_hash GENESIS (64 zeros).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

GENESIS = "0" * 64
ZERO = timedelta(0)
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
    "via",
)
# Hashed only when set: events written before `via` existed keep their hashes.
OPTIONAL_FIELDS = frozenset({"via"})


def timestamp(value: datetime) -> str:
    if value.year >= 1000 and value.utcoffset() == ZERO:
        # The same text as the strftime below, several times faster (isoformat is C; its year
        # has four digits from 1000 on, as %Y has).
        return value.isoformat(timespec="microseconds")[:26] + "Z"
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# One encoder for every call (json.dumps with options builds a new one each time).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


def event_hash(event: Any) -> str:
    """The hash of an event given as an object with the HASHED_FIELDS as attributes (the
    optional ones may be missing: an event written before they existed)."""
    return fields_hash(
        {
            n: getattr(event, n)
            for n in HASHED_FIELDS
            if n not in OPTIONAL_FIELDS or hasattr(event, n)
        }
    )


def fields_hash(values: dict[str, Any]) -> str:
    """event_hash of an event given as a mapping of its columns (optional ones may be absent)."""
    return ordered_hash(
        [values.get(name) if name in OPTIONAL_FIELDS else values[name] for name in HASHED_FIELDS]
    )


def ordered_hash(values: Sequence[Any]) -> str:
    """event_hash of an event given as its HASHED_FIELDS' values, in that order."""
    fields = dict(zip(HASHED_FIELDS, values, strict=True))
    fields["occurred_at"] = timestamp(fields["occurred_at"])
    for name in OPTIONAL_FIELDS:
        if fields[name] is None:
            del fields[name]
    return hashlib.sha256(canonical_json(fields)).hexdigest()
