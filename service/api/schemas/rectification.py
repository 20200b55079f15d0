from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.schemas.common import query_id
from service.api.schemas.common import text as text_field
from service.survey.classification import PRIORITIES, TERMS


class HelpersIn(Schema):
    paired_leader = text_field(100, allow_none=True, metadata={"description": "挂点领导"})
    liaison = text_field(100, allow_none=True, metadata={"description": "联络员"})
    helping_department = text_field(100, allow_none=True, metadata={"description": "挂扶部门"})
    first_secretary = text_field(100, allow_none=True, metadata={"description": "第一书记"})
    reason = text_field(2000, allow_none=True)


class ItemIn(Schema):
    problem = text_field(2000, required=True)
    problem_ref = fields.String(
        validate=validate.Length(max=40), metadata={"description": "a survey finding, e.g. E1-P2"}
    )
    cause = text_field(2000, required=True)
    measure = text_field(2000, required=True)
    target = text_field(1000, required=True, metadata={"description": "quantified target"})
    deadline = fields.Date(required=True)
    responsible = text_field(100, required=True)
    category = text_field(
        40, allow_none=True, metadata={"description": "the problem's category (作风建设类 …)"}
    )
    task = text_field(
        40,
        allow_none=True,
        metadata={"description": "the task it serves (抓书记、强班子 …; 一组织一策)"},
    )
    term = fields.String(
        validate=validate.OneOf(list(TERMS)), metadata={"description": "near 近期, long 中长期"}
    )
    priority = fields.String(
        validate=validate.OneOf(list(PRIORITIES)), metadata={"description": "urgent 紧迫, normal"}
    )


class StepIn(Schema):
    evidence = text_field(4000, allow_none=True, metadata={"description": "required to submit"})
    reason = text_field(2000, allow_none=True, metadata={"description": "required to return"})


class ItemOut(Schema):
    grading_id = fields.Integer(required=True)
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    problem = fields.String(required=True)
    problem_ref = fields.String(allow_none=True, required=True)
    cause = fields.String(required=True)
    measure = fields.String(required=True)
    target = fields.String(required=True)
    deadline = fields.String(required=True)
    responsible = fields.String(required=True)
    status = fields.String(required=True)
    evidence = fields.String(allow_none=True, required=True)
    returned_reason = fields.String(allow_none=True, required=True)
    category = fields.String(allow_none=True)
    task = fields.String(allow_none=True)
    term = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)
    overdue = fields.Boolean(required=True)
    paired_with = fields.String(
        allow_none=True, required=True, metadata={"description": "先进帮后进: the partner"}
    )


class PartnerOut(Schema):
    organization_id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class PairingProposalOut(Schema):
    grading_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    organization_name = fields.String(required=True)
    partner = fields.Nested(PartnerOut, allow_none=True, required=True)
    why = fields.String(
        required=True, metadata={"description": "same_area, same_domain, nearest or none"}
    )
    explanation = fields.String(required=True)


class PairingProposalList(Schema):
    limit = fields.Integer(required=True, metadata={"description": "per advanced organization"})
    items = fields.List(fields.Nested(PairingProposalOut), required=True)


class PairingIn(Schema):
    partner_organization_id = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=2_147_483_647)
    )
    reason = text_field(
        2000, allow_none=True, metadata={"description": "required unless as proposed"}
    )


class ActivityIn(Schema):
    kind = fields.String(
        required=True, validate=validate.OneOf(["座谈会", "经验交流会", "实地参观"])
    )
    held_on = fields.Date(required=True)
    notes = text_field(4000, required=True)


class RectificationOut(Schema):
    grading_id = fields.Integer(required=True)
    needs_helpers = fields.Boolean(required=True)
    helpers = fields.Dict(allow_none=True, required=True)
    pairing = fields.Dict(
        allow_none=True, required=True, metadata={"description": "先进帮后进: the partner"}
    )
    activities = fields.List(fields.Dict(), required=True, metadata={"description": "joint"})
    plan_approved = fields.Boolean(required=True)
    items = fields.List(fields.Nested(ItemOut), required=True)


class LedgerOut(Schema):
    items = fields.List(fields.Nested(ItemOut), required=True)


class LedgerQuery(Schema):
    within = query_id()
    overdue = fields.Boolean()


class LedgerScope(Schema):
    within = query_id(metadata={"description": "a unit of your subtree (default: the campaign's)"})
