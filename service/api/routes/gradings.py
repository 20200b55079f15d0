from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.routes.campaigns import visible_campaign
from service.api.routes.organizations import within
from service.api.routing import Ctx, Reply, etag, if_match, operation, paginate
from service.api.schemas.gradings import (
    ApprovalListQuery,
    ApprovalOut,
    ApprovalPage,
    BulkTransitionOut,
    BulkTransitionRequest,
    DecisionRequest,
    GradingView,
    HistoryOut,
    TransitionRequest,
)
from service.audit.models import AuditEvent
from service.audit.operations import record
from service.errors import DomainError, NotFound
from service.gradings import approvals as approval_ops
from service.gradings import operations as ops
from service.gradings.models import Approval, Grading
from service.organizations.models import Organization
from service.records.models import RecordVersion
from service.workflows.grading import GRADING_SPEC

TAG = "gradings"


def visible_grading(ctx: Ctx, grading_id: int) -> tuple[Grading, Organization]:
    row = ctx.session.execute(
        select(Grading, Organization)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Grading.id == grading_id, ctx.caller.visible_filter(Organization.path))
    ).first()
    if row is None:
        raise NotFound(f"grading {grading_id} was not found")
    return row[0], row[1]


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>",
    summary="A grading: state, version, deadline, and every next step — allowed or why not",
    tag=TAG,
    responses={200: GradingView},
    errors=(404,),
)
def get_grading(ctx: Ctx, grading_id: int) -> Any:
    grading, org = visible_grading(ctx, grading_id)
    return Reply(ops.view(ctx.session, ctx.caller, grading, org), 200, etag(grading.version))


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/transitions",
    summary="Fire a transition (or request it, when it needs a supervisor's approval)",
    tag=TAG,
    body=TransitionRequest,
    responses={200: GradingView, 202: ApprovalOut},
    errors=(403, 404, 409, 412, 422),
    description="Send If-Match with the grading's ETag: a stale version answers 412. Send an "
    "Idempotency-Key so a retry cannot fire twice. 202 means a pending approval was "
    "created; the transition fires when a supervisor approves it.",
)
def post_transition(ctx: Ctx, grading_id: int) -> Any:
    grading, org = visible_grading(ctx, grading_id)
    outcome = ops.request_transition(
        ctx.session,
        ctx.actor,
        ctx.caller,
        grading,
        org,
        ctx.body["transition"],
        ctx.body.get("reason"),
        if_match(),
    )
    if outcome.approval is not None:
        return Reply(
            outcome.approval,
            202,
            {"Location": f"/api/v1/approvals/{outcome.approval.id}", **etag(grading.version)},
        )
    return Reply(ops.view(ctx.session, ctx.caller, grading, org), 200, etag(grading.version))


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/history",
    summary="The grading's timeline: who did what, when, why, before → after",
    tag=TAG,
    responses={200: HistoryOut},
    errors=(404,),
)
def get_history(ctx: Ctx, grading_id: int) -> Any:
    grading, org = visible_grading(ctx, grading_id)
    events = ctx.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "grading", AuditEvent.entity_id == str(grading.id))
        .order_by(AuditEvent.id)
    ).all()
    if Role.INSPECTOR in ctx.caller.roles_at(org):
        record(
            ctx.session,
            ctx.actor,
            "audit.read",
            "grading",
            grading.id,
            organization_id=grading.organization_id,
            after={"view": "history"},
        )
    return {"grading_id": grading.id, "items": [_entry(e) for e in events]}


def _entry(event: AuditEvent) -> dict[str, Any]:
    before, after = event.before or {}, event.after or {}
    if event.action == "grading.transition":
        summary = (
            f"{after.get('transition')}: {before.get('state')} "
            f"{GRADING_SPEC.state_label(before.get('state', ''))} → {after.get('state')} "
            f"{GRADING_SPEC.state_label(after.get('state', ''))}"
        )
    elif event.action.startswith("approval."):
        summary = f"{event.action} #{after.get('approval_id')} {after.get('subject', '')}".strip()
    elif event.action.startswith("record."):
        summary = f"{event.action} {after.get('record_type')} v{after.get('version')}"
    elif event.action == "complaint.file":
        summary = f"收到投诉 complaint #{after.get('complaint_id')} filed"
    elif event.action == "complaint.assign":
        who = after.get("assigned_to")
        summary = f"受理调查 complaint #{after.get('complaint_id')} taken up by {who}"
    elif event.action == "complaint.answer":
        verdict = "成立 upheld" if after.get("upheld") else "不成立 not upheld"
        summary = f"答复投诉 complaint #{after.get('complaint_id')}: {verdict}"
    elif event.action == "grading.promote":
        summary = f"晋位升级 promoted: {before.get('level')} → {after.get('level')}"
    else:
        summary = event.action
    return {
        "event_id": event.id,
        "at": event.occurred_at,
        "actor": event.actor_username,
        "role": event.actor_role,
        "action": event.action,
        "summary": summary,
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
    }


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/transitions",
    summary="Fire one transition on many gradings; each grading succeeds or fails on its own",
    tag=TAG,
    body=BulkTransitionRequest,
    responses={200: BulkTransitionOut},
    errors=(403, 404, 422),
    description="Select gradings by `grading_ids`, `within` (an organization subtree) and/or "
    "`state`. Each grading runs in its own savepoint: one refusal does not undo the "
    "others. The results say, per grading, fired / approval_requested / refused.",
)
def bulk_transition(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = visible_campaign(ctx, campaign_id)
    body = ctx.body
    query = (
        select(Grading, Organization)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Grading.campaign_id == campaign.id, ctx.caller.visible_filter(Organization.path))
        .order_by(Grading.id)
    )
    if "grading_ids" in body:
        query = query.where(Grading.id.in_(body["grading_ids"]))
    query = within(ctx, query, body)
    if "state" in body:
        query = query.where(Grading.state == body["state"])
    if "founded_since" in body:
        query = query.where(Organization.founded_on >= body["founded_since"])
    results = []
    for grading, org in ctx.session.execute(query).all():
        savepoint = ctx.session.begin_nested()
        try:
            outcome = ops.request_transition(
                ctx.session,
                ctx.actor,
                ctx.caller,
                grading,
                org,
                body["transition"],
                body.get("reason"),
            )
            savepoint.commit()
            results.append(
                {
                    "grading_id": grading.id,
                    "state": grading.state,
                    "version": grading.version,
                    "outcome": "approval_requested" if outcome.approval else "fired",
                    "approval_id": outcome.approval.id if outcome.approval else None,
                    "problem": None,
                }
            )
        except DomainError as exc:
            savepoint.rollback()
            ctx.session.refresh(grading)
            results.append(
                {
                    "grading_id": grading.id,
                    "state": grading.state,
                    "version": grading.version,
                    "outcome": "refused",
                    "approval_id": None,
                    "problem": {
                        "type": f"/problems/{exc.type}",
                        "status": exc.status,
                        "detail": exc.detail,
                        **({"reasons": exc.extra["reasons"]} if "reasons" in exc.extra else {}),
                    },
                }
            )
    counts = {
        k: sum(1 for r in results if r["outcome"] == k)
        for k in ("fired", "approval_requested", "refused")
    }
    return {"transition": body["transition"], **counts, "results": results}


def written_or_pending(result: RecordVersion | Approval, render: Any, status: int = 200) -> Reply:
    """A stage record was written (render it), or it waits for a supervisor's approval (202)."""
    if isinstance(result, Approval):
        return Reply(result, 202, {"Location": f"/api/v1/approvals/{result.id}"})
    return Reply(render(result), status)


def visible_approval(ctx: Ctx, approval_id: int) -> Approval:
    row = ctx.session.execute(
        select(Approval)
        .join(Grading, Grading.id == Approval.grading_id)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Approval.id == approval_id, ctx.caller.visible_filter(Organization.path))
    ).first()
    if row is None:
        raise NotFound(f"approval {approval_id} was not found")
    return row[0]


@operation(
    api,
    "GET",
    "/approvals",
    summary="Approvals in your subtree (e.g. ?state=pending)",
    tag=TAG,
    query=ApprovalListQuery,
    responses={200: ApprovalPage},
)
def list_approvals(ctx: Ctx) -> Any:
    query = (
        select(Approval)
        .join(Grading, Grading.id == Approval.grading_id)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(ctx.caller.visible_filter(Organization.path))
    )
    if "state" in ctx.query:
        query = query.where(Approval.state == ctx.query["state"])
    if "grading_id" in ctx.query:
        query = query.where(Approval.grading_id == ctx.query["grading_id"])
    return paginate(ctx, query, Approval.id)


@operation(
    api,
    "GET",
    "/approvals/<int:approval_id>",
    summary="One approval",
    tag=TAG,
    responses={200: ApprovalOut},
    errors=(404,),
)
def get_approval(ctx: Ctx, approval_id: int) -> Any:
    return visible_approval(ctx, approval_id)


@operation(
    api,
    "POST",
    "/approvals/<int:approval_id>/approve",
    summary="Approve (a supervisor in scope, not the requester); the request fires now",
    tag=TAG,
    body=DecisionRequest,
    responses={200: ApprovalOut},
    errors=(403, 404, 409, 412, 422),
)
def approve(ctx: Ctx, approval_id: int) -> Any:
    approval = visible_approval(ctx, approval_id)
    return approval_ops.decide(
        ctx.session, ctx.actor, ctx.caller, approval, approve=True, comment=ctx.body.get("comment")
    )


@operation(
    api,
    "POST",
    "/approvals/<int:approval_id>/reject",
    summary="Reject with a comment (a supervisor in scope, not the requester)",
    tag=TAG,
    body=DecisionRequest,
    responses={200: ApprovalOut},
    errors=(403, 404, 409, 422),
)
def reject(ctx: Ctx, approval_id: int) -> Any:
    approval = visible_approval(ctx, approval_id)
    return approval_ops.decide(
        ctx.session, ctx.actor, ctx.caller, approval, approve=False, comment=ctx.body.get("comment")
    )
