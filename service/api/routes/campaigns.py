from __future__ import annotations

from typing import Any

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
from service.api.scope import scoped, within_path
from service.campaigns import operations as ops
from service.campaigns.models import Campaign, CampaignAmendment
from service.gradings import enrolment, listing
from service.gradings.models import Grading
from service.organizations.models import Organization

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
    return paginate(ctx, ops.listed(ctx.caller, ctx.query), Campaign.id, ops.SORTS)


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
    return paginate(ctx, ops.amendments_of(campaign), CampaignAmendment.id)


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
    query = listing.in_campaign(ctx.caller, campaign, ctx.query, within_path(ctx, ctx.query))
    return paginate(ctx, query, Grading.id, listing.SORTS)
