from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.files import XLSX, attachment, chosen_format
from service.api.pagination import paginate
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.spotchecks import (
    AccountabilityIn,
    AccountabilityList,
    AccountabilityOut,
    DrawIn,
    FindingIn,
    FindingOut,
    GradingAccountabilityIn,
    SpotCheckIn,
    SpotCheckOut,
    SpotCheckPage,
    SpotCheckQuery,
    SpotCheckReportOut,
)
from service.api.scope import scoped
from service.campaigns.models import Campaign
from service.errors import Forbidden
from service.gradings.models import Grading
from service.lifecycle import spot_checks
from service.lifecycle.workflow import GRADING_WORKFLOW
from service.organizations.models import Organization
from service.reports import formats
from service.spotchecks import accountability
from service.spotchecks import operations as ops
from service.spotchecks.models import SpotCheck

TAG = "spotchecks"


class ReportFormat(Schema):
    format = fields.String(
        validate=validate.OneOf(["json", "xlsx"]),
        metadata={"description": "or send Accept: the xlsx type"},
    )


def _inspector_above(ctx: Ctx, org: Organization, what: str) -> None:
    """A spot check is planned and carried out by an inspector of a higher scope than the
    organizations it checks."""
    ctx.caller.require(org, [Role.INSPECTOR], what)
    if not ctx.caller.grants_above(org, Role.INSPECTOR):
        raise Forbidden(f"{what} needs an inspector above {org.name}, not at it")


def _check(ctx: Ctx, spot_check_id: int, what: str | None = None) -> SpotCheck:
    """The spot check if its population's organization is in the caller's subtree (404 if
    not); with `what`, the caller must be an inspector above it."""
    check, org = scoped(ctx, SpotCheck, spot_check_id)
    if what is not None:
        _inspector_above(ctx, org, what)
    return check


@operation(
    api,
    "POST",
    "/spot-checks",
    summary="Plan a spot check (抽查): the population, the sample's size and strata",
    tag=TAG,
    body=SpotCheckIn,
    responses={201: SpotCheckOut},
    errors=(403, 404, 422),
    description="An inspector above the organization: the population is the campaign's decided "
    "gradings under it (of `levels`), whatever stage they are in; the sample is `share` of it "
    "or `size`, allocated over the strata. The sample is drawn later from a tree head signed "
    "after this plan and the `beacon`'s value — a drand round or a lottery's draw that is "
    "still in the future now (422 otherwise), so nobody can try values until a branch they "
    "choose stays out (docs/spot-checks.md).",
)
def plan_spot_check(ctx: Ctx) -> Any:
    campaign, _ = scoped(ctx, Campaign, ctx.body["campaign_id"], "campaign_id")
    org, _ = scoped(ctx, Organization, ctx.body["organization_id"], "organization_id")
    _inspector_above(ctx, org, "planning a spot check")
    check = ops.plan(ctx.session, ctx.actor, campaign, org, ctx.body)
    return Reply(check, 201, {"Location": f"/api/v1/spot-checks/{check.id}"})


@operation(
    api,
    "GET",
    "/spot-checks",
    summary="Spot checks of organizations in your subtree",
    tag=TAG,
    query=SpotCheckQuery,
    responses={200: SpotCheckPage},
    errors=(404, 422),
)
def list_spot_checks(ctx: Ctx) -> Any:
    return paginate(ctx, ops.listed(ctx.caller, ctx.query), SpotCheck.id)


@operation(
    api,
    "GET",
    "/spot-checks/<int:spot_check_id>",
    summary="One spot check: its plan, and once drawn, the seed and where it came from",
    tag=TAG,
    responses={200: SpotCheckOut},
    errors=(404,),
)
def get_spot_check(ctx: Ctx, spot_check_id: int) -> Any:
    return _check(ctx, spot_check_id)


@operation(
    api,
    "POST",
    "/spot-checks/<int:spot_check_id>/draw",
    summary="Draw the sample, once, with the public value now published",
    tag=TAG,
    body=DrawIn,
    responses={200: SpotCheckOut},
    errors=(403, 404, 409, 422),
    description="409 seed-not-ready until a tree head is signed after the plan, and until the "
    "beacon's value is public (a drand round's time; a lottery's draw day, from 22:00 Beijing "
    "time); 422 for a value not in the beacon's format; 409 spot-check-state once drawn. "
    "Anyone can recompute the sample from the seed's parts and the population, and hold the "
    "value entered to the one published (docs/spot-checks.md).",
    fires=("spot_check", "draw"),
)
def draw_spot_check(ctx: Ctx, spot_check_id: int) -> Any:
    check = _check(ctx, spot_check_id, "drawing a spot check's sample")
    return ops.draw(ctx.session, ctx.actor, check, ctx.body["public_value"])


@operation(
    api,
    "PUT",
    "/spot-checks/<int:spot_check_id>/findings/<int:grading_id>",
    summary="Record the finding on a sampled grading: confirmed, or falsified with evidence",
    tag=TAG,
    body=FindingIn,
    responses={200: FindingOut},
    errors=(403, 404, 409, 422),
    description="Written once. A falsification on a decided grading — rated, rectifying, in "
    "回头看 or rising — asks for it to be reopened (superior review again) — a supervisor "
    "approves it; `reopen_approval_id` names the approval.",
)
def record_finding(ctx: Ctx, spot_check_id: int, grading_id: int) -> Any:
    check = _check(ctx, spot_check_id, "recording a spot check's finding")
    item = ops.item_of(ctx.session, check, grading_id)
    grading, org = scoped(ctx, Grading, grading_id)
    reopen = ops.REOPEN.get(grading.state)
    if ctx.body["outcome"] == "falsified" and reopen is not None:
        GRADING_WORKFLOW.authorize(ctx.caller, org, reopen)
    approval = spot_checks.record_finding(ctx.session, ctx.actor, check, item, ctx.body)
    return {
        **{name: getattr(item, name) for name in FindingOut().fields if hasattr(item, name)},
        "reopen_approval_id": approval.id if approval is not None else None,
    }


@operation(
    api,
    "POST",
    "/spot-checks/<int:spot_check_id>/accountability",
    summary="Record who answers for a falsification found (追究责任) and the measure taken",
    tag=TAG,
    body=AccountabilityIn,
    responses={201: AccountabilityOut},
    errors=(403, 404, 409, 422),
    description="Append-only. Only for a sampled grading found falsified; the committee is the "
    "organization or one above it.",
)
def record_accountability(ctx: Ctx, spot_check_id: int) -> Any:
    check = _check(ctx, spot_check_id, "recording accountability")
    item = ops.item_of(ctx.session, check, ctx.body["grading_id"])
    committee, _ = scoped(ctx, Organization, ctx.body["committee_id"], "committee_id")
    entry = ops.record_accountability(ctx.session, ctx.actor, check, item, committee, ctx.body)
    return Reply(entry, 201)


@operation(
    api,
    "POST",
    "/spot-checks/<int:spot_check_id>/conclude",
    summary="Conclude the spot check once every sampled grading has its finding",
    tag=TAG,
    responses={200: SpotCheckOut},
    errors=(403, 404, 409),
    fires=("spot_check", "conclude"),
)
def conclude_spot_check(ctx: Ctx, spot_check_id: int) -> Any:
    check = _check(ctx, spot_check_id, "concluding a spot check")
    return ops.conclude(ctx.session, ctx.actor, check)


@operation(
    api,
    "GET",
    "/spot-checks/<int:spot_check_id>/report",
    summary="The spot check's report: the sample, each finding, the follow-ups, the ledger",
    tag=TAG,
    query=ReportFormat,
    responses={200: SpotCheckReportOut},
    errors=(404,),
    description="Anyone who sees the subtree. `format=xlsx` (or Accept: the xlsx type): the "
    "same as a workbook to print and file — the sample with its findings, and the "
    "accountability ledger, the seed in the footer.",
    spec_extra={"x-streamed-formats": [XLSX]},
)
def spot_check_report(ctx: Ctx, spot_check_id: int) -> Any:
    check = _check(ctx, spot_check_id)
    report = ops.report(ctx.session, check)
    if chosen_format("xlsx") == "json":
        return report
    committees = ops.committee_names(ctx.session, report)
    workbook = Response(formats.spot_check_xlsx(report, committees), mimetype=XLSX)
    return attachment(workbook, f"spot-check-{check.id}.xlsx", f"{check.title}抽查报告.xlsx")


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/accountability",
    summary="Hold someone accountable (追究责任) for what oversight found, linked to its source",
    tag=TAG,
    body=GradingAccountabilityIn,
    responses={201: AccountabilityOut},
    errors=(403, 404, 409, 422),
    description="An inspector above the organization. The source is the grading's own: a spot "
    "check that found it falsified, an upheld complaint, the approved reopen_review of its "
    "回头看, or an inspection acceptance that did not accept (404 for a source of another "
    "grading, 409 for one that found nothing). Append-only; the committee is the organization "
    "or one above it.",
)
def hold_accountable(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    _inspector_above(ctx, org, "recording accountability")
    committee, _ = scoped(ctx, Organization, ctx.body["committee_id"], "committee_id")
    entry = accountability.write(
        ctx.session,
        ctx.actor,
        grading,
        committee,
        ctx.body["source"],
        ctx.body["source_id"],
        ctx.body,
    )
    return Reply(entry, 201)


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/accountability",
    summary="The grading's accountability ledger, each record with its source",
    tag=TAG,
    responses={200: AccountabilityList},
    errors=(404,),
)
def list_accountability(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return {"items": accountability.of_grading(ctx.session, grading)}
