from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.duties import require_duty, with_duty
from service.api.records import stage_record
from service.api.routing import Ctx, operation
from service.api.schemas.common import text as text_field
from service.api.scope import scoped
from service.campaigns.operations import get_campaign
from service.campaigns.procedure import Duty
from service.gradings import records
from service.gradings.models import Grading
from service.promotion import operations as ops

TAG = "promotion"


class ReportIn(Schema):
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20000),
        metadata={"description": "专项述职"},
    )
    attachment_ref = text_field(
        500, allow_none=True, metadata={"description": "where the attachment is kept"}
    )
    reason = text_field(2000, allow_none=True)


class PromotionIn(Schema):
    level = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reason = text_field(
        2000, allow_none=True, metadata={"description": "required to raise the level"}
    )


class OpinionIn(Schema):
    favourable = fields.Boolean(required=True, metadata={"description": "同意 or not"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    given_on = fields.Date(required=True, metadata={"description": "the opinion's date"})
    given_by = text_field(200, required=True, metadata={"description": "who signed it"})
    reason = text_field(2000, allow_none=True, metadata={"description": "for a correction"})


class OpinionOut(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    opinion = fields.Dict(
        allow_none=True, required=True, metadata={"description": "None: none yet"}
    )


class PromotionOut(Schema):
    grading_id = fields.Integer(required=True)
    level = fields.String(allow_none=True, required=True)
    satisfaction = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "群众满意度 (0–100) from counted ballots"},
    )
    report = fields.Dict(allow_none=True, required=True)
    opinions = fields.List(
        fields.Nested(OpinionOut),
        required=True,
        metadata={"description": "the bodies whose opinion the campaign requires, and theirs"},
    )
    decision = fields.Dict(allow_none=True, required=True)


def _view(ctx: Ctx, grading: Grading) -> dict[str, Any]:
    report = records.current(ctx.session, grading.id, "special_report", "main")
    decision = records.current(ctx.session, grading.id, "promotion_decision", "main")
    score = ops.satisfaction(ctx.session, grading)
    return {
        "grading_id": grading.id,
        "level": grading.level,
        "satisfaction": None if score is None else str(score),
        "report": report.data if report else None,
        "opinions": ops.opinions(
            ctx.session, grading, get_campaign(ctx.session, grading.campaign_id)
        ),
        "decision": decision.data if decision else None,
    }


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/promotion",
    summary="Promotion: satisfaction, the special report, the decision",
    tag=TAG,
    responses={200: PromotionOut},
    errors=(404,),
)
def get_promotion(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return _view(ctx, grading)


stage_record(
    "promotion/report",
    tag=TAG,
    out=PromotionOut,
    body=ReportIn,
    role=Role.SECRETARY,
    doing="filing the special report",
    write=lambda ctx, grading: ops.file_report(ctx.session, ctx.actor, grading, ctx.body),
    render=_view,
    put=("put_report", "The secretary's special report (专项述职)"),
    may_wait=False,
)


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/promotion/opinions/<key>",
    summary="Record the written opinion of a body the campaign names (征求同级意见)",
    tag=TAG,
    body=OpinionIn,
    responses={200: PromotionOut},
    errors=(403, 404, 409, 422),
    description="A reviewer of the committee enters the opinion as received: favourable or "
    "not, its text, date and signatory. `key` is the code of one of the campaign's "
    "decision_config.promotion_opinions (404 otherwise); a correction names why.",
)
def put_opinion(ctx: Ctx, grading_id: int, key: str) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.REVIEWER], "recording an opinion on a promotion")
    ops.record_opinion(ctx.session, ctx.actor, grading, key, ctx.body)
    return _view(ctx, grading)


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/promotion",
    summary="Decide the promotion: one step up, or the same level (the committee's reviewer)",
    tag=TAG,
    body=PromotionIn,
    responses={200: PromotionOut},
    errors=(403, 404, 409, 422),
    description="Rising needs: one of the two lowest levels, exactly one step, every rectification "
    "item closed, the special report, satisfaction at the campaign's threshold "
    "(decision_config.promotion_min_satisfaction, default 80), no veto, and a favourable "
    "opinion of every body in decision_config.promotion_opinions; refusals list their reasons "
    "(opinion_missing:<code>, opinion_against:<code>). Deciding the same level settles it "
    "without promotion. " + str(with_duty(None, Duty.DECISION)),
)
def post_promotion(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    require_duty(
        ctx, org, grading.campaign_id, Duty.DECISION, [Role.REVIEWER], "deciding a promotion"
    )
    ops.give_verdict(ctx.session, ctx.actor, grading, ctx.body)
    return _view(ctx, grading)
