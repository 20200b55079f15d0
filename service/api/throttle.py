"""Per-process rate limits for the anonymous ballot endpoints.

Kept in memory, keyed by an HMAC of the client address: nothing of it is written to the
database, so nothing it keeps can share a transaction with a sealed ballot (the complaint
limiter, service/publicity/ratelimit.py, is in the database because it must hold across
workers). Each gunicorn worker counts on its own: the effective limit is `limit × workers`.
"""

from __future__ import annotations

import hashlib
import hmac
import threading

from flask import current_app, request

from service.errors import TooManyRequests
from service.publicity.ratelimit import hit as complaint_hit

MAX_KEYS = 100_000  # past this, windows that have ended are forgotten


class Throttle:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window start, requests)
        self._lock = threading.Lock()

    def hit(self, scope: str, client: str, *, limit: int, window: int, now: float) -> None:
        """Count one request; 429 (with Retry-After) past `limit` in the current window."""
        key = hmac.new(self._secret, f"{scope}:{client}".encode(), hashlib.sha256).hexdigest()
        start = int(now) - int(now) % window
        with self._lock:
            if len(self._windows) > MAX_KEYS:
                self._windows = {k: v for k, v in self._windows.items() if v[0] == start}
            began, count = self._windows.get(key, (start, 0))
            count = count + 1 if began == start else 1
            self._windows[key] = (start, count)
        if count > limit:
            retry_after = max(1, start + window - int(now))
            raise TooManyRequests(
                f"at most {limit} ballot requests per {window} s from one client; try again in "
                f"{retry_after} s",
                retry_after=retry_after,
            )


def throttle_ballots() -> None:
    """One request to a ballot form or submission (the API's or the page's) by this client."""
    settings = current_app.extensions["grading.settings"]
    current_app.extensions["grading.throttle"].hit(
        "ballots",
        request.remote_addr or "unknown",
        limit=settings.ballot_limit,
        window=settings.ballot_window_seconds,
        now=current_app.extensions["grading.clock"](),
    )


def throttle_complaints(*, page: bool = False) -> None:
    """One attempt to file a complaint by this client, counted in the database so the limit
    holds across workers (service/publicity/ratelimit.py) — in a transaction of its own, so an
    attempt that fails (unknown grading, invalid text, notice over) counts as much as one that
    succeeds. The page (`page`: each filing needs a form opened on it, filed once) has its own,
    higher limit per network (COMPLAINT_PAGE_LIMIT): a village office files through one
    address; the API keeps COMPLAINT_LIMIT."""
    settings = current_app.extensions["grading.settings"]
    own = current_app.extensions["grading.sessions"]()
    try:
        complaint_hit(
            own,
            secret=settings.secret_key,
            scope="complaints-page" if page else "complaints",
            client=request.remote_addr or "unknown",
            limit=settings.complaint_page_limit if page else settings.complaint_limit,
            window=settings.complaint_window_seconds,
            now=current_app.extensions["grading.clock"](),
        )
    finally:  # the count is kept, refused or not
        own.commit()
        own.close()
