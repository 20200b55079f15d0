from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.schemas.common import (
    PageQuery,
    Score,
    ScoreOut,
    id_field,
    nullable_date,
    query_id,
    sort_field,
    strict_int,
    text,
    total_field,
)
from service.campaigns import procedure
from service.campaigns.models import RatingSourceKind
from service.campaigns.procedure import Duty, Holder
from service.lifecycle.workflow import GRADING_SPEC
from service.workflows.states import CampaignStatus, Phase, values

CODE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,40}$", error="letters, digits, '_' or '-', at most 40")


class CampaignStandardIn(Schema):
    domain = fields.String(required=True, validate=validate.Length(max=30))
    standard_id = id_field(required=True)


class PhaseIn(Schema):
    phase = fields.String(required=True, validate=validate.OneOf([p.value for p in Phase]))
    starts_on = nullable_date()
    due_on = fields.Date(required=True)


class SourceIn(Schema):
    source = fields.String(
        required=True, validate=validate.OneOf([s.value for s in RatingSourceKind])
    )
    weight = Score(required=True, minimum="0", maximum="100", metadata={"description": "percent"})


class QuotaIn(Schema):
    level_code = fields.String(required=True, validate=CODE)
    scope = fields.String(
        validate=validate.OneOf(["campaign", "committee"]),
        load_default="campaign",
        metadata={
            "description": "campaign: over every organization taking part (default); "
            "committee: over each deciding committee's own organizations (e.g. each township)"
        },
    )
    max_share = Score(
        allow_none=True, minimum="0", maximum="100", metadata={"description": "percent"}
    )
    min_share = Score(
        allow_none=True, minimum="0", maximum="100", metadata={"description": "percent"}
    )


class VetoIn(Schema):
    code = fields.String(required=True, validate=CODE)
    description = text(2000, required=True)
    forced_level_code = fields.String(required=True, validate=CODE)


class CampaignAmendable(Schema):
    name = text(200)
    phases = fields.List(fields.Nested(PhaseIn), validate=validate.Length(max=8))
    publicity_working_days = strict_int(minimum=1, maximum=60)
    quota_rules = fields.List(fields.Nested(QuotaIn), validate=validate.Length(max=10))
    veto_rules = fields.List(fields.Nested(VetoIn), validate=validate.Length(max=20))
    new_org_cutoff = nullable_date(metadata={"description": "founded on/after: not rated 好"})


class ThresholdIn(Schema):
    source = fields.String(
        required=True, validate=validate.OneOf([s.value for s in RatingSourceKind])
    )
    min_points = Score(required=True, minimum="0", maximum="100")
    max_level = fields.String(
        required=True,
        validate=CODE,
        metadata={"description": "below min_points, at best this level"},
    )


class OpinionBodyIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = text(100, required=True, metadata={"description": "e.g. 县委党建工作领导小组"})


class DecisionConfigIn(Schema):
    thresholds = fields.List(fields.Nested(ThresholdIn), validate=validate.Length(max=10))
    promotion_min_satisfaction = Score(
        minimum="0", maximum="100", metadata={"description": "satisfaction a promotion needs"}
    )
    pairing_limit = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=10),
        metadata={"description": "先进帮后进: how many organizations one advanced one helps (2)"},
    )
    promotion_opinions = fields.List(
        fields.Nested(OpinionBodyIn),
        validate=validate.Length(max=5),
        metadata={
            "description": "bodies whose written opinion a promotion needs (征求同级意见); "
            "an unfavourable or missing one refuses it"
        },
    )
    inspection_acceptance = fields.List(
        fields.String(validate=validate.OneOf(["rectification", "promotion"])),
        validate=validate.Length(max=2),
        metadata={
            "description": "what the inspection group (指导检查组) must accept first: "
            "`rectification` before 回头看 starts, `promotion` before a promotion"
        },
    )
    duties = fields.Dict(
        keys=fields.String(validate=validate.OneOf([d.value for d in Duty])),
        values=fields.String(validate=validate.OneOf([h.value for h in Holder])),
        metadata={
            "description": "who may do the superior's duties (survey, ballot, assessment, "
            "satisfaction, decision): `superior` — a role holder on a committee strictly above "
            "the graded organization (the seeds; the default for a duty not named) — or "
            "`in_scope` — any holder covering it. Never someone homed in the organization."
        },
    )
    branch_opinion = fields.Boolean(
        metadata={
            "description": "evaluation closes only once the branch has formed its opinion from "
            "the ballot (基层党组织依据测评结果形成分类定级意见); default true"
        }
    )
    decision_meeting = fields.Boolean(
        metadata={
            "description": "`decide` fires only for the level a recorded 分类定级会议 decided; "
            "default true"
        }
    )


class BallotCategoryIn(Schema):
    code = fields.String(required=True, validate=CODE)
    label = text(40, required=True)
    source = fields.String(
        required=True, validate=validate.OneOf([s.value for s in RatingSourceKind])
    )


class BallotConfigIn(Schema):
    categories = fields.List(
        fields.Nested(BallotCategoryIn), validate=validate.Length(min=1, max=10)
    )
    choice_points = fields.Dict(
        keys=fields.String(validate=CODE),
        values=Score(minimum="0", maximum="100"),
        metadata={"description": "level code → points of that choice"},
    )
    allow_unknown = fields.Boolean(metadata={"description": "offer 不了解 (excluded from points)"})
    quorum = fields.String(
        validate=validate.Regexp(r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$"),
        metadata={"description": "share of issued ballots that must come back"},
    )


class CampaignPatch(CampaignAmendable):
    ballot_config = fields.Nested(BallotConfigIn, allow_none=True)
    decision_config = fields.Nested(DecisionConfigIn, allow_none=True)
    year = strict_int(minimum=2000, maximum=2100)
    level_scheme_id = id_field()
    standards = fields.List(fields.Nested(CampaignStandardIn), validate=validate.Length(max=20))
    sources = fields.List(fields.Nested(SourceIn), validate=validate.Length(max=5))


class CampaignCreate(CampaignPatch):
    organization_id = id_field(required=True, metadata={"description": "the committee running it"})
    name = text(200, required=True)
    year = strict_int(required=True, minimum=2000, maximum=2100)
    level_scheme_id = id_field(required=True)


class CampaignStandardOut(Schema):
    domain = fields.String(required=True)
    standard_id = fields.Integer(required=True)


class PhaseOut(Schema):
    phase = fields.String(required=True)
    starts_on = fields.Date(allow_none=True, required=True)
    due_on = fields.Date(required=True)


class SourceOut(Schema):
    source = fields.String(required=True)
    weight = ScoreOut(required=True)


class QuotaOut(Schema):
    level_code = fields.String(required=True)
    scope = fields.String(required=True)
    max_share = ScoreOut(allow_none=True, required=True)
    min_share = ScoreOut(allow_none=True, required=True)


class VetoOut(Schema):
    code = fields.String(required=True)
    description = fields.String(required=True)
    forced_level_code = fields.String(required=True)


class CampaignOut(Schema):
    id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    name = fields.String(required=True)
    year = fields.Integer(required=True)
    status = fields.String(required=True)
    level_scheme_id = fields.Integer(required=True)
    publicity_working_days = fields.Integer(required=True)
    new_org_cutoff = fields.Date(allow_none=True, required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    opened_at = fields.DateTime(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    standards = fields.List(fields.Nested(CampaignStandardOut), required=True)
    phases = fields.List(fields.Nested(PhaseOut), required=True)
    sources = fields.List(fields.Nested(SourceOut), required=True)
    quota_rules = fields.List(fields.Nested(QuotaOut), required=True)
    veto_rules = fields.List(fields.Nested(VetoOut), required=True)
    ballot_config = fields.Dict(allow_none=True, required=True)
    decision_config = fields.Dict(allow_none=True, required=True)
    procedure = fields.Method(
        "_procedure",
        required=True,
        metadata={
            "description": "the procedure as it applies: each duty's holder (superior / "
            "in_scope), whether the branch's opinion and the 分类定级会议 are required — the "
            "seed documents' wherever decision_config says nothing"
        },
    )

    def _procedure(self, campaign: object) -> dict[str, object]:
        return procedure.effective(campaign.decision_config)  # type: ignore[attr-defined]


class CampaignPage(Schema):
    items = fields.List(fields.Nested(CampaignOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class CampaignListQuery(PageQuery):
    sort = sort_field("name", "year")
    organization_id = query_id()
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    status = fields.String(validate=validate.OneOf(values(CampaignStatus)))


class AmendmentCreate(Schema):
    reason = text(2000, required=True)
    changes = fields.Nested(CampaignAmendable, required=True)


class AmendmentOut(Schema):
    id = fields.Integer(required=True)
    amended_at = fields.DateTime(required=True)
    amended_by = fields.String(required=True)
    reason = fields.String(required=True)
    before = fields.Dict(required=True)
    after = fields.Dict(required=True)


class AmendmentList(Schema):
    items = fields.List(fields.Nested(AmendmentOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class GradingOut(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    organization_name = fields.String(attribute="organization.name", required=True)
    organization_code = fields.String(attribute="organization.code", required=True)
    standard_id = fields.Integer(required=True)
    state = fields.String(required=True)
    state_label = fields.Function(
        lambda g: GRADING_SPEC.state_label(g.state), required=True, metadata={"type": "string"}
    )
    level = fields.String(allow_none=True, required=True, metadata={"description": "once decided"})
    version = fields.Integer(required=True)
    enrolled_at = fields.DateTime(required=True)


class GradingPage(Schema):
    items = fields.List(fields.Nested(GradingOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class GradingListQuery(PageQuery):
    sort = sort_field("organization_name", "organization_code", "state", "enrolled_at")
    state = fields.String(validate=validate.Length(max=40))
    within = query_id()
    domain = fields.String(validate=validate.Length(max=30))
    overdue = fields.Boolean(metadata={"description": "past the deadline of their current stage"})


class EnrollmentOut(Schema):
    enrolled = fields.Integer(required=True)
    grading_ids = fields.List(fields.Integer(), required=True)
