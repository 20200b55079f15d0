from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from service.api.schemas.common import PageQuery, id_field, query_id, text, total_field
from service.events.models import DeliveryStatus
from service.events.outbox import TYPES
from service.workflows.states import values

TYPE_LIST = ", ".join(TYPES)


def _known_types(value: list[str]) -> None:
    unknown = [t for t in value if t not in TYPES]
    if unknown:
        raise ValidationError(f"unknown event type(s) {unknown}; known: {TYPE_LIST}")


class CloudEvent(Schema):
    specversion = fields.String(required=True, metadata={"description": "CloudEvents 1.0"})
    id = fields.String(required=True, metadata={"description": "unique; webhook-id on delivery"})
    source = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": f"one of: {TYPE_LIST}"})
    subject = fields.String(required=True, metadata={"description": "e.g. gradings/12"})
    time = fields.String(required=True)
    datacontenttype = fields.String(required=True)
    data = fields.Dict(required=True, metadata={"description": "ids, Chinese labels, a link"})
    sequence = fields.String(required=True, metadata={"description": "the feed's cursor"})


class EventFeedQuery(Schema):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "the `sequence` of the last event you have (0: from the start)"},
    )
    types = fields.String(
        validate=validate.Length(max=2000),
        metadata={"description": f"comma-separated event types (default all): {TYPE_LIST}"},
    )
    within = query_id(metadata={"description": "events of this organization's subtree"})
    wait = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=30),
        metadata={"description": "seconds to wait for an event when there is none (long poll)"},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))

    @validates("types")
    def _types(self, value: str, **_: object) -> None:
        _known_types([t.strip() for t in value.split(",") if t.strip()])


class EventFeed(Schema):
    items = fields.List(fields.Nested(CloudEvent), required=True)
    next_after = fields.Integer(
        required=True, metadata={"description": "pass it as `after` for what comes next"}
    )


class SubscriptionCreate(Schema):
    name = text(100, required=True)
    url = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=500),
        metadata={"description": "where events are POSTed (Standard Webhooks signatures)"},
    )
    types = fields.List(
        fields.String(validate=validate.Length(max=80)),
        load_default=list,
        validate=[validate.Length(max=len(TYPES)), _known_types],
        metadata={"description": "the event types to send (empty: all)"},
    )
    organization_id = id_field(required=True, metadata={"description": "the subtree it covers"})


class SubscriptionOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    url = fields.String(required=True)
    types = fields.List(fields.String(), required=True)
    organization_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "active | paused"})
    paused_reason = fields.String(allow_none=True, required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class SubscriptionCreated(SubscriptionOut):
    secret = fields.String(
        required=True,
        metadata={"description": "whsec_…: shown once; verify webhook-signature with it"},
    )


class SubscriptionList(Schema):
    items = fields.List(fields.Nested(SubscriptionOut), required=True)


class DeliveryOut(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    sequence = fields.Integer(attribute="seq", required=True)
    subject = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "pending | delivered | dead"})
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(required=True)
    last_status = fields.Integer(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)
    delivered_at = fields.DateTime(allow_none=True, required=True)


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(values(DeliveryStatus)))


class DeliveryPage(Schema):
    items = fields.List(fields.Nested(DeliveryOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()
