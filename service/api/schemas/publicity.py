from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.schemas.common import PageQuery, id_field, query_id, total_field
from service.api.schemas.common import text as text_field
from service.workflows.states import ComplaintState, values


class NoticeQuery(PageQuery):
    area = query_id(
        metadata={"description": "an organization (a committee's subtree); default: the campaign's"}
    )


class NoticeEntryOut(Schema):
    grading_id = fields.Integer(required=True)
    organization = fields.String(required=True)
    domain = fields.String(allow_none=True, required=True)
    domain_label = fields.String(allow_none=True, required=True, metadata={"description": "领域"})
    level = fields.String(allow_none=True, required=True)
    level_label = fields.String(allow_none=True, required=True)
    publicity_starts_on = fields.Date(allow_none=True, required=True)
    publicity_ends_on = fields.Date(allow_none=True, required=True)
    publicity_ends_estimated = fields.Boolean(
        required=True,
        metadata={"description": "the end is an estimate (weekends alone), corrected later"},
    )


class NoticeOut(Schema):
    campaign = fields.String(required=True)
    area = fields.String(required=True)
    committee = fields.String(
        required=True, metadata={"description": "the committee that publishes the notice"}
    )
    publicity_working_days = fields.Integer(required=True)
    page = fields.String(
        required=True, metadata={"description": "the notice as a page to read and print"}
    )
    complaint_form = fields.String(
        required=True, metadata={"description": "the page where the public files a complaint"}
    )
    items = fields.List(fields.Nested(NoticeEntryOut), required=True)
    next_cursor = fields.String(
        allow_none=True, required=True, metadata={"description": "the next page's cursor"}
    )
    total = total_field()


class ComplaintIn(Schema):
    grading_id = id_field(required=True)
    text = text_field(
        2000, required=True, metadata={"description": "what is wrong, at most 2000 characters"}
    )
    contact = text_field(
        200, allow_none=True, metadata={"description": "optional: how to reach you"}
    )


class ComplaintFiledOut(Schema):
    tracking_code = fields.String(
        required=True, metadata={"description": "keep it to read the reply"}
    )
    state = fields.String(required=True)


class ComplaintPublicOut(Schema):
    tracking_code = fields.String(required=True)
    state = fields.String(required=True)
    received_at = fields.DateTime(required=True)
    answered_at = fields.DateTime(allow_none=True, required=True)
    upheld = fields.Boolean(allow_none=True, required=True)
    reply = fields.String(allow_none=True, required=True)


class ComplaintOut(Schema):
    id = fields.Integer(required=True)
    grading_id = fields.Integer(required=True)
    text = fields.String(required=True)
    contact = fields.String(allow_none=True, required=True)
    state = fields.String(required=True)
    assigned_to = fields.String(allow_none=True, required=True)
    findings = fields.String(allow_none=True, required=True)
    reply = fields.String(allow_none=True, required=True)
    upheld = fields.Boolean(allow_none=True, required=True)
    received_at = fields.DateTime(required=True)
    answered_at = fields.DateTime(allow_none=True, required=True)


class ComplaintPage(Schema):
    items = fields.List(fields.Nested(ComplaintOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class ComplaintListQuery(PageQuery):
    state = fields.String(validate=validate.OneOf(values(ComplaintState)))
    grading_id = query_id()


class ComplaintAnswerIn(Schema):
    findings = text_field(4000, required=True, metadata={"description": "调查核实"})
    reply = text_field(4000, required=True, metadata={"description": "反馈 (the filer reads it)"})
    upheld = fields.Boolean(required=True)
