from __future__ import annotations

from marshmallow import Schema, fields

from service.api.schemas.common import ScoreOut, id_field, text, total_field
from service.api.schemas.evaluation import VersionOut, validate

CODE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,40}$", error="letters, digits, '_' or '-', at most 40")


class DecisionIn(Schema):
    level = fields.String(required=True, validate=CODE)
    reason = text(
        2000,
        allow_none=True,
        metadata={
            "description": "required when the level differs from the computed one, "
            "and for every version after the first"
        },
    )
    new_org_exception = text(
        2000,
        allow_none=True,
        metadata={
            "description": "asks for the top level for an organization founded after the cut-off"
        },
    )


class DecisionOut(Schema):
    grading_id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    level = fields.String(required=True)
    computed_level = fields.String(required=True)
    composite = ScoreOut(required=True)
    reason = fields.String(allow_none=True, required=True)
    new_org_exception = fields.String(allow_none=True, required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime()
    versions = fields.List(fields.Nested(VersionOut))


class VetoFlagIn(Schema):
    code = fields.String(required=True, validate=CODE)
    note = text(2000, allow_none=True)


class VetoesIn(Schema):
    flags = fields.List(fields.Nested(VetoFlagIn), required=True, validate=validate.Length(max=20))
    reason = text(2000, allow_none=True)


class VetoesOut(Schema):
    grading_id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    flags = fields.List(fields.Dict(), required=True)
    forced_level = fields.String(allow_none=True, required=True)
    versions = fields.List(fields.Nested(VersionOut))


class QuotaStatusOut(Schema):
    level_code = fields.String(required=True)
    scope = fields.String(required=True)
    unit_id = fields.Integer(
        required=True, metadata={"description": "the campaign's committee, or the deciding one"}
    )
    unit_name = fields.String(required=True)
    headroom = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "how many more may still get this level under the cap"},
    )
    max_share = ScoreOut(allow_none=True, required=True)
    min_share = ScoreOut(allow_none=True, required=True)
    decided = fields.Integer(required=True)
    total = fields.Integer(required=True)
    share = ScoreOut(required=True)
    all_decided = fields.Boolean(required=True)
    over_cap = fields.Boolean(required=True)
    under_floor = fields.Boolean(required=True)


class QuotaStatusList(Schema):
    items = fields.List(fields.Nested(QuotaStatusOut), required=True)


class MeetingResultIn(Schema):
    grading_id = id_field(required=True)
    level = fields.String(
        required=True, validate=CODE, metadata={"description": "the level the meeting decided"}
    )


class DecisionMeetingIn(Schema):
    organization_id = id_field(
        required=True, metadata={"description": "the committee that met (above every grading)"}
    )
    held_on = fields.Date(required=True)
    chaired_by = text(100, required=True, metadata={"description": "who chaired (主持), attending"})
    attendees = fields.List(text(100), required=True, validate=validate.Length(min=1, max=100))
    minutes = text(20000, required=True, metadata={"description": "会议记录: what was discussed"})
    results = fields.List(
        fields.Nested(MeetingResultIn),
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "the collective decision: a level per grading"},
    )
    corrects_id = id_field(metadata={"description": "the meeting record this one corrects"})
    reason = text(2000, allow_none=True, metadata={"description": "why it corrects another"})


class MeetingResultOut(Schema):
    grading_id = fields.Integer(required=True)
    level = fields.String(required=True)


class DecisionMeetingOut(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    held_on = fields.Date(required=True)
    chaired_by = fields.String(required=True)
    attendees = fields.List(fields.String(), required=True)
    minutes = fields.String(required=True)
    results = fields.List(fields.Nested(MeetingResultOut), required=True)
    corrects_id = fields.Integer(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.DateTime(required=True)


class DecisionMeetingPage(Schema):
    items = fields.List(fields.Nested(DecisionMeetingOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()
