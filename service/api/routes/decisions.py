from __future__ import annotations

from typing import Any

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.records import current_or_404, stage_record, versions_of
from service.api.routing import Ctx, operation
from service.api.schemas.decisions import (
    DecisionIn,
    DecisionOut,
    QuotaStatusList,
    VetoesIn,
    VetoesOut,
)
from service.api.scope import scoped
from service.campaigns.models import Campaign
from service.decisions import operations as ops
from service.decisions import rules
from service.gradings.models import Grading

TAG = "decisions"


def _decision(ctx: Ctx, grading: Grading) -> dict[str, Any]:
    version = current_or_404(ctx, grading, "decision")
    return {
        "grading_id": grading.id,
        "version": version.version,
        **version.data,
        "created_by": version.created_by,
        "created_at": version.created_at,
        "versions": versions_of(ctx, grading, "decision"),
    }


def _vetoes(ctx: Ctx, grading: Grading) -> dict[str, Any]:
    version = current_or_404(ctx, grading, "veto_flags")
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    return {
        "grading_id": grading.id,
        "version": version.version,
        "flags": version.data["flags"],
        "forced_level": rules.forced_level(ctx.session, grading, campaign),
        "versions": versions_of(ctx, grading, "veto_flags"),
    }


stage_record(
    "decision",
    tag=TAG,
    out=DecisionOut,
    body=DecisionIn,
    role=Role.REVIEWER,
    doing="proposing a level",
    write=lambda ctx, grading: ops.propose(ctx.session, ctx.actor, grading, ctx.body),
    render=_decision,
    get=("get_decision", "The proposed level"),
    put=(
        "put_decision",
        "Propose the level (a reviewer); it takes effect when a supervisor approves `decide`",
    ),
    description="The composite score must be complete. A level other than the computed one needs "
    "a reason. The rules (veto, new organizations, source thresholds, quota caps) are "
    "checked when `decide` is requested and again when it is approved.",
)
stage_record(
    "vetoes",
    tag=TAG,
    out=VetoesOut,
    body=VetoesIn,
    role=Role.REVIEWER,
    doing="flagging a veto",
    write=lambda ctx, grading: ops.flag_vetoes(ctx.session, ctx.actor, grading, ctx.body),
    render=_vetoes,
    get=("get_vetoes", "Veto flags (一票否决) on the grading and the level they force"),
    put=("put_vetoes", "Flag the campaign's veto rules that apply (a reviewer)"),
)


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
