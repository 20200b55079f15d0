from __future__ import annotations

from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import contains_eager

from service import calendar
from service.accounts.models import Role
from service.api.blueprint import api
from service.api.conditional import check_if_match, etag
from service.api.pagination import paginate
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.campaigns import (
    AmendmentCreate,
    AmendmentList,
    AmendmentOut,
    CampaignCreate,
    CampaignListQuery,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    EnrollmentOut,
    GradingListQuery,
    GradingPage,
)
from service.api.schemas.common import PageQuery, ReasonBody
from service.api.scope import campaign_visibility, scoped, within
from service.campaigns import operations as ops
from service.campaigns.models import Campaign, CampaignAmendment, CampaignPhase
from service.gradings import enrolment
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.workflows.states import PHASE_OF_STATE

TAG = "campaigns"


@operation(
    api,
    "GET",
    "/campaigns",
    summary="Campaigns you can see",
    tag=TAG,
    query=CampaignListQuery,
    responses={200: CampaignPage},
    errors=(422,),
)
def list_campaigns(ctx: Ctx) -> Any:
    query = (
        select(Campaign)
        .join(Organization, Organization.id == Campaign.organization_id)
        .where(campaign_visibility(ctx.caller))
    )
    for name in ("organization_id", "year", "status"):
        if name in ctx.query:
            query = query.where(getattr(Campaign, name) == ctx.query[name])
    return paginate(ctx, query, Campaign.id, {"name": Campaign.name, "year": Campaign.year})


@operation(
    api,
    "POST",
    "/campaigns",
    summary="Create a campaign (draft) for a committee",
    tag=TAG,
    body=CampaignCreate,
    responses={201: CampaignOut},
    errors=(403, 404, 422),
)
def create_campaign(ctx: Ctx) -> Any:
    committee = scoped(ctx, Organization, ctx.body["organization_id"], "organization_id")[0]
    ctx.caller.require(committee, [Role.ADMIN], "creating a campaign")
    campaign = ops.create_campaign(ctx.session, ctx.actor, committee, ctx.body)
    return Reply(
        campaign, 201, {"Location": f"/api/v1/campaigns/{campaign.id}", **etag(campaign.version)}
    )


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>",
    summary="One campaign",
    tag=TAG,
    responses={200: CampaignOut},
    errors=(404,),
)
def get_campaign(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    return Reply(campaign, 200, etag(campaign.version))


def _managed_campaign(ctx: Ctx, campaign_id: int, what: str) -> Campaign:
    campaign, committee = scoped(ctx, Campaign, campaign_id)
    ctx.caller.require(committee, [Role.ADMIN], what)
    return campaign


@operation(
    api,
    "PATCH",
    "/campaigns/<int:campaign_id>",
    summary="Change a draft campaign",
    tag=TAG,
    body=CampaignPatch,
    responses={200: CampaignOut},
    errors=(403, 404, 409, 412, 422),
    description="Only while draft; an open campaign answers 409 campaign-frozen.",
)
def patch_campaign(ctx: Ctx, campaign_id: int) -> Any:
    campaign = _managed_campaign(ctx, campaign_id, "changing a campaign")
    check_if_match(campaign.version)
    ops.update_campaign(ctx.session, ctx.actor, campaign, ctx.body)
    return Reply(campaign, 200, etag(campaign.version))


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/open",
    summary="Open the campaign: freezes it and enrolls every grassroots organization",
    tag=TAG,
    responses={200: EnrollmentOut},
    errors=(403, 404, 409, 412),
)
def open_campaign(ctx: Ctx, campaign_id: int) -> Any:
    campaign = _managed_campaign(ctx, campaign_id, "opening a campaign")
    check_if_match(campaign.version)
    created = enrolment.open_campaign(ctx.session, ctx.actor, campaign)
    return Reply(
        {"enrolled": len(created), "grading_ids": [g.id for g in created]},
        200,
        etag(campaign.version),
    )


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/close",
    summary="Close the campaign",
    tag=TAG,
    body=ReasonBody,
    responses={200: CampaignOut},
    errors=(403, 404, 409, 422),
)
def close_campaign(ctx: Ctx, campaign_id: int) -> Any:
    campaign = _managed_campaign(ctx, campaign_id, "closing a campaign")
    ops.close_campaign(ctx.session, ctx.actor, campaign, ctx.body.get("reason"))
    return Reply(campaign, 200, etag(campaign.version))


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/enrollments",
    summary="Enroll organizations added since opening (idempotent)",
    tag=TAG,
    responses={200: EnrollmentOut},
    errors=(403, 404, 409),
)
def enroll(ctx: Ctx, campaign_id: int) -> Any:
    campaign = _managed_campaign(ctx, campaign_id, "enrolling organizations")
    created = enrolment.enroll(ctx.session, ctx.actor, campaign)
    return {"enrolled": len(created), "grading_ids": [g.id for g in created]}


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/amendments",
    summary="Amend an open campaign, with a reason",
    tag=TAG,
    body=AmendmentCreate,
    responses={201: AmendmentOut},
    errors=(403, 404, 409, 422),
)
def amend(ctx: Ctx, campaign_id: int) -> Any:
    campaign = _managed_campaign(ctx, campaign_id, "amending a campaign")
    amendment = ops.amend_campaign(
        ctx.session, ctx.actor, campaign, ctx.body["changes"], ctx.body["reason"]
    )
    return Reply(amendment, 201)


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/amendments",
    summary="The campaign's amendments, oldest first",
    tag=TAG,
    query=PageQuery,
    responses={200: AmendmentList},
    errors=(404, 422),
)
def list_amendments(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    query = select(CampaignAmendment).where(CampaignAmendment.campaign_id == campaign.id)
    return paginate(ctx, query, CampaignAmendment.id)


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/gradings",
    summary="The campaign's gradings you can see",
    tag=TAG,
    query=GradingListQuery,
    responses={200: GradingPage},
    errors=(404, 422),
)
def list_gradings(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    query = (
        select(Grading)
        .join(Grading.organization)
        .options(contains_eager(Grading.organization))
        .where(Grading.campaign_id == campaign.id, ctx.caller.visible_filter(Organization.path))
    )
    if "state" in ctx.query:
        query = query.where(Grading.state == ctx.query["state"])
    query = within(ctx, query, ctx.query)
    if "domain" in ctx.query:
        query = query.where(Organization.domain == ctx.query["domain"])
    if "overdue" in ctx.query:
        phase = case(PHASE_OF_STATE, value=Grading.state, else_=None)
        due = (
            select(CampaignPhase.due_on)
            .where(CampaignPhase.campaign_id == Grading.campaign_id, CampaignPhase.phase == phase)
            .scalar_subquery()
        )
        late = due < calendar.today()
        query = query.where(late if ctx.query["overdue"] else or_(due.is_(None), ~late))
    return paginate(
        ctx,
        query,
        Grading.id,
        {
            "organization_name": Organization.name,
            "organization_code": Organization.code,
            "state": Grading.state,
            "enrolled_at": Grading.enrolled_at,
        },
    )
