"""Webhooks: subscriptions, Standard Webhooks signatures, and delivery with retries.

A delivery is an HTTP POST of the event's CloudEvents JSON with the three Standard Webhooks
headers: `webhook-id` (the event's id — the same on every retry, for de-duplication),
`webhook-timestamp` (Unix seconds) and `webhook-signature` = "v1," + base64(HMAC-SHA256(secret,
"{id}.{timestamp}.{body}")), the secret being the base64 part of "whsec_…". A 2xx is delivered;
anything else (or no answer within the timeout) is tried again after 5 s, 5 min, 30 min, 2 h,
5 h, 10 h and 10 h (±10 % jitter) — about 28 hours in all — and then dead-lettered, which
pauses the subscription with the reason until an admin resumes it. Per subscription, events of
one subject (one grading) go out in the feed's order: a later one waits while an earlier one is
still pending."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased

from service.events.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from service.events.outbox import envelope

RETRIES = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)


# --- secrets ----------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _wrapping_key(server_secret: str) -> bytes:
    return hashlib.sha256(b"webhook-secrets\x00" + server_secret.encode()).digest()


def wrap(server_secret: str, secret: str, subscription_id: int) -> bytes:
    nonce = os.urandom(12)
    aad = f"webhook:{subscription_id}".encode()
    return nonce + AESGCM(_wrapping_key(server_secret)).encrypt(nonce, secret.encode(), aad)


def unwrap(server_secret: str, wrapped: bytes, subscription_id: int) -> str:
    aad = f"webhook:{subscription_id}".encode()
    key = AESGCM(_wrapping_key(server_secret))
    return key.decrypt(wrapped[:12], wrapped[12:], aad).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks `webhook-signature` header's value."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# --- delivering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    delivery_id: int
    subscription_id: int
    url: str
    secret_wrapped: bytes
    event: dict[str, Any]
    attempts: int


def claim(session: Session, now: datetime, lease: timedelta, limit: int = 20) -> list[Job]:
    """Lease up to `limit` due deliveries (active subscriptions; the oldest pending event of
    each subject first). Several workers never take the same row: on PostgreSQL the rows are
    locked with SKIP LOCKED while the lease is written."""
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        and_(
            earlier.subscription_id == WebhookDelivery.subscription_id,
            earlier.subject == WebhookDelivery.subject,
            earlier.seq < WebhookDelivery.seq,
            earlier.status == "pending",
        )
    )
    due = session.scalars(
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            (WebhookDelivery.leased_until.is_(None)) | (WebhookDelivery.leased_until < now),
            WebhookSubscription.status == "active",
            ~blocked,
        )
        .order_by(WebhookDelivery.seq)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    if not due:
        return []
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_([d.id for d in due]))
        .values(leased_until=now + lease, attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False)  # `due` keeps the attempts before this
    )
    subscriptions = {
        s.id: s
        for s in session.scalars(
            select(WebhookSubscription).where(
                WebhookSubscription.id.in_({d.subscription_id for d in due})
            )
        )
    }
    events = {
        e.id: e
        for e in session.scalars(
            select(OutboxEvent).where(OutboxEvent.id.in_({d.event_id for d in due}))
        )
    }
    return [
        Job(
            d.id,
            d.subscription_id,
            subscriptions[d.subscription_id].url,
            subscriptions[d.subscription_id].secret_wrapped,
            envelope(events[d.event_id]),
            d.attempts + 1,
        )
        for d in due
    ]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


def send(job: Job, server_secret: str, base_url: str, timeout: float, now: float) -> Outcome:
    """One POST; never raises for the receiver's failures."""
    event = dict(job.event)
    if base_url:
        event = {**event, "source": base_url + event["source"]}
        data = dict(event["data"])
        if isinstance(data.get("link"), str) and data["link"].startswith("/"):
            data["link"] = base_url + data["link"]
        event["data"] = data
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    secret = unwrap(server_secret, job.secret_wrapped, job.subscription_id)
    stamp = int(now)
    request = urllib.request.Request(
        job.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/cloudevents+json; charset=utf-8",
            "User-Agent": "grading-service-webhooks/1",
            "webhook-id": event["id"],
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(secret, event["id"], stamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Outcome(200 <= response.status < 300, response.status, None)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Outcome(False, exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Outcome(False, None, str(getattr(exc, "reason", exc))[:500])


def settle(session: Session, job: Job, outcome: Outcome, now: datetime) -> None:
    """Record one attempt: delivered, tried again later, or dead (and the subscription paused)."""
    common = {"leased_until": None, "last_status": outcome.status, "last_error": outcome.error}
    where = WebhookDelivery.id == job.delivery_id
    if outcome.ok:
        session.execute(
            update(WebhookDelivery)
            .where(where)
            .values(**common, status="delivered", delivered_at=now)
        )
        return
    if job.attempts <= len(RETRIES):
        wait = RETRIES[job.attempts - 1].total_seconds() * random.uniform(0.9, 1.1)
        later = now + timedelta(seconds=wait)
        session.execute(
            update(WebhookDelivery).where(where).values(**common, next_attempt_at=later)
        )
        return
    session.execute(update(WebhookDelivery).where(where).values(**common, status="dead"))
    why = outcome.error or f"HTTP {outcome.status}"
    session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == job.subscription_id)
        .values(
            status="paused",
            paused_reason=f"delivery {job.delivery_id} failed {job.attempts} times over more "
            f"than a day (last: {why}); resume it when the endpoint works again",
        )
    )


def pause(session: Session, subscription: WebhookSubscription, reason: str) -> None:
    session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription.id)
        .values(status="paused", paused_reason=reason)
    )


def redeliver(session: Session, delivery: WebhookDelivery, now: datetime) -> None:
    """An admin's "send it again": pending now, whatever it was."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id)
        .values(status="pending", next_attempt_at=now, leased_until=None, attempts=0)
    )


def resume(session: Session, subscription: WebhookSubscription, now: datetime) -> int:
    """Active again; its dead deliveries are tried once more. Returns how many."""
    session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription.id)
        .values(status="active", paused_reason=None)
    )
    revived = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription.id,
            WebhookDelivery.status == "dead",
        )
        .values(status="pending", next_attempt_at=now, leased_until=None, attempts=0)
    )
    return int(getattr(revived, "rowcount", 0) or 0)
