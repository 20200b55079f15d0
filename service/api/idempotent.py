"""Idempotency-Key on a POST, PUT or PATCH: a retry gets the first answer, a different body
under the same key is refused."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from flask import Response, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.api.problems import problem
from service.errors import (
    IdempotencyKeyReused,
    MalformedRequest,
    SecretNotReplayed,
)
from service.idempotency.models import IdempotentResponse

IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass
class Idempotency:
    scope: str
    key: str
    request_hash: str
    replay: Response | None = None

    def store(self, db: Session, response: Response) -> None:
        if response.is_streamed:
            return
        kept = {
            k: v for k, v in response.headers.items() if k in ("Location", "ETag", "Cache-Control")
        }
        if "no-store" in response.headers.get("Cache-Control", ""):
            # The answer holds a secret shown once: keep only that the key was used.
            secret_free = problem(
                SecretNotReplayed,
                f"this Idempotency-Key was used for {request.method} {request.path}, which "
                "succeeded; its answer held a secret that is shown once and not kept",
            )
            response, kept = secret_free, {k: v for k, v in kept.items() if k == "Location"}
        db.add(
            IdempotentResponse(
                scope=self.scope,
                key=self.key,
                method=request.method,
                path=request.path[:500],
                request_hash=self.request_hash,
                status=response.status_code,
                body=response.get_data(as_text=True),
                headers={**kept, "Content-Type": response.content_type},
            )
        )
        db.flush()


def idempotency_of(db: Session, principal: Principal | None) -> Idempotency | None:
    """Idempotency-Key on a POST, PUT or PATCH: a retry gets the first answer; a different body
    is refused."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_RE.match(key):
        raise MalformedRequest("Idempotency-Key must be 1–200 visible ASCII characters")
    scope = f"account:{principal.account_id}" if principal else f"anonymous:{request.remote_addr}"
    if principal is not None and principal.via is not None:
        scope += f" via:{principal.via}"
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode() + b"\x00")
    digest.update(request.get_data(cache=True))
    state = Idempotency(scope, key, digest.hexdigest())
    stored = db.scalars(
        select(IdempotentResponse).where(
            IdempotentResponse.scope == scope, IdempotentResponse.key == key
        )
    ).first()
    if stored is None:
        return state
    if stored.request_hash != state.request_hash:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was first used for {stored.method} {stored.path} with "
            "another body; use a new key for a new request"
        )
    headers = dict(stored.headers)
    content_type = headers.pop("Content-Type", None)
    replay = Response(stored.body, status=stored.status, content_type=content_type)
    replay.headers.update(headers)
    replay.headers["Idempotent-Replayed"] = "true"
    state.replay = replay
    return state
