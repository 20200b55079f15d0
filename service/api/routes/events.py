"""What portals hear: the event feed (long-polled) and the webhook subscriptions admins manage."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.pagination import paginate
from service.api.routing import Ctx, Reply, operation, public_base
from service.api.schemas.events import (
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    EventFeed,
    EventFeedQuery,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionOut,
)
from service.api.scope import scoped, within_path
from service.audit.operations import record
from service.db import unit_of_work, utcnow
from service.errors import Forbidden, NotFound, ValidationFailed
from service.events import http, outbox, webhooks
from service.events.models import WebhookDelivery, WebhookSubscription
from service.organizations.models import Organization

TAG = "events"
POLL_SECONDS = 0.25


@operation(
    api,
    "GET",
    "/events",
    summary="The event feed: what changed in your subtree after a cursor, in order (CloudEvents)",
    tag=TAG,
    query=EventFeedQuery,
    responses={200: EventFeed},
    errors=(404, 422),
    description="Resumable: keep `next_after` and pass it as `after`. With `wait=N` (at most "
    "30) an empty answer waits up to N seconds for the next event and returns within a "
    "second of its commit — for a portal that cannot receive webhooks. Events are numbered "
    "after their transaction commits, so a cursor never passes over a late commit.",
)
def event_feed(ctx: Ctx) -> Any:
    q = ctx.query
    types = [t.strip() for t in q.get("types", "").split(",") if t.strip()]
    after, limit = q["after"], q["limit"]
    factory = current_app.extensions["grading.sessions"]
    deadline = time.monotonic() + q["wait"]
    root = within_path(ctx, q)  # 404 before any waiting
    visible = ctx.caller.visible_filter(Organization.path)
    ctx.session.commit()  # hold no transaction (on SQLite: no write lock) while waiting
    while True:
        with unit_of_work(factory) as session:
            outbox.sequence(session, wait=False)  # a sequencer already at work: read its last
        with factory() as session:  # a fresh snapshot each round
            rows = outbox.feed(session, visible, after, types, limit, root)
        if rows or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    base = public_base()
    return {
        "items": [outbox.envelope(row, base) for row in rows],
        "next_after": rows[-1].seq if rows else after,
    }


# --- subscriptions ----------------------------------------------------------------------------


def _subscription(ctx: Ctx, subscription_id: int, what: str) -> WebhookSubscription:
    found = webhooks.subscription_with_owner(ctx.session, subscription_id)
    if found is None or not ctx.caller.sees(found[1]):
        raise NotFound(f"webhook subscription {subscription_id} was not found")
    ctx.caller.require(found[1], [Role.ADMIN], what)
    return found[0]


def _audit(ctx: Ctx, action: str, sub: WebhookSubscription, **after: Any) -> None:
    record(
        ctx.session,
        ctx.actor,
        action,
        "webhook_subscription",
        sub.id,
        organization_id=sub.organization_id,
        after={"name": sub.name, "url": sub.url, "types": sub.types, **after},
    )


@operation(
    api,
    "POST",
    "/webhooks",
    summary="Subscribe a portal's endpoint to events of a subtree (the secret is shown once)",
    tag=TAG,
    body=SubscriptionCreate,
    responses={201: SubscriptionCreated},
    errors=(403, 404, 422),
    description="Deliveries are POSTs of one CloudEvent, signed per Standard Webhooks "
    "(webhook-id, webhook-timestamp, webhook-signature = v1,base64(HMAC-SHA256)); retried with "
    "backoff for about 28 hours, then dead-lettered and the subscription paused. The receiver "
    "must resolve to public addresses — loopback, private, link-local (metadata) and other "
    "special addresses are refused here (422) and again at every delivery, unless listed in "
    "WEBHOOK_ALLOWED_NETWORKS; redirects are not followed; one deadline bounds each delivery "
    "(WEBHOOK_TIMEOUT_SECONDS); only the status code is kept.",
)
def create_subscription(ctx: Ctx) -> Any:
    org, _ = scoped(ctx, Organization, ctx.body["organization_id"], "organization_id")
    ctx.caller.require(org, [Role.ADMIN], "subscribing to events")
    if ctx.caller.via is not None:
        raise Forbidden(
            "a portal acting for someone (On-Behalf-Of) does not create credentials: a "
            "webhook secret would outlive the portal's grant"
        )
    try:
        http.check(ctx.body["url"], http.networks(ctx.settings.webhook_allowed_networks))
    except http.Refused as exc:
        raise ValidationFailed(str(exc), errors={"url": [str(exc)]}) from exc
    secret = webhooks.new_secret()
    sub = WebhookSubscription(
        name=ctx.body["name"],
        url=ctx.body["url"],
        types=sorted(set(ctx.body["types"])),
        organization_id=org.id,
        secret_wrapped=b"",
        created_by=ctx.actor.username,
    )
    ctx.session.add(sub)
    ctx.session.flush()
    sub.secret_wrapped = webhooks.wrap(ctx.settings.secret_key, secret, sub.id)
    ctx.session.flush()
    _audit(ctx, "webhook.create", sub)
    data = {name: getattr(sub, name) for name in SubscriptionOut().fields}
    return Reply(
        {**data, "secret": secret},
        201,
        {"Cache-Control": "no-store", "Location": f"/api/v1/webhooks/{sub.id}"},
    )


@operation(
    api,
    "GET",
    "/webhooks",
    summary="The webhook subscriptions of your subtrees",
    tag=TAG,
    responses={200: SubscriptionList},
    errors=(403,),
)
def list_subscriptions(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere([Role.ADMIN], "listing webhook subscriptions")
    visible = ctx.caller.visible_filter(Organization.path)
    return {"items": webhooks.subscriptions(ctx.session, visible)}


@operation(
    api,
    "GET",
    "/webhooks/<int:subscription_id>",
    summary="A webhook subscription: status, and why it is paused",
    tag=TAG,
    responses={200: SubscriptionOut},
    errors=(403, 404),
)
def get_subscription(ctx: Ctx, subscription_id: int) -> Any:
    return _subscription(ctx, subscription_id, "reading a webhook subscription")


@operation(
    api,
    "POST",
    "/webhooks/<int:subscription_id>/pause",
    summary="Pause deliveries (events keep being queued for it)",
    tag=TAG,
    responses={200: SubscriptionOut},
    errors=(403, 404, 409),
    fires=("webhook_subscription", "pause"),
)
def pause_subscription(ctx: Ctx, subscription_id: int) -> Any:
    sub = _subscription(ctx, subscription_id, "pausing a webhook subscription")
    webhooks.pause(ctx.session, sub, f"paused by {ctx.actor.username}")
    ctx.session.refresh(sub)
    _audit(ctx, "webhook.pause", sub)
    return sub


@operation(
    api,
    "POST",
    "/webhooks/<int:subscription_id>/resume",
    summary="Resume deliveries; dead-lettered ones are tried again",
    tag=TAG,
    responses={200: SubscriptionOut},
    errors=(403, 404, 409),
    fires=("webhook_subscription", "resume"),
)
def resume_subscription(ctx: Ctx, subscription_id: int) -> Any:
    sub = _subscription(ctx, subscription_id, "resuming a webhook subscription")
    revived = webhooks.resume(ctx.session, sub, utcnow())
    ctx.session.refresh(sub)
    _audit(ctx, "webhook.resume", sub, revived=revived)
    return sub


@operation(
    api,
    "DELETE",
    "/webhooks/<int:subscription_id>",
    summary="Remove a subscription and its queued deliveries",
    tag=TAG,
    responses={204: None},
    errors=(403, 404),
)
def delete_subscription(ctx: Ctx, subscription_id: int) -> Any:
    sub = _subscription(ctx, subscription_id, "removing a webhook subscription")
    _audit(ctx, "webhook.delete", sub)
    webhooks.remove(ctx.session, sub)
    return Reply(None, 204)


@operation(
    api,
    "GET",
    "/webhooks/<int:subscription_id>/deliveries",
    summary="The subscription's delivery log, oldest first: status, attempts, last answer",
    tag=TAG,
    query=DeliveryQuery,
    responses={200: DeliveryPage},
    errors=(403, 404, 422),
)
def list_deliveries(ctx: Ctx, subscription_id: int) -> Any:
    sub = _subscription(ctx, subscription_id, "reading webhook deliveries")
    query = webhooks.deliveries(sub, ctx.query.get("status"))
    return paginate(ctx, query, WebhookDelivery.id)


@operation(
    api,
    "POST",
    "/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver",
    summary="Send one delivery again (the same webhook-id), whatever its status",
    tag=TAG,
    responses={202: DeliveryOut},
    errors=(403, 404),
)
def redeliver(ctx: Ctx, subscription_id: int, delivery_id: int) -> Any:
    sub = _subscription(ctx, subscription_id, "redelivering a webhook")
    delivery = webhooks.delivery_of(ctx.session, sub, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} was not found")
    webhooks.redeliver(ctx.session, delivery, utcnow())
    ctx.session.refresh(delivery)
    _audit(ctx, "webhook.redeliver", sub, delivery_id=delivery.id, event_id=delivery.event_id)
    return Reply(delivery, 202)
