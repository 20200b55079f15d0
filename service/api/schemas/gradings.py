from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from service.api.schemas.common import (
    MAX_ID,
    PageQuery,
    id_field,
    query_id,
    sort_field,
    text,
    total_field,
)
from service.lifecycle.re_checks import OUTCOMES
from service.lifecycle.workflow import subject_label
from service.workflows.states import ApprovalState, values


class WarningOut(Schema):
    code = fields.String(required=True)
    message_zh = fields.String(required=True)
    message_en = fields.String(required=True)


class RefusalOut(WarningOut):
    detail = fields.String(metadata={"description": "what failed, e.g. which scope's quota"})


class AvailableTransitionOut(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    dest = fields.String(required=True)
    dest_label = fields.String(required=True)
    needs_reason = fields.Boolean(required=True)
    needs_approval = fields.Boolean(required=True)
    allowed = fields.Boolean(required=True)
    blocked_by = fields.List(fields.Nested(RefusalOut), required=True)


class ApprovalOut(Schema):
    id = fields.Integer(required=True)
    grading_id = fields.Integer(required=True)
    organization_id = fields.Integer(attribute="grading.organization_id", required=True)
    organization_name = fields.String(attribute="grading.organization.name", required=True)
    kind = fields.String(required=True)
    subject = fields.String(required=True)
    subject_label = fields.Function(
        lambda a: subject_label(a.kind, a.subject),
        required=True,
        metadata={"type": "string", "description": "the transition's or the record's name"},
    )
    state = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)
    requested_by = fields.String(required=True)
    requested_at = fields.DateTime(required=True)
    decided_by = fields.String(allow_none=True, required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)
    comment = fields.String(allow_none=True, required=True)


class GradingView(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    organization_name = fields.String(required=True)
    standard_id = fields.Integer(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    version = fields.Integer(required=True)
    state_entered_at = fields.DateTime(required=True)
    deadline = fields.Date(allow_none=True, required=True)
    days_left = fields.Integer(
        allow_none=True, required=True, metadata={"description": "negative when overdue"}
    )
    overdue = fields.Boolean(required=True)
    pending_approval = fields.Nested(ApprovalOut, allow_none=True, required=True)
    transitions = fields.List(
        fields.Nested(AvailableTransitionOut),
        required=True,
        metadata={"description": "every transition from the current state; allowed or why not"},
    )
    publicity_starts_on = fields.Date(allow_none=True, required=True)
    publicity_ends_on = fields.Date(allow_none=True, required=True)
    publicity_ends_estimated = fields.Boolean(
        required=True,
        metadata={
            "description": "the end was counted on weekends alone (the year's holidays not "
            "entered yet); corrected when they are — later, never earlier"
        },
    )
    warnings = fields.List(
        fields.Nested(WarningOut),
        required=True,
        metadata={"description": "what to know that is not an error (calendar_estimated)"},
    )


class TransitionRequest(Schema):
    transition = fields.String(required=True, validate=validate.Length(min=1, max=60))
    reason = text(2000, allow_none=True)


class BulkTransitionRequest(TransitionRequest):
    grading_ids = fields.List(id_field(), validate=validate.Length(min=1, max=5000))
    within = id_field(metadata={"description": "every grading in this organization's subtree"})
    state = fields.String(
        validate=validate.Length(max=40), metadata={"description": "only gradings in this state"}
    )
    founded_since = fields.Date(
        metadata={
            "description": "only organizations founded on or after this date (the 回头看 "
            "of organizations set up in the campaign's drive)"
        }
    )
    meeting_id = id_field(
        metadata={"description": "only the gradings this 分类定级会议 decided (bulk `decide`)"}
    )


class BulkResultOut(Schema):
    grading_id = fields.Integer(required=True)
    outcome = fields.String(
        required=True, metadata={"description": "fired | approval_requested | refused"}
    )
    state = fields.String(required=True)
    version = fields.Integer(required=True)
    approval_id = fields.Integer(allow_none=True, required=True)
    problem = fields.Dict(allow_none=True, required=True)


class BulkTransitionOut(Schema):
    transition = fields.String(required=True)
    fired = fields.Integer(required=True)
    approval_requested = fields.Integer(required=True)
    refused = fields.Integer(required=True)
    results = fields.List(fields.Nested(BulkResultOut), required=True)


class HistoryEntryOut(Schema):
    event_id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    role = fields.String(allow_none=True, required=True)
    action = fields.String(required=True)
    summary = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)
    before = fields.Raw(allow_none=True, required=True)
    after = fields.Raw(allow_none=True, required=True)


class HistoryOut(Schema):
    grading_id = fields.Integer(required=True)
    items = fields.List(fields.Nested(HistoryEntryOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class RecordVersionOut(Schema):
    version = fields.Integer(required=True)
    data = fields.Dict(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    reason = fields.String(allow_none=True, required=True)
    approval_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "the approval it waited for"}
    )


class RecordVersionsOut(Schema):
    grading_id = fields.Integer(required=True)
    record_type = fields.String(required=True)
    key = fields.String(required=True)
    items = fields.List(fields.Nested(RecordVersionOut), required=True)


class DecisionRequest(Schema):
    comment = text(2000, allow_none=True)


class ApprovalPage(Schema):
    items = fields.List(fields.Nested(ApprovalOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class ApprovalListQuery(PageQuery):
    sort = sort_field("requested_at", "state")
    state = fields.String(validate=validate.OneOf(values(ApprovalState)))
    grading_id = query_id()


__all__ = ["MAX_ID"]


class WorkGroupIn(Schema):
    name = text(100, required=True, metadata={"description": "复查工作组, e.g. 县委组织部复查组"})
    leader = text(50, required=True, metadata={"description": "组长"})
    members = fields.List(text(50), validate=validate.Length(max=50))


class ReCheckRowIn(Schema):
    grading_id = id_field(required=True)
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(list(OUTCOMES)),
        metadata={"description": "confirmed 维持原定等次 | adjust 调整等次，重新评定"},
    )
    findings = fields.List(text(1000), validate=validate.Length(max=50))
    three_strikes_issue = fields.Boolean(
        metadata={"description": "“三打两建”中发现的问题（欺行霸市、制假售假、商业贿赂、保护伞…）"}
    )
    proposed_level = text(40, metadata={"description": "the level to adjust to (e.g. poor 较差)"})
    reason = text(2000, metadata={"description": "required when the grading was re-checked before"})


class ReCheckSheetIn(Schema):
    work_group = fields.Nested(WorkGroupIn, required=True)
    checked_on = fields.Date(required=True)
    results = fields.List(
        fields.Nested(ReCheckRowIn), required=True, validate=validate.Length(min=1, max=500)
    )

    @validates("results")
    def _each_grading_once(self, results: list[dict[str, Any]], **_: Any) -> None:
        # a row whose id is itself invalid is reported by its own field
        ids = [r["grading_id"] for r in results if "grading_id" in r]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValidationError(f"a grading is re-checked once a sheet: {twice}")


class ReCheckResultOut(Schema):
    grading_id = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"description": "the re_check record's"})
    outcome = fields.String(required=True)
    approval_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "reopen_review asked for"}
    )


class ReCheckSheetOut(Schema):
    campaign_id = fields.Integer(required=True)
    checked = fields.Integer(required=True)
    adjusted = fields.Integer(required=True)
    results = fields.List(fields.Nested(ReCheckResultOut), required=True)
