"""领导小组: a committee's leading group for a campaign (service.campaigns.leading_groups)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.common import id_field, text
from service.api.scope import scoped
from service.campaigns import leading_groups as ops
from service.campaigns.models import Campaign
from service.errors import ValidationFailed
from service.organizations.models import Organization, OrgKind

TAG = "campaigns"


class LeadingGroupIn(Schema):
    organization_id = id_field(required=True, metadata={"description": "the committee"})
    name = text(200, required=True, metadata={"description": "e.g. 分类定级工作领导小组"})
    leader = text(100, required=True, metadata={"description": "组长"})
    deputies = fields.List(
        text(100), validate=validate.Length(max=10), metadata={"description": "副组长"}
    )
    members = fields.List(
        text(100), validate=validate.Length(max=50), metadata={"description": "成员"}
    )
    office = text(300, allow_none=True, metadata={"description": "领导小组办公室设在…"})
    formed_on = fields.Date(required=True)
    reason = text(2000, allow_none=True, metadata={"description": "required to change the group"})


class LeadingGroupOut(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    leader = fields.String(required=True)
    deputies = fields.List(fields.String(), required=True)
    members = fields.List(fields.String(), required=True)
    office = fields.String(allow_none=True, required=True)
    formed_on = fields.Date(required=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.DateTime(required=True)
    reason = fields.String(allow_none=True, required=True)


class CommitteeGroupOut(Schema):
    organization_id = fields.Integer(required=True)
    organization_name = fields.String(required=True)
    formed = fields.Boolean(required=True)
    status_label = fields.String(required=True, metadata={"description": "已成立 | 未成立"})
    group = fields.Nested(LeadingGroupOut, allow_none=True, required=True)


class LeadingGroupOverview(Schema):
    items = fields.List(fields.Nested(CommitteeGroupOut), required=True)


class LeadingGroupVersions(Schema):
    items = fields.List(fields.Nested(LeadingGroupOut), required=True)


def _committee(ctx: Ctx, campaign_id: int, organization_id: int) -> tuple[Campaign, Organization]:
    campaign, top = scoped(ctx, Campaign, campaign_id)
    committee, _ = scoped(ctx, Organization, organization_id, "organization_id")
    if (
        committee.kind != OrgKind.COMMITTEE
        or committee.grassroots
        or not committee.is_within(top.path)
    ):
        raise ValidationFailed(
            "a 领导小组 is formed by a committee of the campaign's subtree",
            detail_zh="领导小组由本次活动范围内的党委成立",
            errors={"organization_id": ["not a committee of the campaign's subtree"]},
        )
    return campaign, committee


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/leading-groups",
    summary="Record a committee's 领导小组 for the campaign (组长, 副组长, 成员, 办公室)",
    tag=TAG,
    body=LeadingGroupIn,
    responses={201: LeadingGroupOut},
    errors=(403, 404, 422),
    description="As the seeds' townships did (成立了工作领导小组): one group per committee and "
    "campaign; a change is the next version and needs a reason, the earlier ones kept. A "
    "reviewer or admin of the committee (or above); audited.",
)
def form_leading_group(ctx: Ctx, campaign_id: int) -> Any:
    campaign, committee = _committee(ctx, campaign_id, ctx.body["organization_id"])
    ctx.caller.require(committee, [Role.REVIEWER, Role.ADMIN], "recording a 领导小组")
    group = ops.form(ctx.session, ctx.actor, campaign, committee, ctx.body)
    return Reply(group.out(), 201)


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/leading-groups",
    summary="Which committees have formed their 领导小组 for the campaign (已成立 / 未成立)",
    tag=TAG,
    responses={200: LeadingGroupOverview},
    errors=(404,),
    description="Every committee of the campaign's subtree you see (graded 基层党委 aside), with "
    "its group's latest version, or none yet.",
)
def leading_group_overview(ctx: Ctx, campaign_id: int) -> Any:
    campaign, top = scoped(ctx, Campaign, campaign_id)
    visible = ctx.caller.visible_filter(Organization.path)
    return {"items": ops.overview(ctx.session, campaign, top, visible)}


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/leading-groups/<int:organization_id>",
    summary="A committee's 领导小组 for the campaign, every version (the last is current)",
    tag=TAG,
    responses={200: LeadingGroupVersions},
    errors=(404, 422),
    description="Each version as recorded, with who recorded it, when and why it changed.",
)
def leading_group_versions(ctx: Ctx, campaign_id: int, organization_id: int) -> Any:
    campaign, committee = _committee(ctx, campaign_id, organization_id)
    return {"items": [g.out() for g in ops.versions(ctx.session, campaign, committee)]}
