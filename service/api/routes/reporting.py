"""Reporting upward (上报): a township's tables submitted to the committee above, by a date."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.common import id_field, text
from service.api.scope import scoped
from service.campaigns.models import Campaign
from service.errors import CampaignNotOpen, ValidationFailed
from service.organizations.models import Organization
from service.reporting import operations as ops
from service.reporting.models import ReportSubmission
from service.workflows.states import CampaignStatus

TAG = "reports"
KIND = fields.String(
    validate=validate.OneOf(list(ops.KINDS)),
    metadata={
        "description": "grading_tables (汇总表, 明细表, 较差名单, 较差状况明细表; the seeds' "
        "4月15日) or review (复查情况 with 附件1、2; 6月25日)"
    },
)


class SubmissionIn(Schema):
    organization_id = id_field(
        required=True, metadata={"description": "the committee reporting (a township)"}
    )
    kind = fields.String(required=True, validate=validate.OneOf(list(ops.KINDS)))
    signed_off_by = text(100, required=True, metadata={"description": "签发人: who signed it off"})
    reason = text(
        1000,
        allow_none=True,
        metadata={"description": "required from the second version on: what changed, and why"},
    )


class SubmissionOut(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    version = fields.Integer(required=True)
    submitted_at = fields.DateTime(required=True)
    submitted_by = fields.String(required=True)
    signed_off_by = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)
    due_on = fields.Date(required=True)
    late = fields.Boolean(required=True)
    digest = fields.String(required=True, metadata={"description": "SHA-256 of the snapshot"})
    snapshot = fields.Dict(metadata={"description": "the tables as submitted"})


class OverviewQuery(Schema):
    kind = KIND


class OverviewOut(Schema):
    kind = fields.String(required=True)
    kind_label = fields.String(required=True)
    due_on = fields.Date(required=True)
    items = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per committee: status (submitted, late, missing, overdue) and "
            "status_label, the latest version, changed_since and changed_organizations"
        },
    )


@operation(
    api,
    "POST",
    "/campaigns/<int:campaign_id>/report-submissions",
    summary="Submit a committee's tables to the campaign's committee (上报), signed off by a "
    "named person",
    tag=TAG,
    body=SubmissionIn,
    responses={201: SubmissionOut},
    errors=(403, 404, 409, 422),
    description="The tables as they read now (final levels) are kept with their digest; late "
    "when after the campaign's date. A second submission is a new version and needs a reason. "
    "A reviewer or admin of the reporting committee (or above).",
)
def submit_report(ctx: Ctx, campaign_id: int) -> Any:
    campaign, top = scoped(ctx, Campaign, campaign_id)
    committee, _ = scoped(ctx, Organization, ctx.body["organization_id"], "organization_id")
    ctx.caller.require(committee, [Role.REVIEWER, Role.ADMIN], "submitting a report")
    if campaign.status == CampaignStatus.DRAFT:
        raise CampaignNotOpen(
            "a draft campaign has nothing to report", detail_zh="活动尚未启动，没有可上报的内容"
        )
    if committee.kind != "committee" or committee.id == top.id or not committee.is_within(top.path):
        raise ValidationFailed(
            "the reporting organization must be a committee below the campaign's",
            detail_zh="上报单位须是活动所属党委之下的党委（如乡镇党委）",
            errors={"organization_id": ["not a committee below the campaign's"]},
        )
    submission = ops.submit(
        ctx.session,
        ctx.actor,
        campaign,
        committee,
        ctx.body["kind"],
        ctx.body["signed_off_by"],
        ctx.body.get("reason"),
    )
    return Reply(
        ops.submission_out(submission, with_snapshot=False),
        201,
        {"Location": f"/api/v1/report-submissions/{submission.id}"},
    )


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/report-submissions",
    summary="Who has submitted, who is late, and what changed since (the committee above)",
    tag=TAG,
    query=OverviewQuery,
    responses={200: OverviewOut},
    errors=(404, 422),
    description="Every committee below the campaign's that you can see: submitted on time, "
    "late, missing, or overdue; its latest version; and whether the organizations' rows "
    "changed since it was submitted (which ones). `kind` defaults to grading_tables.",
)
def report_overview(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    committees = ops.reporting_committees(
        ctx.session, campaign, ctx.caller.visible_filter(Organization.path)
    )
    return ops.overview(ctx.session, campaign, ctx.query.get("kind", "grading_tables"), committees)


@operation(
    api,
    "GET",
    "/report-submissions/<int:submission_id>",
    summary="One submission, with the tables as they were submitted",
    tag=TAG,
    responses={200: SubmissionOut},
    errors=(404,),
    description="The snapshot as sent (append-only: never changed) and its SHA-256 digest, who "
    "submitted and who signed it off, the date it was due and whether it was late.",
)
def get_submission(ctx: Ctx, submission_id: int) -> Any:
    submission, _ = scoped(ctx, ReportSubmission, submission_id)
    return ops.submission_out(submission)
