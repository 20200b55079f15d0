"""The lifecycles of a portal's webhook subscription and of each delivery to it.

A subscription is active or paused: an admin pauses and resumes it; the worker pauses it when a
delivery is dead-lettered (with the reason). A delivery is pending until a 2xx (delivered) or
until its retries run out (dead); an admin sends one again (the same webhook-id) from any
status, and resuming a subscription sends its dead ones again. The worker's steps are
`automatic`: no role fires them and no endpoint serves them.

The worker moves many rows at once with set-based UPDATEs: those take their destination from
the engine (Workflow.moving_rows) and move only rows in the transition's source state.
Roles are named by value, as the organizations' lifecycle does (docs/architecture.md)."""

from __future__ import annotations

from service.errors import WebhookWrongState
from service.events.models import DeliveryStatus, SubscriptionStatus
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec

ADMIN = "admin"  # service.accounts.models.Role.ADMIN

WEBHOOK_SUBSCRIPTION_SPEC = WorkflowSpec(
    name="webhook_subscription",
    label="推送订阅",
    attribute="status",
    initial=SubscriptionStatus.ACTIVE,
    states=(
        StateSpec(SubscriptionStatus.ACTIVE, "推送中"),
        StateSpec(SubscriptionStatus.PAUSED, "已暂停"),
    ),
    transitions=(
        TransitionSpec(
            "pause", SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED, "暂停", (ADMIN,)
        ),
        TransitionSpec(
            "dead_letter",
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAUSED,
            "投递失败，自动暂停",
            (),
            needs_reason=True,
            automatic=True,
        ),
        TransitionSpec(
            "resume", SubscriptionStatus.PAUSED, SubscriptionStatus.ACTIVE, "恢复", (ADMIN,)
        ),
    ),
    wrong_state=WebhookWrongState,
)
WEBHOOK_SUBSCRIPTION_WORKFLOW = Workflow(WEBHOOK_SUBSCRIPTION_SPEC)

WEBHOOK_DELIVERY_SPEC = WorkflowSpec(
    name="webhook_delivery",
    label="推送投递",
    attribute="status",
    initial=DeliveryStatus.PENDING,
    states=(
        StateSpec(DeliveryStatus.PENDING, "待送达"),
        StateSpec(DeliveryStatus.DELIVERED, "已送达"),
        StateSpec(DeliveryStatus.DEAD, "已放弃"),
    ),
    transitions=(
        TransitionSpec(
            "deliver", DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, "送达", (), automatic=True
        ),
        TransitionSpec(
            "give_up",
            DeliveryStatus.PENDING,
            DeliveryStatus.DEAD,
            "多次失败，放弃",
            (),
            automatic=True,
        ),
        # An admin's "send it again", from each status (one transition per source, as the
        # engine declares them); resuming a subscription fires `revive` on its dead ones.
        TransitionSpec(
            "retry_now", DeliveryStatus.PENDING, DeliveryStatus.PENDING, "立即重试", (ADMIN,)
        ),
        TransitionSpec("revive", DeliveryStatus.DEAD, DeliveryStatus.PENDING, "重新投递", (ADMIN,)),
        TransitionSpec(
            "send_again", DeliveryStatus.DELIVERED, DeliveryStatus.PENDING, "再次发送", (ADMIN,)
        ),
    ),
    wrong_state=WebhookWrongState,
)
WEBHOOK_DELIVERY_WORKFLOW = Workflow(WEBHOOK_DELIVERY_SPEC)
# The transition an admin's redeliver fires, by the delivery's status.
REDELIVER = {
    DeliveryStatus.PENDING: "retry_now",
    DeliveryStatus.DEAD: "revive",
    DeliveryStatus.DELIVERED: "send_again",
}
