from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.conditional import etag, if_match
from service.api.duties import check_duty, config_of
from service.api.pagination import decode_cursor, next_cursor, page_limit, paginate
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.common import PageQuery
from service.api.schemas.gradings import (
    ApprovalListQuery,
    ApprovalOut,
    ApprovalPage,
    BulkTransitionOut,
    BulkTransitionRequest,
    DecisionRequest,
    GradingView,
    HistoryOut,
    ReCheckSheetIn,
    ReCheckSheetOut,
    RecordVersionsOut,
    TransitionRequest,
)
from service.api.scope import claimed, read_grading_story, scoped, scoped_grading, within_path
from service.campaigns.models import Campaign
from service.campaigns.procedure import DUTY_OF_RECORD, Duty
from service.decisions.models import DecisionMeeting
from service.errors import NotFound
from service.gradings import listing, records
from service.gradings.models import Approval, Grading
from service.lifecycle import operations as ops
from service.lifecycle import re_checks
from service.lifecycle.workflow import APPROVAL_WORKFLOW, GRADING_WORKFLOW
from service.organizations.models import Organization, Placed
from service.workflows.states import STAGE_OF_RECORD

TAG = "gradings"


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
    grading, org, facts = scoped_grading(ctx, grading_id)
    answer = ops.view(ctx.session, ctx.caller, grading, org, facts)
    return Reply(answer, 200, etag(grading.version))


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
    auth_in_load=True,
)
def post_transition(ctx: Ctx, grading_id: int) -> Any:
    # Every answer but a refusal records an event on the organization's chain: its head is
    # claimed with the grading's load — unless the transition's guards take locks, which must
    # come before the chain's (service.audit.operations.claim_head).
    transition = GRADING_WORKFLOW.spec.transition(ctx.body["transition"])
    grading, org, facts = (
        claimed(ctx, grading_id)
        if transition is not None and not transition.takes_locks
        else scoped_grading(ctx, grading_id)
    )
    _authorize(ctx, org, ctx.body["transition"], lambda: config_of(ctx, grading.campaign_id))
    outcome = ops.request_transition(
        ctx.session,
        ctx.actor,
        grading,
        ctx.body["transition"],
        ctx.body.get("reason"),
        if_match(),
        facts,
    )
    if outcome.approval is not None:
        return Reply(
            outcome.approval,
            202,
            {"Location": f"/api/v1/approvals/{outcome.approval.id}", **etag(grading.version)},
        )
    # a transition writes none of the facts: the answer reads them as loaded
    answer = ops.view(ctx.session, ctx.caller, grading, org, facts)
    return Reply(answer, 200, etag(grading.version))


def _authorize(ctx: Ctx, org: Placed, name: str, decision_config: Callable[[], Any]) -> None:
    """The transition's roles (404/403), then — when it is one of the superior's duties — the
    duty's rules (403 superior-duty), with the campaign's configuration read only then."""
    transition = GRADING_WORKFLOW.authorize(ctx.caller, org, name)
    if transition.duty is not None:
        what = f"{name} ({transition.label})"
        check_duty(ctx, org, decision_config(), Duty(transition.duty), transition.roles, what)


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/history",
    summary="The grading's timeline: who did what, when, why, before → after",
    tag=TAG,
    query=PageQuery,
    responses={200: HistoryOut},
    errors=(404, 422),
)
def get_history(ctx: Ctx, grading_id: int) -> Any:
    grading = read_grading_story(ctx, grading_id, "history")
    limit = page_limit(ctx)
    cursor = ctx.query.get("cursor")
    items = ops.history(
        ctx.session, grading, after=decode_cursor(cursor) if cursor else 0, limit=limit + 1
    )
    return {
        "grading_id": grading.id,
        "items": items[:limit],
        "next_cursor": next_cursor(items, limit, lambda item: int(item["event_id"])),
        "total": ops.history_size(ctx.session, grading) if ctx.query.get("total") else None,
    }


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/records/<record_type>/<key>/versions",
    summary="Every version of one stage record, oldest first: the data, who, when, why",
    tag=TAG,
    responses={200: RecordVersionsOut},
    errors=(404,),
    description="Any versioned record of the grading (`record_type`: survey_entry, self_rating, "
    "ballot_tally, assessment, decision, veto_flags, rectification_item, "
    "rectification_helpers, rectification_plan, special_report, satisfaction_tally, "
    "promotion_decision; `key`: E1, I1, P1, S3 … or main). Nothing is ever overwritten: a "
    "correction is a new version naming why.",
)
def get_record_versions(ctx: Ctx, grading_id: int, record_type: str, key: str) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    versions = (
        records.versions(ctx.session, grading.id, record_type, key)
        if record_type in STAGE_OF_RECORD
        else []
    )
    if not versions:
        raise NotFound(f"grading {grading.id} has no {record_type} {key}")
    return {"grading_id": grading.id, "record_type": record_type, "key": key, "items": versions}


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/transitions",
    summary="Fire one transition on many gradings; each grading succeeds or fails on its own",
    tag=TAG,
    body=BulkTransitionRequest,
    responses={200: BulkTransitionOut},
    errors=(403, 404, 422),
    description="Select gradings by `grading_ids`, `within` (an organization subtree), `state` "
    "and/or `meeting_id` (the gradings a 分类定级会议 decided). Each grading runs in its own "
    "savepoint: one refusal does not undo the others. The results say, per grading, fired / "
    "approval_requested / refused.",
)
def bulk_transition(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    body = ctx.body
    decided_at = None
    if "meeting_id" in body:
        meeting, _ = scoped(ctx, DecisionMeeting, body["meeting_id"], "meeting_id")
        if meeting.campaign_id != campaign.id:
            raise NotFound(
                f"decision meeting {meeting.id} is not of this campaign",
                errors={"meeting_id": ["not found in this campaign"]},
            )
        decided_at = [r.grading_id for r in meeting.results]
    query = listing.chosen(ctx.caller, campaign, body, within_path(ctx, body), decided_at)
    results = ops.fire_many(
        ctx.session,
        ctx.actor,
        listing.pairs(ctx.session, query),
        body["transition"],
        body.get("reason"),
        authorize=lambda org: _authorize(
            ctx, org, body["transition"], lambda: campaign.decision_config
        ),
    )
    counts = {
        k: sum(1 for r in results if r["outcome"] == k)
        for k in ("fired", "approval_requested", "refused")
    }
    return {"transition": body["transition"], **counts, "results": results}


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/re-checks",
    summary="复查 by a work group: many gradings of 回头看 re-checked in one sheet",
    tag=TAG,
    body=ReCheckSheetIn,
    responses={200: ReCheckSheetOut},
    errors=(403, 404, 409, 422),
    description=(
        "As the seeds' 回头看 asks (各地各单位要成立工作组，"
        "对基层党组织分类定级工作进行一次全面复查): the work group, the day, "
        "and per grading the outcome — `confirmed` (维持原定等次) or `adjust` "
        "(调整等次, with the level proposed, e.g. 较差 where 三打两建 problems "
        "were found) — with the findings. Each row is the grading's re_check "
        "record; an `adjust` also asks a supervisor to reopen the review "
        "(reopen_review): its approval id. A reviewer above each organization: "
        "the superior's duty (403 superior-duty to the organization's own "
        "people). The sheet is written whole or not at all: a row out of sight "
        "is 404 naming it, a grading not in 回头看 409 stage-not-open naming the "
        "row, a bad row 422."
    ),
)
def re_check_sheet(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    rows = []
    for n, row in enumerate(ctx.body["results"]):
        grading, org = scoped(ctx, Grading, row["grading_id"], f"results.{n}.grading_id")
        ctx.caller.require(org, [Role.REVIEWER], "re-checking a grading (复查)")
        check_duty(
            ctx, org, campaign.decision_config, Duty.DECISION, (Role.REVIEWER,), "复查 (re-check)"
        )
        if row["outcome"] == "adjust":
            _authorize(ctx, org, re_checks.REOPEN, lambda: campaign.decision_config)
        rows.append((grading, row))
    re_checks.check_rows(ctx.session, campaign, rows)
    done = re_checks.write_sheet(
        ctx.session, ctx.actor, ctx.body["work_group"], ctx.body["checked_on"], rows
    )
    return {
        "campaign_id": campaign.id,
        "checked": len(done),
        "adjusted": sum(1 for d in done if d.approval is not None),
        "results": [
            {
                "grading_id": d.grading.id,
                "version": d.written.version,
                "outcome": d.written.data["outcome"],
                "approval_id": d.approval.id if d.approval else None,
            }
            for d in done
        ],
    }


SETTLING_A_DUTY = (
    "An approval of one of the superior's duties (`decide`, a complaint upheld, a tally's or an "
    "assessment's correction …) is settled only by a supervisor above the graded organization, "
    "never one homed in it — 403 superior-duty otherwise (docs/decisions/0033)."
)


def _duty_of(approval: Approval) -> Duty | None:
    """The superior's duty an approval settles: its transition's, or its record's."""
    if approval.kind == "transition":
        transition = GRADING_WORKFLOW.spec.transition(approval.subject)
        return Duty(transition.duty) if transition is not None and transition.duty else None
    return DUTY_OF_RECORD.get(approval.subject)


def _settler(ctx: Ctx, approval: Approval, org: Organization, step: str) -> None:
    """A supervisor in scope settles an approval; one of the superior's duties (a decision, a
    tally's correction…) only a supervisor the duty's rules allow."""
    transition = APPROVAL_WORKFLOW.authorize(ctx.caller, org, step)
    duty = _duty_of(approval)
    if duty is not None:
        config = config_of(ctx, approval.grading.campaign_id)
        check_duty(ctx, org, config, duty, transition.roles, f"{step} ({transition.label})")


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
    query = listing.approvals(ctx.caller, ctx.query)
    return paginate(ctx, query, Approval.id, listing.APPROVAL_SORTS)


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
    return scoped(ctx, Approval, approval_id)[0]


@operation(
    api,
    "POST",
    "/approvals/<int:approval_id>/approve",
    summary="Approve (a supervisor in scope, not the requester); the request fires now",
    tag=TAG,
    body=DecisionRequest,
    responses={200: ApprovalOut},
    errors=(403, 404, 409, 412, 422),
    description=SETTLING_A_DUTY,
    fires=("approval", "approve"),
)
def approve(ctx: Ctx, approval_id: int) -> Any:
    approval, org = scoped(ctx, Approval, approval_id)
    _settler(ctx, approval, org, "approve")
    return ops.settle_approval(
        ctx.session, ctx.actor, approval, approve=True, comment=ctx.body.get("comment")
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
    description=SETTLING_A_DUTY,
    fires=("approval", "reject"),
)
def reject(ctx: Ctx, approval_id: int) -> Any:
    approval, org = scoped(ctx, Approval, approval_id)
    _settler(ctx, approval, org, "reject")
    return ops.settle_approval(
        ctx.session, ctx.actor, approval, approve=False, comment=ctx.body.get("comment")
    )
