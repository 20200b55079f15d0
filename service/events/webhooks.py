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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, Select, delete, exists, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from service.events import http
from service.events.models import (
    DeliveryStatus,
    OutboxEvent,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from service.events.outbox import envelope
from service.events.workflow import (
    REDELIVER,
    WEBHOOK_DELIVERY_WORKFLOW,
    WEBHOOK_SUBSCRIPTION_WORKFLOW,
)
from service.organizations.models import Organization

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


class SecretUnreadable(Exception):
    """No key of the ring unwraps the subscription's secret."""


def unwrap_any(ring: Sequence[str], wrapped: bytes, subscription_id: int) -> tuple[str, bool]:
    """The secret, by the first key of the ring (SECRET_KEY, then SECRET_KEY_PREVIOUS…) that
    unwraps it, and whether that was an older key (the secret is to be wrapped again)."""
    for n, server_secret in enumerate(ring):
        try:
            return unwrap(server_secret, wrapped, subscription_id), n > 0
        except (InvalidTag, ValueError):
            continue
    raise SecretUnreadable(
        f"the secret of webhook subscription {subscription_id} was wrapped under a SECRET_KEY "
        "that is neither the current one nor one in SECRET_KEY_PREVIOUS"
    )


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


# An earlier event of the same subject holds the later ones back only while it has failed fewer
# than this many times: one failing event does not keep a grading's news away for hours (the
# CloudEvents `sequence` still tells the receiver their order).
ORDER_ATTEMPTS = 2
# A round takes at most this many deliveries of one subscription: a slow receiver holds two of
# the worker's threads at most, and none while its deliveries are in flight.
PER_SUBSCRIPTION = 2


def claim(session: Session, now: datetime, lease: timedelta, limit: int = 20) -> list[Job]:
    """Lease up to `limit` due deliveries, at most PER_SUBSCRIPTION of a subscription and none of a
    subscription that has one in flight or whose breaker is open (a slow or failing receiver
    holds up only itself); the subscriptions whose oldest due delivery is oldest first, and the
    oldest pending event of each subject first. Several workers never take the same row: on
    PostgreSQL the rows are locked with SKIP LOCKED while the lease is written.

    Each statement reads a few rows of the small partial indexes (pending; leased), not the
    queue: a round costs the same at 100 pending deliveries as at 100,000."""
    due: list[WebhookDelivery] = []
    for subscription_id in _waiting(session, now):
        if len(due) >= limit:
            break
        due.extend(
            session.scalars(
                _due(subscription_id, now)
                .limit(min(PER_SUBSCRIPTION, limit - len(due)))
                .with_for_update(skip_locked=True)
            )
        )
    due.sort(key=lambda d: d.seq)
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


# Written into the statement, not bound: psycopg prepares a statement it runs often, and a
# generic plan for "status = $1" cannot use the partial indexes on pending deliveries (a round
# went from 0.2 ms to 13 ms per subscription with the queue's length).
PENDING = literal(DeliveryStatus.PENDING.value, literal_execute=True)


def _waiting(session: Session, now: datetime) -> list[int]:
    """The active subscriptions with a due delivery, none in flight and the breaker closed,
    the one whose oldest due delivery is oldest first."""
    pending = aliased(WebhookDelivery)
    oldest = (
        select(func.min(pending.seq))
        .where(
            pending.subscription_id == WebhookSubscription.id,
            pending.status == PENDING,
            pending.next_attempt_at <= now,
        )
        .scalar_subquery()
    )
    flying = aliased(WebhookDelivery)
    in_flight = exists().where(
        flying.subscription_id == WebhookSubscription.id,
        flying.leased_until.is_not(None),
        flying.leased_until > now,
        flying.status == PENDING,
    )
    rows = session.execute(
        select(WebhookSubscription.id, oldest).where(
            WebhookSubscription.status == SubscriptionStatus.ACTIVE,
            (WebhookSubscription.open_until.is_(None)) | (WebhookSubscription.open_until <= now),
            ~in_flight,
        )
    ).all()
    return [sid for first, sid in sorted((first, sid) for sid, first in rows if first is not None)]


def _due(subscription_id: int, now: datetime) -> Select[WebhookDelivery]:
    """A subscription's due deliveries, oldest first, leaving out any whose subject has an
    earlier one still pending (and not yet failed ORDER_ATTEMPTS times)."""
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.subscription_id == subscription_id,
        earlier.subject == WebhookDelivery.subject,
        earlier.seq < WebhookDelivery.seq,
        earlier.status == PENDING,
        earlier.attempts < ORDER_ATTEMPTS,
    )
    return (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            (WebhookDelivery.leased_until.is_(None)) | (WebhookDelivery.leased_until < now),
            ~blocked,
        )
        .order_by(WebhookDelivery.seq)
    )


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None
    final: bool = False  # no retry can help (the secret is unreadable): dead-letter it now
    rewrapped: bytes | None = None  # the secret wrapped again under the current key


def send(
    job: Job,
    ring: Sequence[str],
    base_url: str,
    timeout: float,
    now: float,
    allowed: Sequence[http.Network] = (),
) -> Outcome:
    """One POST, within `timeout` seconds in all, to a checked public address (service.events.
    http); never raises: a receiver's failure, a refused address or an unreadable secret is an
    outcome. Only the status code is kept — never a word of the receiver's body."""
    event = dict(job.event)
    if base_url:
        event = {**event, "source": base_url + event["source"]}
        data = dict(event["data"])
        if isinstance(data.get("link"), str) and data["link"].startswith("/"):
            data["link"] = base_url + data["link"]
        event["data"] = data
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        secret, older = unwrap_any(ring, job.secret_wrapped, job.subscription_id)
    except SecretUnreadable as exc:
        return Outcome(False, None, str(exc), final=True)
    rewrapped = wrap(ring[0], secret, job.subscription_id) if older else None
    stamp = int(now)
    headers = {
        "Content-Type": "application/cloudevents+json; charset=utf-8",
        "User-Agent": "grading-service-webhooks/1",
        "webhook-id": event["id"],
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, event["id"], stamp, body),
    }
    try:
        status = http.post(job.url, headers, body, timeout, allowed)
    except http.Refused as exc:
        return Outcome(False, None, f"refused: {exc}"[:500], rewrapped=rewrapped)
    except http.Failed as exc:
        return Outcome(False, None, str(exc)[:500], rewrapped=rewrapped)
    if 300 <= status < 400:
        return Outcome(
            False, status, f"HTTP {status}: redirects are not followed", False, rewrapped
        )
    ok = 200 <= status < 300
    return Outcome(ok, status, None if ok else f"HTTP {status}", rewrapped=rewrapped)


def settle(session: Session, job: Job, outcome: Outcome, now: datetime) -> None:
    """Record one attempt: delivered, tried again later, or dead (and the subscription paused)."""
    common = {"leased_until": None, "last_status": outcome.status, "last_error": outcome.error}
    where = WebhookDelivery.id == job.delivery_id
    if outcome.rewrapped is not None:
        session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == job.subscription_id)
            .values(secret_wrapped=outcome.rewrapped)
        )
    _breaker(session, job.subscription_id, outcome.ok, now)
    if outcome.ok:
        _move_deliveries(session, "deliver", where, **common, delivered_at=now)
        return
    if job.attempts <= len(RETRIES) and not outcome.final:
        wait = RETRIES[job.attempts - 1].total_seconds() * random.uniform(0.9, 1.1)
        later = now + timedelta(seconds=wait)
        session.execute(
            update(WebhookDelivery).where(where).values(**common, next_attempt_at=later)
        )
        return
    _move_deliveries(session, "give_up", where, **common)
    why = outcome.error or f"HTTP {outcome.status}"
    reason = (
        f"delivery {job.delivery_id} cannot be signed: {why}; add the old key to "
        "SECRET_KEY_PREVIOUS, or delete the subscription and subscribe again"
        if outcome.final
        else f"delivery {job.delivery_id} failed {job.attempts} times over more than a day "
        f"(last: {why}); resume it when the endpoint works again"
    )
    # paused already (another of its deliveries died first): that first reason stands
    _move_subscription(
        session, job.subscription_id, "dead_letter", paused_reason=reason, strict=False
    )


# A receiver failing this many times in a row is left alone for BREAK_FOR: its deliveries wait,
# and the worker's time goes to the others.
BREAK_AFTER = 5
BREAK_FOR = timedelta(minutes=5)


def _breaker(session: Session, subscription_id: int, ok: bool, now: datetime) -> None:
    where = WebhookSubscription.id == subscription_id
    if ok:
        session.execute(
            update(WebhookSubscription).where(where).values(failures=0, open_until=None)
        )
        return
    failures = (session.scalar(select(WebhookSubscription.failures).where(where)) or 0) + 1
    values: dict[str, Any] = {"failures": failures}
    if failures >= BREAK_AFTER:
        values["open_until"] = now + BREAK_FOR
    session.execute(update(WebhookSubscription).where(where).values(**values))


def pause(session: Session, subscription: WebhookSubscription, reason: str) -> None:
    _move_subscription(session, subscription.id, "pause", paused_reason=reason)


def redeliver(session: Session, delivery: WebhookDelivery, now: datetime) -> None:
    """An admin's "send it again", whatever its status: pending now, from its first attempt."""
    name = REDELIVER[DeliveryStatus(delivery.status)]
    _move_deliveries(session, name, WebhookDelivery.id == delivery.id, **_afresh(now))


def resume(session: Session, subscription: WebhookSubscription, now: datetime) -> int:
    """Active again; its dead deliveries are tried once more. Returns how many."""
    _move_subscription(session, subscription.id, "resume", paused_reason=None)
    mine = WebhookDelivery.subscription_id == subscription.id
    return _move_deliveries(session, "revive", mine, **_afresh(now))


def _afresh(now: datetime) -> dict[str, Any]:
    return {"next_attempt_at": now, "leased_until": None, "attempts": 0}


def _move_deliveries(session: Session, name: str, which: ColumnElement[bool], **values: Any) -> int:
    """Deliveries `which` in the transition's source state moved to its destination (the
    engine's, checked against the spec); returns how many."""
    source, dest = WEBHOOK_DELIVERY_WORKFLOW.moving_rows(name)
    moved = session.execute(
        update(WebhookDelivery)
        .where(which, WebhookDelivery.status == source)
        .values({WebhookDelivery.status: dest, **values})
    )
    return int(getattr(moved, "rowcount", 0) or 0)


def _move_subscription(
    session: Session, subscription_id: int, name: str, *, strict: bool = True, **values: Any
) -> None:
    """A subscription moved by the engine: from another state, refused (409) when `strict`,
    else left as it is — never overwritten."""
    workflow = WEBHOOK_SUBSCRIPTION_WORKFLOW
    if strict:
        current = session.scalar(
            select(WebhookSubscription.status).where(WebhookSubscription.id == subscription_id)
        )
        workflow.starting(str(current), name)
    source, dest = workflow.moving_rows(name)
    session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id, WebhookSubscription.status == source)
        .values({WebhookSubscription.status: dest, **values})
    )


def remove(session: Session, subscription: WebhookSubscription) -> None:
    """A subscription and its queued and past deliveries are gone (the audit trail keeps that it
    was removed)."""
    session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    )
    session.delete(subscription)


def rewrap_all(session: Session, ring: Sequence[str]) -> tuple[int, list[int]]:
    """After SECRET_KEY's rotation: every subscription's secret wrapped under the current key.
    Returns how many were wrapped again, and the subscriptions no key of the ring opens."""
    done, unreadable = 0, []
    for sub in session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)):
        try:
            secret, older = unwrap_any(ring, sub.secret_wrapped, sub.id)
        except SecretUnreadable:
            unreadable.append(sub.id)
            continue
        if older:
            sub.secret_wrapped = wrap(ring[0], secret, sub.id)
            done += 1
    session.flush()
    return done, unreadable


def subscription_with_owner(
    session: Session, subscription_id: int
) -> tuple[WebhookSubscription, Organization] | None:
    """A subscription and the organization it belongs to, if both exist."""
    found = session.get(WebhookSubscription, subscription_id)
    org = session.get(Organization, found.organization_id) if found else None
    return (found, org) if found is not None and org is not None else None


def subscriptions(session: Session, visible: ColumnElement[bool]) -> list[WebhookSubscription]:
    """The subscriptions of organizations `visible` admits, oldest first."""
    return list(
        session.scalars(
            select(WebhookSubscription)
            .join(Organization, Organization.id == WebhookSubscription.organization_id)
            .where(visible)
            .order_by(WebhookSubscription.id)
        )
    )


def deliveries(subscription: WebhookSubscription, status: str | None) -> Any:
    """A subscription's delivery log, as a list pages it (by status, if named)."""
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    return query if status is None else query.where(WebhookDelivery.status == status)


def delivery_of(
    session: Session, subscription: WebhookSubscription, delivery_id: int
) -> WebhookDelivery | None:
    found = session.get(WebhookDelivery, delivery_id)
    return found if found is not None and found.subscription_id == subscription.id else None
