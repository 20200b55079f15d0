from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.api.schemas.common import id_field, text, total_field

USERNAME = fields.String(validate=validate.Length(min=1, max=100))


def _leader(**kw: Any) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "组长: an account holding the inspector role over the group"},
        **kw,
    )


def _members() -> fields.List:
    return fields.List(
        USERNAME,
        validate=validate.Length(max=20),
        metadata={"description": "组员: accounts holding the inspector role over the group"},
    )


def _covers(**kw: Any) -> fields.List:
    return fields.List(
        id_field(),
        validate=validate.Length(min=1, max=100),
        metadata={"description": "the organizations it is responsible for, each with its subtree"},
        **kw,
    )


NAME = {"description": "e.g. 第一指导检查组"}


class GroupIn(Schema):
    name = text(200, required=True, metadata=NAME)
    leader = _leader(required=True)
    members = _members()
    covers = _covers(required=True)


class GroupPatch(Schema):
    name = text(200, metadata=NAME)
    leader = _leader()
    members = _members()
    covers = _covers()
    reason = text(2000, required=True, metadata={"description": "why the group changes"})


class GroupOut(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    name = fields.String(required=True)
    leader = fields.String(required=True)
    members = fields.List(fields.String(), required=True)
    covers = fields.List(fields.Integer(), required=True)
    version = fields.Integer(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class GroupPage(Schema):
    items = fields.List(fields.Nested(GroupOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class AcceptanceIn(Schema):
    conclusion = fields.String(
        required=True,
        validate=validate.OneOf(["accepted", "not_accepted"]),
        metadata={"description": "验收通过 (accepted) or not"},
    )
    findings = text(4000, required=True, metadata={"description": "what the group found"})
    accepted_on = fields.Date(required=True, metadata={"description": "the date of the check"})
    reason = text(2000, allow_none=True, metadata={"description": "for a correction"})


class VisitIn(Schema):
    visited_on = fields.Date(required=True)
    purpose = fields.String(
        required=True,
        validate=validate.OneOf(["调查摸底", "分类定级", "整改提高", "回头看", "晋位升级"]),
        metadata={"description": "what the visit checked"},
    )
    notes = text(4000, required=True, metadata={"description": "what it found, what it asked"})
    present = fields.List(
        USERNAME,
        validate=validate.Length(min=1, max=21),
        metadata={"description": "who of the group went (default: the caller)"},
    )


class InspectionOut(Schema):
    grading_id = fields.Integer(required=True)
    group = fields.Nested(
        GroupOut, allow_none=True, required=True, metadata={"description": "None: no group"}
    )
    required = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the acceptances the campaign requires"},
    )
    acceptances = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(allow_none=True),
        required=True,
        metadata={"description": "rectification / promotion → the acceptance, or None"},
    )
    visits = fields.List(fields.Dict(), required=True)
