from __future__ import annotations

from typing import Any

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.conditional import check_if_match, etag
from service.api.pagination import paginate
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.common import PageQuery
from service.api.schemas.inspection import (
    AcceptanceIn,
    GroupIn,
    GroupOut,
    GroupPage,
    GroupPatch,
    InspectionOut,
    VisitIn,
)
from service.api.scope import scoped
from service.campaigns.models import Campaign
from service.errors import NotFound
from service.gradings.models import Grading
from service.inspection import operations as ops
from service.inspection.models import InspectionGroup

TAG = "inspection"


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/inspection-groups",
    summary="Form an inspection group (指导检查组): leader, members, the organizations it covers",
    tag=TAG,
    body=GroupIn,
    responses={201: GroupOut},
    errors=(403, 404, 409, 422),
    description="A reviewer of the campaign's committee. Leader and members are accounts "
    "holding the inspector role over every organization the group covers (422 naming who is "
    "not); an organization is under one group of a campaign at most (409 naming the other).",
)
def create_inspection_group(ctx: Ctx, campaign_id: int) -> Any:
    campaign, committee = scoped(ctx, Campaign, campaign_id)
    ctx.caller.require(committee, [Role.REVIEWER], "forming an inspection group")
    group = ops.create_group(ctx.session, ctx.actor, campaign, ctx.body)
    return Reply(
        ops.view(group),
        201,
        {"Location": f"/api/v1/inspection-groups/{group.id}", **etag(group.version)},
    )


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/inspection-groups",
    summary="A campaign's inspection groups",
    tag=TAG,
    query=PageQuery,
    responses={200: GroupPage},
    errors=(404, 422),
    description="Anyone who sees the campaign's committee.",
)
def list_inspection_groups(ctx: Ctx, campaign_id: int) -> Any:
    campaign, committee = scoped(ctx, Campaign, campaign_id)
    if not ctx.caller.sees(committee):
        raise NotFound(f"campaign {campaign_id} has no inspection groups you can see")
    page = paginate(ctx, ops.groups_query(campaign), InspectionGroup.id)
    page.items = [ops.view(g) for g in page.items]
    return page


@operation(
    api,
    "GET",
    "/inspection-groups/<int:group_id>",
    summary="One inspection group; the ETag is its version",
    tag=TAG,
    responses={200: GroupOut},
    errors=(404,),
    description="Anyone who sees the committee that formed it.",
)
def get_inspection_group(ctx: Ctx, group_id: int) -> Any:
    group, _ = scoped(ctx, InspectionGroup, group_id)
    return Reply(ops.view(group), 200, etag(group.version))


@operation(
    api,
    "PATCH",
    "/inspection-groups/<int:group_id>",
    summary="Change a group's name, people or organizations, saying why",
    tag=TAG,
    body=GroupPatch,
    responses={200: GroupOut},
    errors=(403, 404, 409, 412, 422),
    description="A reviewer of the committee; the same rules as forming it. The change is "
    "audited with the group before and after and the reason. If-Match: the version read.",
)
def patch_inspection_group(ctx: Ctx, group_id: int) -> Any:
    group, committee = scoped(ctx, InspectionGroup, group_id)
    ctx.caller.require(committee, [Role.REVIEWER], "changing an inspection group")
    check_if_match(group.version)
    ops.change_group(ctx.session, ctx.actor, group, ctx.body)
    return Reply(ops.view(group), 200, etag(group.version))


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/inspection",
    summary="The grading's inspection group, its acceptances and visits",
    tag=TAG,
    responses={200: InspectionOut},
    errors=(404,),
    description="Anyone who sees the grading; `required` lists the acceptances the campaign "
    "requires (decision_config.inspection_acceptance).",
)
def get_inspection(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return ops.inspection(ctx.session, grading)


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/inspection/acceptances/<stage>",
    summary="The group's acceptance (检查验收) of the rectification or the promotion",
    tag=TAG,
    body=AcceptanceIn,
    responses={200: InspectionOut},
    errors=(403, 404, 409, 422),
    description="The leader of the group responsible for the organization (an inspector), "
    "during rectification or promotion respectively (`stage`; 404 for another): accepted or "
    "not, findings, date. Where "
    "the campaign requires it, 回头看 does not start and the level does not rise without it. "
    "A correction says why (a new version; after the stage, a supervisor approves it).",
)
def put_acceptance(ctx: Ctx, grading_id: int, stage: str) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.INSPECTOR], "recording an inspection group's acceptance")
    ops.accept(ctx.session, ctx.actor, grading, stage, ctx.body)
    return ops.inspection(ctx.session, grading)


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/inspection/visits",
    summary="Record a visit of the inspection group (检查督导)",
    tag=TAG,
    body=VisitIn,
    responses={201: InspectionOut},
    errors=(403, 404, 409, 422),
    description="The group's leader or a member (an inspector): while the organization is "
    "graded (指导组: 调查摸底, 分类定级 — survey to the superior's review) and during "
    "rectification, 回头看 or promotion (检查督导): the date, what was checked, who went, what "
    "was found. Not under publicity or once closed.",
)
def add_inspection_visit(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.INSPECTOR], "recording an inspection visit")
    ops.add_visit(ctx.session, ctx.actor, grading, ctx.body)
    return Reply(ops.inspection(ctx.session, grading), 201)
