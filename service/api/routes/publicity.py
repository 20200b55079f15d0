from __future__ import annotations

from typing import Any

from service.api.blueprint import api
from service.api.pagination import decode_path_cursor, next_cursor, page_limit, paginate
from service.api.routing import Ctx, Reply, operation, public_base
from service.api.schemas.publicity import (
    ComplaintAnswerIn,
    ComplaintFiledOut,
    ComplaintIn,
    ComplaintListQuery,
    ComplaintOut,
    ComplaintPage,
    ComplaintPublicOut,
    NoticeOut,
    NoticeQuery,
)
from service.api.scope import scoped
from service.api.throttle import throttle_complaints
from service.api.transitions import as_asked
from service.lifecycle import complaints
from service.publicity import operations as ops
from service.publicity.models import Complaint
from service.publicity.workflow import COMPLAINT_WORKFLOW
from service.workflows.states import ComplaintState

TAG = "publicity"


@operation(
    api,
    "GET",
    "/public/notices/<int:campaign_id>",
    summary="公示: the organizations of an area under publicity and their levels (no token)",
    tag=TAG,
    auth=False,
    query=NoticeQuery,
    responses={200: NoticeOut},
    errors=(404, 422),
)
def get_notice(ctx: Ctx, campaign_id: int) -> Any:
    campaign, committee, area = ops.notice_scope(ctx.session, campaign_id, ctx.query.get("area"))
    page = f"{public_base()}/notice/{campaign.id}"
    limit = page_limit(ctx)
    cursor = ctx.query.get("cursor")
    after = decode_path_cursor(cursor) if cursor else ""
    rows = ops.notice(ctx.session, campaign, area, after_path=after, limit=limit + 1)
    return {
        "campaign": campaign.name,
        "area": area.name,
        "committee": committee.name,
        "publicity_working_days": campaign.publicity_working_days,
        "page": page if area is committee else f"{page}?area={area.id}",
        "complaint_form": f"{public_base()}/complaints/new",
        "items": [item for _, item in rows[:limit]],
        "next_cursor": next_cursor(rows, limit, lambda row: str(row[0])),
        "total": ops.notice_size(ctx.session, campaign, area) if ctx.query.get("total") else None,
    }


@operation(
    api,
    "POST",
    "/public/complaints",
    summary="File a complaint against a grading under publicity (no token; anonymous allowed)",
    tag=TAG,
    auth=False,
    first=throttle_complaints,  # every attempt counts, malformed or refused ones too
    body=ComplaintIn,
    responses={201: ComplaintFiledOut},
    errors=(404, 409, 429),
    description="Limited per client (COMPLAINT_LIMIT per COMPLAINT_WINDOW_SECONDS): past it, 429 "
    "with Retry-After. Keep the tracking code to read the reply. Send an Idempotency-Key: a "
    "retry after a lost answer gets the same tracking code instead of a second complaint.",
)
def file_complaint(ctx: Ctx) -> Any:
    complaint = ops.file_complaint(
        ctx.session, ctx.body["grading_id"], ctx.body["text"], ctx.body.get("contact")
    )
    return Reply({"tracking_code": complaint.tracking_code, "state": complaint.state}, 201)


@operation(
    api,
    "GET",
    "/public/complaints/<code>",
    summary="Read a complaint's state and reply by its tracking code (no token)",
    tag=TAG,
    auth=False,
    responses={200: ComplaintPublicOut},
    errors=(404,),
)
def track_complaint(ctx: Ctx, code: str) -> Any:
    return ops.find_by_code(ctx.session, code)


@operation(
    api,
    "GET",
    "/complaints",
    summary="Complaints about gradings in your subtree",
    tag=TAG,
    query=ComplaintListQuery,
    responses={200: ComplaintPage},
)
def list_complaints(ctx: Ctx) -> Any:
    return paginate(ctx, ops.listed(ctx.caller, ctx.query), Complaint.id)


@operation(
    api,
    "POST",
    "/complaints/<int:complaint_id>/assign",
    summary="Take up a complaint to investigate it (调查核实) — a reviewer",
    tag=TAG,
    responses={200: ComplaintOut},
    errors=(403, 404, 409),
    fires=("complaint", "assign", "reassign"),
)
def assign_complaint(ctx: Ctx, complaint_id: int) -> Any:
    complaint, org = scoped(ctx, Complaint, complaint_id)
    taken = "assign" if complaint.state == ComplaintState.RECEIVED else "reassign"
    COMPLAINT_WORKFLOW.authorize(
        ctx.caller, org, as_asked(ctx, COMPLAINT_WORKFLOW, complaint.state, taken)
    )
    return ops.assign(ctx.session, ctx.actor, complaint)


@operation(
    api,
    "POST",
    "/complaints/<int:complaint_id>/answer",
    summary="Answer a complaint: findings, the reply, upheld or not",
    tag=TAG,
    body=ComplaintAnswerIn,
    responses={200: ComplaintOut},
    errors=(403, 404, 409, 422),
    description="An upheld complaint moves the grading to complaint review and asks a "
    "supervisor to send it back to superior review, with the complaint as the reason.",
    fires=("complaint", "answer"),
)
def answer_complaint(ctx: Ctx, complaint_id: int) -> Any:
    complaint, org = scoped(ctx, Complaint, complaint_id)
    COMPLAINT_WORKFLOW.authorize(ctx.caller, org, "answer")
    return complaints.answer(
        ctx.session,
        ctx.actor,
        complaint,
        ctx.body["findings"],
        ctx.body["reply"],
        ctx.body["upheld"],
    )
