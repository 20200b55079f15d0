from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.api.schemas.common import Score, ScoreOut, strict_int, text
from service.api.schemas.gradings import ApprovalOut
from service.survey.classification import AREA_FINDINGS, SURVEY_AREAS
from service.survey.operations import SURVEY_METHODS

COUNT_NAMES = (
    "meetings_held",
    "participants",
    "households_visited",
    "questionnaires_issued",
    "questionnaires_returned",
    "people_interviewed",
    "calls",
    "emails",
)
CODE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,40}$", error="letters, digits, '_' or '-', at most 40")


class AreaIn(Schema):
    finding = fields.String(
        required=True,
        validate=validate.OneOf(list(AREA_FINDINGS)),
        metadata={"description": "yes 是, partly 部分, no 否"},
    )
    note = text(1000, allow_none=True)


class SurveyEntryIn(Schema):
    method = fields.String(required=True, validate=validate.OneOf(SURVEY_METHODS))
    date = fields.Date(required=True)
    counts = fields.Dict(
        keys=fields.String(validate=validate.OneOf(COUNT_NAMES)),
        values=strict_int(minimum=0, maximum=1_000_000),
        metadata={"description": "e.g. questionnaires_issued / _returned"},
    )
    problems = fields.List(
        text(1000),
        validate=validate.Length(max=50),
        metadata={"description": "each becomes an item (E1-P1…) to link later"},
    )
    suggestions = fields.List(text(1000), validate=validate.Length(max=50))
    note = text(4000, allow_none=True)
    problem_categories = fields.List(
        text(40),
        validate=validate.Length(max=50),
        metadata={
            "description": "each problem's category, in order (作风建设类, 党建工作类 … or the "
            "campaign's decision_config.problem_categories)"
        },
    )
    areas = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(SURVEY_AREAS))),
        values=fields.Nested(AreaIn),
        metadata={
            "description": "the five things a survey asks: setup 设置是否合理, leadership "
            "领导班子是否健全, systems 组织制度是否完善, funding 经费保障是否落实, "
            "role 作用发挥是否充分"
        },
    )

    @validates_schema(skip_on_field_errors=False)
    def _returned_not_above_issued(self, data: dict[str, object], **_: object) -> None:
        counts = data.get("counts") or {}
        assert isinstance(counts, dict)
        if counts.get("questionnaires_returned", 0) > counts.get("questionnaires_issued", 0):
            raise ValidationError("more questionnaires returned than issued", field_name="counts")


class SurveyEntryCorrection(SurveyEntryIn):
    reason = text(2000, required=True)


class LedgerItemOut(Schema):
    id = fields.String(required=True)
    text = fields.String(required=True)
    category = fields.String(allow_none=True, metadata={"description": "a problem's category"})


class SurveyEntryOut(Schema):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    method = fields.String(required=True)
    method_label = fields.String(required=True)
    date = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    problems = fields.List(fields.Nested(LedgerItemOut), required=True)
    suggestions = fields.List(fields.Nested(LedgerItemOut), required=True)
    note = fields.String(allow_none=True, required=True)
    areas = fields.Dict(metadata={"description": "the five areas' findings"})
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    reason = fields.String(allow_none=True, required=True)


class SurveyLedgerOut(Schema):
    grading_id = fields.Integer(required=True)
    items = fields.List(fields.Nested(SurveyEntryOut), required=True)


class SubScoreIn(Schema):
    code = fields.String(required=True, validate=CODE)
    score = Score(required=True, minimum="0", maximum="1000")


class IndicatorScoreIn(Schema):
    indicator = fields.String(required=True, validate=CODE)
    score = Score(
        minimum="0", maximum="1000", metadata={"description": "omit when sub-items are scored"}
    )
    sub_items = fields.List(fields.Nested(SubScoreIn), validate=validate.Length(max=50))
    evidence = text(4000, allow_none=True, metadata={"description": "自评纪实 / 考核说明"})


class AdjustmentPointsIn(Schema):
    code = fields.String(required=True, validate=CODE)
    points = Score(required=True, minimum="0", maximum="100")
    note = text(2000, allow_none=True)


class SheetIn(Schema):
    scores = fields.List(
        fields.Nested(IndicatorScoreIn), required=True, validate=validate.Length(min=1, max=50)
    )
    adjustments = fields.List(fields.Nested(AdjustmentPointsIn), validate=validate.Length(max=50))
    reason = text(
        2000,
        allow_none=True,
        metadata={"description": "required for every version after the first"},
    )


class SelfRatingIn(SheetIn):
    proposed_level = fields.String(
        required=True, validate=CODE, metadata={"description": "等级认定初步意见: a level code"}
    )
    explanation = text(4000, required=True, metadata={"description": "自我认级说明"})
    work_report = text(
        8000,
        allow_none=True,
        metadata={
            "description": "工作情况报告: what the meeting hears before it votes (shown on the "
            "ballot page with the 自我认级说明)"
        },
    )


class BranchOpinionIn(Schema):
    level = fields.String(
        required=True, validate=CODE, metadata={"description": "the level the branch proposes"}
    )
    opinion = text(
        4000,
        required=True,
        metadata={"description": "分类定级意见: formed from the ballot's results"},
    )
    met_on = fields.Date(
        required=True, metadata={"description": "the branch meeting that formed it"}
    )
    reason = text(
        2000, allow_none=True, metadata={"description": "required for a version after the first"}
    )


class AssessmentIn(SheetIn):
    note = text(4000, allow_none=True)


class TotalsOut(Schema):
    indicators = ScoreOut(required=True)
    bonus = ScoreOut(required=True)
    deduction = ScoreOut(required=True)
    total = ScoreOut(required=True)


class VersionOut(Schema):
    version = fields.Integer(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    reason = fields.String(allow_none=True, required=True)


class SheetOut(Schema):
    grading_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    version = fields.Integer(required=True)
    scores = fields.List(fields.Dict(), required=True)
    adjustments = fields.List(fields.Dict(), required=True)
    totals = fields.Nested(TotalsOut, required=True)
    proposed_level = fields.String(allow_none=True, required=True)
    explanation = fields.String(allow_none=True, required=True)
    work_report = fields.String(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)
    created_by = fields.String(metadata={"description": "who wrote this version"})
    created_at = fields.DateTime(metadata={"description": "when"})
    reason = fields.String(allow_none=True, metadata={"description": "why (a correction)"})
    versions = fields.List(fields.Nested(VersionOut), required=True)


class ScoreStepOut(Schema):
    source = fields.String(required=True)
    label = fields.String(required=True)
    weight = ScoreOut(required=True)
    value = ScoreOut(allow_none=True, required=True, metadata={"description": "100-point scale"})
    weighted = ScoreOut(allow_none=True, required=True)
    exact = fields.String(
        allow_none=True,
        metadata={"description": "the weighted value before the one rounding, exactly"},
    )
    basis = fields.String(required=True)


class LevelRefOut(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class ScoreViewOut(Schema):
    grading_id = fields.Integer(required=True)
    scheme = fields.String(required=True)
    steps = fields.List(fields.Nested(ScoreStepOut), required=True)
    missing = fields.List(fields.String(), required=True)
    unrounded = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "the exact weighted sum before the one rounding"},
    )
    total = ScoreOut(allow_none=True, required=True)
    rounding = fields.String(required=True)
    level = fields.Nested(LevelRefOut, allow_none=True, required=True)


class BranchOpinionOut(Schema):
    grading_id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    level = fields.String(required=True)
    level_label = fields.String(required=True)
    opinion = fields.String(required=True)
    met_on = fields.String(required=True)
    tallies = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the counted tallies it was formed from (S12, P1 …)"},
    )
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    reason = fields.String(allow_none=True, required=True)
    versions = fields.List(fields.Nested(VersionOut), required=True)


__all__ = ["ApprovalOut"]
