from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.api.schemas.common import (
    PageQuery,
    Score,
    ScoreOut,
    id_field,
    query_id,
    text,
    total_field,
)


class BeaconIn(Schema):
    """The public randomness, named before anyone can know it."""

    kind = fields.String(required=True, validate=validate.OneOf(["drand", "lottery"]))
    chain = fields.String(
        validate=validate.OneOf(["default", "quicknet"]),
        metadata={"description": "drand: the League of Entropy chain"},
    )
    round = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=10**12),
        metadata={"description": "drand: a round still in the future"},
    )
    name = text(40, metadata={"description": "lottery: e.g. 福彩3D"})
    date = fields.Date(metadata={"description": "lottery: a draw after today"})
    digits = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=40),
        metadata={"description": "lottery: how many digits it draws"},
    )

    @validates_schema
    def _its_fields(self, data: dict[str, Any], **_: Any) -> None:
        needs = {"drand": ("chain", "round"), "lottery": ("name", "date", "digits")}
        for name in needs[data["kind"]]:
            if name not in data:
                raise ValidationError(f"a {data['kind']} beacon needs it", field_name=name)
        extra = {"chain", "round", "name", "date", "digits"} - set(needs[data["kind"]])
        for name in sorted(extra & set(data)):
            raise ValidationError(f"not a field of a {data['kind']} beacon", field_name=name)


class SpotCheckIn(Schema):
    campaign_id = id_field(required=True)
    organization_id = id_field(
        required=True, metadata={"description": "the subtree whose rated gradings are drawn from"}
    )
    title = text(200, required=True)
    levels = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        validate=validate.Length(min=1, max=10),
        metadata={"description": "only gradings at these levels (default: every level)"},
    )
    share = Score(
        minimum="0.01",
        maximum="100",
        metadata={"description": "the sample as a percentage of the population, e.g. 20"},
    )
    size = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=10000),
        metadata={"description": "or the sample's size"},
    )
    stratify = fields.List(
        fields.String(validate=validate.OneOf(["level", "domain"])),
        validate=validate.Length(max=2),
        metadata={"description": "strata: by level, by 领域, or both"},
    )
    beacon = fields.Nested(
        BeaconIn,
        required=True,
        metadata={
            "description": "the public value the seed takes, named now and public only later: "
            "a drand round (`kind: drand`, `chain`, `round`) or a lottery's draw (`kind: "
            "lottery`, `name`, `date`, `digits`); the draw takes only that value's format, "
            "and only once it is public"
        },
    )
    public_source = text(
        200,
        metadata={"description": "how people find the value (default: said from the beacon)"},
    )

    @validates_schema
    def _one_measure(self, data: dict[str, Any], **_: Any) -> None:
        if ("share" in data) == ("size" in data):
            raise ValidationError("give either share or size", field_name="share")
        if len(set(data.get("stratify") or [])) != len(data.get("stratify") or []):
            raise ValidationError("each stratum field once", field_name="stratify")


class DrawIn(Schema):
    public_value = text(
        200,
        required=True,
        metadata={
            "description": "the beacon's value as published: a drand round's `randomness` (64 "
            "hex), or the lottery's digits"
        },
    )


class FindingIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(["confirmed", "falsified"]))
    evidence = text(4000, allow_none=True)
    description = text(4000, allow_none=True)

    @validates_schema
    def _falsification_explained(self, data: dict[str, Any], **_: Any) -> None:
        if data["outcome"] == "falsified":
            for name in ("evidence", "description"):
                if not (data.get(name) or "").strip():
                    raise ValidationError("a falsification needs it", field_name=name)


class AccountabilityIn(Schema):
    grading_id = id_field(required=True)
    committee_id = id_field(
        required=True, metadata={"description": "the Party committee that answers for it"}
    )
    persons = text(2000, required=True, metadata={"description": "主要负责人及相关人员"})
    measure = text(2000, required=True, metadata={"description": "the measure taken"})


class SpotCheckOut(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    title = fields.String(required=True)
    levels = fields.List(fields.String(), allow_none=True, required=True)
    share = ScoreOut(allow_none=True, required=True, metadata={"description": "percent"})
    size = fields.Integer(allow_none=True, required=True)
    stratify = fields.List(fields.String(), required=True)
    public_source = fields.String(required=True)
    beacon = fields.Dict(
        allow_none=True,
        required=True,
        metadata={"description": "the beacon named with the plan (null: a plan from before)"},
    )
    state = fields.String(required=True)
    planned_by = fields.String(required=True)
    planned_at = fields.DateTime(required=True)
    plan_event_id = fields.Integer(allow_none=True, required=True)
    checkpoint_tree_size = fields.Integer(allow_none=True, required=True)
    checkpoint_note_sha256 = fields.String(allow_none=True, required=True)
    public_value = fields.String(allow_none=True, required=True)
    seed = fields.String(allow_none=True, required=True)
    population_size = fields.Integer(allow_none=True, required=True)
    drawn_at = fields.DateTime(allow_none=True, required=True)
    concluded_at = fields.DateTime(allow_none=True, required=True)


class SpotCheckPage(Schema):
    items = fields.List(fields.Nested(SpotCheckOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class SpotCheckQuery(PageQuery):
    campaign_id = query_id()


class FindingOut(Schema):
    grading_id = fields.Integer(required=True)
    stratum = fields.String(required=True)
    rank = fields.String(required=True)
    outcome = fields.String(allow_none=True, required=True)
    evidence = fields.String(allow_none=True, required=True)
    description = fields.String(allow_none=True, required=True)
    found_by = fields.String(allow_none=True, required=True)
    found_at = fields.DateTime(allow_none=True, required=True)
    reopen_approval_id = fields.Integer(
        allow_none=True, metadata={"description": "a falsification: the approval to reopen it"}
    )


class GradingAccountabilityIn(Schema):
    source = fields.String(
        required=True,
        validate=validate.OneOf(["spot_check", "complaint", "re_review", "inspection"]),
        metadata={
            "description": "what found it: a spot check, an upheld complaint, a 回头看 "
            "that reopened the level, an inspection group that did not accept"
        },
    )
    source_id = id_field(
        required=True,
        metadata={
            "description": "the spot check's id, the complaint's, the approved "
            "reopen_review's approval id, or the acceptance record's version id"
        },
    )
    committee_id = id_field(
        required=True, metadata={"description": "the Party committee that answers for it"}
    )
    persons = text(2000, required=True, metadata={"description": "主要负责人及相关人员"})
    measure = text(2000, required=True, metadata={"description": "the measure taken"})


class AccountabilityOut(Schema):
    id = fields.Integer(required=True)
    spot_check_id = fields.Integer(allow_none=True, required=True)
    source = fields.String(required=True)
    source_id = fields.Integer(required=True)
    grading_id = fields.Integer(required=True)
    committee_id = fields.Integer(required=True)
    persons = fields.String(required=True)
    measure = fields.String(required=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.DateTime(required=True)


class AccountabilityList(Schema):
    items = fields.List(fields.Nested(AccountabilityOut), required=True)


class ReportRowOut(Schema):
    grading_id = fields.Integer(required=True)
    organization_code = fields.String(required=True)
    organization_name = fields.String(required=True)
    level = fields.String(allow_none=True, required=True)
    stratum = fields.String(required=True)
    rank = fields.String(required=True)
    outcome = fields.String(allow_none=True, required=True)
    evidence = fields.String(allow_none=True, required=True)
    description = fields.String(allow_none=True, required=True)
    found_by = fields.String(allow_none=True, required=True)
    found_at = fields.DateTime(allow_none=True, required=True)
    grading_state = fields.String(required=True)
    reopen_approval = fields.Dict(allow_none=True, required=True)


class SpotCheckReportOut(Schema):
    spot_check = fields.Nested(SpotCheckOut, required=True)
    sample = fields.List(fields.Nested(ReportRowOut), required=True)
    accountability = fields.List(fields.Nested(AccountabilityOut), required=True)
    falsified = fields.Integer(required=True)
    confirmed = fields.Integer(required=True)
