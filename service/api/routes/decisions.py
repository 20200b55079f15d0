from __future__ import annotations

from typing import Any

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.duties import require_duty, with_duty
from service.api.pagination import paginate
from service.api.records import current_or_404, stage_record, versions_of
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.common import PageQuery
from service.api.schemas.decisions import (
    DecisionIn,
    DecisionMeetingIn,
    DecisionMeetingOut,
    DecisionMeetingPage,
    DecisionOut,
    QuotaStatusList,
    VetoesIn,
    VetoesOut,
)
from service.api.scope import scoped
from service.campaigns.models import Campaign
from service.campaigns.operations import get_campaign
from service.campaigns.procedure import Duty
from service.decisions import meetings, rules
from service.decisions import operations as ops
from service.decisions.models import DecisionMeeting
from service.gradings.models import Grading
from service.organizations.models import Organization

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
    campaign = get_campaign(ctx.session, grading.campaign_id)
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
    duty=Duty.DECISION,
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
    duty=Duty.DECISION,
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


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/decision-meetings",
    summary="Record the 分类定级会议: date, chair, attendees, minutes, a level per grading",
    tag=TAG,
    body=DecisionMeetingIn,
    responses={201: DecisionMeetingOut},
    errors=(403, 404, 409, 422),
    description=with_duty(
        "党委召开分类定级会议，综合考核结果和基层党组织自我评定意见，研究确定各基层党组织等级: the "
        "committee that met (organization_id) is above every grading it decides, each in "
        "superior review (409 otherwise). Recorded once, never changed: a correction is "
        "another record naming the one it corrects (corrects_id) and why. `decide` fires only "
        "for the level the latest meeting since the grading entered superior review decided "
        "(unless decision_config.decision_meeting is false); bulk: POST "
        "/campaigns/{id}/transitions with `meeting_id`.",
        Duty.DECISION,
    ),
)
def record_meeting(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    gradings = []
    for n, result in enumerate(ctx.body["results"]):
        grading, org = scoped(ctx, Grading, result["grading_id"], f"results.{n}.grading_id")
        require_duty(
            ctx, org, campaign.id, Duty.DECISION, [Role.REVIEWER], "recording the 分类定级会议"
        )
        gradings.append((grading, org))
    committee, _ = scoped(ctx, Organization, ctx.body["organization_id"], "organization_id")
    meeting = meetings.record_meeting(
        ctx.session, ctx.actor, campaign, committee, gradings, ctx.body
    )
    return Reply(meeting, 201, {"Location": f"/api/v1/decision-meetings/{meeting.id}"})


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/decision-meetings",
    summary="The campaign's 分类定级会议 records held by committees in your subtree",
    tag=TAG,
    query=PageQuery,
    responses={200: DecisionMeetingPage},
    errors=(404, 422),
)
def list_meetings(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    return paginate(ctx, meetings.in_campaign(ctx.caller, campaign), DecisionMeeting.id)


@operation(
    api,
    "GET",
    "/decision-meetings/<int:meeting_id>",
    summary="One 分类定级会议 record",
    tag=TAG,
    responses={200: DecisionMeetingOut},
    errors=(404,),
)
def get_meeting(ctx: Ctx, meeting_id: int) -> Any:
    return scoped(ctx, DecisionMeeting, meeting_id)[0]
