from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.schemas.common import PageQuery, Score, ScoreOut, text, total_field

CODE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,40}$", error="letters, digits, '_' or '-', at most 40")


class SubItemIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = text(200, required=True)
    max_points = Score(required=True, minimum="0.01", maximum="1000")
    description = text(4000, allow_none=True)


class IndicatorIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = text(200, required=True)
    max_points = Score(required=True, minimum="0.01", maximum="1000")
    description = text(4000, allow_none=True)
    guidance = text(4000, allow_none=True, metadata={"description": "scoring guidance"})
    sub_items = fields.List(fields.Nested(SubItemIn), validate=validate.Length(max=50))


class AdjustmentIn(Schema):
    code = fields.String(required=True, validate=CODE)
    kind = fields.String(required=True, validate=validate.OneOf(["bonus", "deduction"]))
    name = text(200, required=True)
    max_points = Score(required=True, minimum="0.01", maximum="100")
    description = text(4000, allow_none=True)


class StandardContent(Schema):
    name = text(200)
    description = text(4000, allow_none=True)
    total_points = Score(minimum="1", maximum="1000")
    bonus_cap = Score(minimum="0", maximum="100")
    deduction_cap = Score(minimum="0", maximum="100")
    indicators = fields.List(fields.Nested(IndicatorIn), validate=validate.Length(min=1, max=50))
    adjustments = fields.List(fields.Nested(AdjustmentIn), validate=validate.Length(max=50))
    reason = text(2000, allow_none=True)


class StandardCreate(StandardContent):
    domain = fields.String(required=True, validate=validate.Length(max=30))
    name = text(200, required=True)
    total_points = Score(required=True, minimum="1", maximum="1000")
    indicators = fields.List(
        fields.Nested(IndicatorIn), required=True, validate=validate.Length(min=1, max=50)
    )


class SubItemOut(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    max_points = ScoreOut(required=True)
    description = fields.String(allow_none=True, required=True)


class IndicatorOut(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    max_points = ScoreOut(required=True)
    description = fields.String(allow_none=True, required=True)
    guidance = fields.String(allow_none=True, required=True)
    sub_items = fields.List(fields.Nested(SubItemOut), required=True)


class AdjustmentOut(Schema):
    code = fields.String(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)
    max_points = ScoreOut(required=True)
    description = fields.String(allow_none=True, required=True)


class StandardOut(Schema):
    id = fields.Integer(required=True)
    domain = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    total_points = ScoreOut(required=True)
    bonus_cap = ScoreOut(required=True)
    deduction_cap = ScoreOut(required=True)
    supersedes_id = fields.Integer(allow_none=True, required=True)
    frozen = fields.Boolean(required=True, metadata={"description": "used by a campaign"})
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    indicators = fields.List(fields.Nested(IndicatorOut), required=True)
    adjustments = fields.List(fields.Nested(AdjustmentOut), required=True)


class StandardPage(Schema):
    items = fields.List(fields.Nested(StandardOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class StandardListQuery(PageQuery):
    domain = fields.String(validate=validate.Length(max=30))


class LevelIn(Schema):
    code = fields.String(required=True, validate=CODE)
    label = text(40, required=True)
    lower_bound = Score(required=True, minimum="0", maximum="1000")


class LevelSchemeCreate(Schema):
    code = fields.String(required=True, validate=CODE)
    name = text(100, required=True)
    levels = fields.List(
        fields.Nested(LevelIn), required=True, validate=validate.Length(min=2, max=10)
    )


class LevelOut(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)
    lower_bound = ScoreOut(required=True)


class LevelSchemeOut(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    builtin = fields.Boolean(required=True)
    levels = fields.List(fields.Nested(LevelOut), required=True)


class LevelSchemeList(Schema):
    items = fields.List(fields.Nested(LevelSchemeOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()
