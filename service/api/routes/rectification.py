from __future__ import annotations

from typing import Any

from service import calendar
from service.accounts.models import Role
from service.api.blueprint import api
from service.api.records import stage_record
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.rectification import (
    ActivityIn,
    HelpersIn,
    ItemIn,
    ItemOut,
    LedgerOut,
    LedgerQuery,
    LedgerScope,
    PairingIn,
    PairingProposalList,
    RectificationOut,
    StepIn,
)
from service.api.scope import scoped, within_path
from service.campaigns.models import Campaign
from service.gradings import listing, records
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.rectification import operations as ops
from service.rectification import pairing
from service.rectification.workflow import (
    RECTIFICATION_ITEM_WORKFLOW,
    RECTIFICATION_PLAN_WORKFLOW,
)

TAG = "rectification"


def _view(ctx: Ctx, grading: Grading) -> dict[str, Any]:
    helpers = records.current(ctx.session, grading.id, "rectification_helpers", "main")
    plan = records.current(ctx.session, grading.id, "rectification_plan", "main")
    pairing_record = records.current(ctx.session, grading.id, "rectification_pairing", "main")
    return {
        "grading_id": grading.id,
        "needs_helpers": ops.needs_helpers(ctx.session, grading),
        "helpers": helpers.data if helpers else None,
        "pairing": pairing_record.data if pairing_record else None,
        "activities": [
            v.data for v in records.latest_versions(ctx.session, grading.id, "pairing_activity")
        ],
        "plan_approved": plan is not None,
        "items": ops.ledger(ctx.session, [grading], calendar.today(), False),
    }


def _item(ctx: Ctx, grading: Grading, key: str) -> dict[str, Any]:
    return next(
        i for i in ops.ledger(ctx.session, [grading], calendar.today(), False) if i["key"] == key
    )


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/rectification",
    summary="The rectification plan (public to the organization): helpers, items, progress",
    tag=TAG,
    responses={200: RectificationOut},
    errors=(404,),
)
def get_rectification(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return _view(ctx, grading)


stage_record(
    "rectification/helpers",
    tag=TAG,
    out=RectificationOut,
    body=HelpersIn,
    role=Role.REVIEWER,
    doing="assigning helpers",
    write=lambda ctx, grading: ops.assign_helpers(ctx.session, ctx.actor, grading, ctx.body),
    render=_view,
    put=("put_helpers", "Assign the paired leader, liaison, helping department, first secretary"),
    may_wait=False,
)


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/pairings/proposal",
    summary="先进帮后进: a proposed advanced partner for every organization at the two lowest "
    "levels",
    tag=TAG,
    query=LedgerScope,
    responses={200: PairingProposalList},
    errors=(404, 422),
    description="Same 协作区 first, then the same 领域, then the nearest in the tree; each "
    "advanced (top-level) organization helps at most decision_config.pairing_limit (2). Each "
    "choice says why. A proposal: a reviewer accepts or changes it (PUT …/rectification/"
    "pairing).",
)
def pairing_proposal(ctx: Ctx, campaign_id: int) -> Any:
    campaign, committee = scoped(ctx, Campaign, campaign_id)
    root = committee
    if "within" in ctx.query:
        root = scoped(ctx, Organization, ctx.query["within"], "within")[0]
    return {
        "limit": pairing.limit_of(campaign),
        "items": pairing.proposal(ctx.session, campaign, root),
    }


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/rectification/pairing",
    summary="Pair with an advanced organization (先进帮后进): as proposed, or with a reason",
    tag=TAG,
    body=PairingIn,
    responses={200: RectificationOut},
    errors=(403, 404, 409, 422),
    description="A reviewer in scope, during rectification. A partner other than the proposal's "
    "needs a reason; a partner helping its limit already is 409. Every pairing is a versioned "
    "record (who, when, why).",
)
def put_pairing(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.REVIEWER], "pairing an organization")
    field = "partner_organization_id"
    partner, _ = scoped(ctx, Organization, ctx.body[field], field)
    pairing.pair(ctx.session, ctx.actor, grading, partner, ctx.body.get("reason"))
    return _view(ctx, grading)


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/rectification/pairing/activities",
    summary="Record a joint activity of the pair: 座谈会, 经验交流会 or 实地参观",
    tag=TAG,
    body=ActivityIn,
    responses={201: RectificationOut},
    errors=(403, 404, 409, 422),
    description="The branch secretary or a reviewer in scope, during rectification, once paired.",
)
def add_pairing_activity(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.SECRETARY, Role.REVIEWER], "recording a pairing activity")
    pairing.add_activity(ctx.session, ctx.actor, grading, ctx.body)
    return Reply(_view(ctx, grading), 201)


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/rectification/items",
    summary="Add an item to the plan (the branch secretary): problem, cause, measure, target, "
    "deadline, responsible person",
    description="A plan holds at most 100 items (409 plan-full past that).",
    tag=TAG,
    body=ItemIn,
    responses={201: ItemOut},
    errors=(403, 404, 409, 422),
)
def add_item(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.SECRETARY], "planning rectification")
    written = ops.add_item(ctx.session, ctx.actor, grading, ctx.body)
    return Reply(_item(ctx, grading, written.record_key), 201)


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/rectification/plan/approve",
    summary="Approve the plan (a supervisor); the two lowest levels need their helpers first",
    tag=TAG,
    responses={200: RectificationOut},
    errors=(403, 404, 409),
    fires=("rectification_plan", "approve"),
)
def approve_plan(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    RECTIFICATION_PLAN_WORKFLOW.authorize(ctx.caller, org, "approve")
    ops.approve_plan(ctx.session, ctx.actor, grading)
    return _view(ctx, grading)


def _step_route(action: str, summary: str) -> None:
    def handler(ctx: Ctx, grading_id: int, key: str) -> Any:
        grading, org = scoped(ctx, Grading, grading_id)
        RECTIFICATION_ITEM_WORKFLOW.authorize(ctx.caller, org, action)
        ops.step(ctx.session, ctx.actor, grading, key, action, ctx.body)
        return _item(ctx, grading, key)

    handler.__name__ = f"item_{action}"
    operation(
        api,
        "POST",
        f"/gradings/<int:grading_id>/rectification/items/<key>/{action}",
        summary=summary,
        tag=TAG,
        body=StepIn,
        responses={200: ItemOut},
        errors=(403, 404, 409, 422),
        fires=("rectification_item", action),
    )(handler)


_step_route("start", "Start work on an item (the secretary)")
_step_route("submit", "Submit an item for closing, with evidence (the secretary)")
_step_route("close", "Verify and close an item (销号, the superior)")
_step_route("return", "Return a submitted item with a reason (the superior)")


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/rectification-items",
    summary="The rectification ledger (台账) of your subtree; ?overdue=true for overdue items",
    tag=TAG,
    query=LedgerQuery,
    responses={200: LedgerOut},
    errors=(404,),
)
def get_ledger(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    gradings = listing.of_campaign(ctx.session, ctx.caller, campaign, within_path(ctx, ctx.query))
    return {
        "items": ops.ledger(ctx.session, gradings, calendar.today(), bool(ctx.query.get("overdue")))
    }
