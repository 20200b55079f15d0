"""Fixed-window rate limiting for public endpoints, kept in the database (so it holds across
gunicorn workers) and keyed by an HMAC of the client address (so no address is stored)."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.errors import TooManyRequests
from service.publicity.models import RateLimitHit


def hit(
    session: Session, *, secret: str, scope: str, client: str, limit: int, window: int, now: float
) -> None:
    """Count one request; refuse it (429, Retry-After) past `limit` in the current window."""
    key = hmac.new(secret.encode(), f"{scope}:{client}".encode(), hashlib.sha256).hexdigest()
    start = int(now) - int(now) % window
    bumped = session.execute(
        update(RateLimitHit)
        .where(RateLimitHit.key == key, RateLimitHit.window_start == start)
        .values(count=RateLimitHit.count + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(RateLimitHit(key=key, window_start=start, count=1))
        except IntegrityError:
            return hit(
                session,
                secret=secret,
                scope=scope,
                client=client,
                limit=limit,
                window=window,
                now=now,
            )
    count = (
        session.scalar(
            select(RateLimitHit.count).where(
                RateLimitHit.key == key, RateLimitHit.window_start == start
            )
        )
        or 0
    )
    if count > limit:
        retry_after = max(1, start + window - int(now))
        raise TooManyRequests(
            f"at most {limit} per {window} s from one client; try again in {retry_after} s",
            retry_after=retry_after,
        )
