from __future__ import annotations

from typing import Any

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.routing import Ctx, operation, written_or_pending
from service.api.schemas.decisions import (
    DecisionIn,
    DecisionOut,
    QuotaStatusList,
    VetoesIn,
    VetoesOut,
)
from service.api.schemas.gradings import ApprovalOut
from service.api.scope import scoped
from service.campaigns.models import Campaign
from service.decisions import operations as ops
from service.decisions import rules
from service.errors import NotFound
from service.gradings.models import Grading
from service.records import operations as records
from service.records.models import RecordVersion

TAG = "decisions"


def _decision(grading: Grading, version: RecordVersion) -> dict[str, Any]:
    return {
        "grading_id": grading.id,
        "version": version.version,
        **version.data,
        "created_by": version.created_by,
    }


def _vetoes(ctx: Ctx, grading: Grading, version: RecordVersion) -> dict[str, Any]:
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    return {
        "grading_id": grading.id,
        "version": version.version,
        "flags": version.data["flags"],
        "forced_level": rules.forced_level(ctx.session, grading, campaign),
    }


def _current(ctx: Ctx, grading: Grading, record_type: str) -> RecordVersion:
    current = records.current(ctx.session, grading.id, record_type, "main")
    if current is None:
        raise NotFound(f"grading {grading.id} has no {record_type.replace('_', ' ')} yet")
    return current


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/decision",
    summary="The proposed level",
    tag=TAG,
    responses={200: DecisionOut},
    errors=(404,),
)
def get_decision(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return _decision(grading, _current(ctx, grading, "decision"))


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/decision",
    summary="Propose the level (a reviewer); it takes effect when a supervisor approves `decide`",
    tag=TAG,
    body=DecisionIn,
    responses={200: DecisionOut, 202: ApprovalOut},
    errors=(403, 404, 409, 422),
    description="The composite score must be complete. A level other than the computed one needs "
    "a reason. The rules (veto, new organizations, source thresholds, quota caps) are "
    "checked when `decide` is requested and again when it is approved.",
)
def put_decision(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.REVIEWER], "proposing a level")
    result = ops.propose(ctx.session, ctx.actor, grading, ctx.body)
    return written_or_pending(result, lambda version: _decision(grading, version))


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/vetoes",
    summary="Veto flags (一票否决) on the grading and the level they force",
    tag=TAG,
    responses={200: VetoesOut},
    errors=(404,),
)
def get_vetoes(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return _vetoes(ctx, grading, _current(ctx, grading, "veto_flags"))


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/vetoes",
    summary="Flag the campaign's veto rules that apply (a reviewer)",
    tag=TAG,
    body=VetoesIn,
    responses={200: VetoesOut, 202: ApprovalOut},
    errors=(403, 404, 409, 422),
)
def put_vetoes(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.REVIEWER], "flagging a veto")
    result = ops.flag_vetoes(ctx.session, ctx.actor, grading, ctx.body)
    return written_or_pending(result, lambda version: _vetoes(ctx, grading, version))


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/quotas",
    summary="Each quota rule: decided so far, share, over the cap / under the floor",
    tag=TAG,
    responses={200: QuotaStatusList},
    errors=(404,),
)
def get_quotas(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    return {"items": rules.quota_status(ctx.session, campaign)}
