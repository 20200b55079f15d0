from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, stream_with_context
from marshmallow import Schema, fields, validate

from service.api.blueprint import api
from service.api.routing import Ctx, operation
from service.api.schemas.common import query_id
from service.api.scope import scoped
from service.campaigns.models import Campaign
from service.errors import NotFound
from service.organizations.models import Organization
from service.reports import formats, queries

TAG = "reports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportQuery(Schema):
    format = fields.String(
        validate=validate.OneOf(["json", "csv", "xlsx"]),
        metadata={"description": "or send Accept: text/csv / the xlsx type"},
    )
    provisional = fields.Boolean(metadata={"description": "count levels still under publicity"})
    within = query_id(metadata={"description": "a unit of your subtree (default: all you see)"})


class SummaryOut(Schema):
    campaign = fields.String(required=True)
    unit = fields.String(required=True)
    provisional = fields.Boolean(required=True)
    levels = fields.List(fields.Dict(), required=True)
    rows = fields.List(fields.Dict(), required=True)
    total = fields.Dict(required=True)
    by_domain = fields.List(fields.Dict(), required=True)
    by_area = fields.List(fields.Dict(), required=True)


class DetailOut(Schema):
    campaign = fields.String(required=True)
    unit = fields.String(required=True)
    items = fields.List(fields.Dict(), required=True)


def _root(ctx: Ctx, campaign: Campaign) -> Organization:
    """The caller's part of the campaign: a township sees itself, the county all its townships."""
    if "within" in ctx.query:
        return scoped(ctx, Organization, ctx.query["within"], "within")[0]
    committee = ctx.session.get_one(Organization, campaign.organization_id)
    if ctx.caller.sees(committee):
        return committee
    for grant in ctx.caller.grants:
        if grant.path.startswith(committee.path):
            return ctx.session.get_one(Organization, grant.organization_id)
    raise NotFound(f"campaign {campaign.id} was not found")


def _format() -> str:
    chosen = request.args.get("format")
    if chosen:
        return chosen
    best = request.accept_mimetypes.best_match(["application/json", "text/csv", XLSX])
    return {"text/csv": "csv", XLSX: "xlsx"}.get(best or "", "json")


def _file(
    fmt: str, name: str, title: str, header: list[str], rows: Any, widths: list[int]
) -> Response:
    if fmt == "csv":
        response = Response(
            stream_with_context(formats.csv_stream(header, rows)), mimetype="text/csv"
        )
    else:
        response = Response(formats.xlsx_bytes(title, header, rows, widths), mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


SPEC = {"x-streamed-formats": ["text/csv", XLSX]}


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/reports/summary",
    summary="汇总表: per unit, 领域 and 协作区 — organizations graded, count and share per level",
    tag=TAG,
    query=ReportQuery,
    responses={200: SummaryOut},
    errors=(404,),
    spec_extra=SPEC,
)
def summary(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    root = _root(ctx, campaign)
    report = queries.summary(ctx.session, campaign, root, bool(ctx.query.get("provisional")))
    fmt = _format()
    if fmt == "json":
        return report
    header, rows = formats.summary_table(report)
    title = f"{campaign.name} 分类定级情况汇总表（{root.name}）"
    return _file(fmt, "summary", title, header, rows, [24, 10] + [9] * (len(header) - 2))


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/reports/detail",
    summary="明细表: one row per organization (CSV and xlsx stream)",
    tag=TAG,
    query=ReportQuery,
    responses={200: DetailOut},
    errors=(404,),
    spec_extra=SPEC,
)
def detail(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    root = _root(ctx, campaign)
    provisional = bool(ctx.query.get("provisional"))
    fmt = _format()
    if fmt == "json":
        return {
            "campaign": campaign.name,
            "unit": root.name,
            "items": list(queries.detail_rows(ctx.session, campaign, root, provisional)),
        }
    columns = queries.detail_columns(ctx.session, campaign)
    keys = [k for k, _ in columns]

    def stream() -> Any:
        """Rows in batches from a session of their own: the response may outlive the request's."""
        session = current_app.extensions["grading.sessions"]()
        try:
            for row in queries.detail_rows(session, campaign, root, provisional):
                yield [row.get(k) for k in keys]
        finally:
            session.close()

    rows = stream()
    title = f"{campaign.name} 分类定级情况明细表（{root.name}）"
    return _file(
        fmt,
        "detail",
        title,
        [h for _, h in columns],
        rows,
        [20, 28, 10, 10, 8, 10, 12],
    )


class ListOut(Schema):
    campaign = fields.String(required=True)
    unit = fields.String(required=True)
    items = fields.List(fields.Dict(), required=True)


class ProgressOut(Schema):
    campaign = fields.String(required=True)
    unit = fields.String(required=True)
    gradings_by_unit = fields.List(fields.Dict(), required=True)
    overdue_by_stage = fields.Dict(required=True)
    rectification_items = fields.Dict(required=True)
    ballots = fields.Dict(required=True)
    complaints = fields.Dict(required=True)


POOR_COLUMNS = [
    ("unit", "单位"),
    ("name", "党组织名称"),
    ("domain", "领域"),
    ("secretary", "书记"),
    ("members", "党员数"),
]
STATUS_COLUMNS = [
    ("name", "党组织名称"),
    ("problems", "存在问题"),
    ("causes", "原因"),
    ("measures", "整改措施"),
    ("paired_leader", "挂点领导"),
    ("liaison", "联络员"),
    ("deadline", "整改时限"),
    ("progress", "整改进度(已销号/总数)"),
]


def _listing(
    ctx: Ctx,
    campaign: Campaign,
    root: Organization,
    items: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    name: str,
    title: str,
) -> Any:
    fmt = _format()
    if fmt == "json":
        return {"campaign": campaign.name, "unit": root.name, "items": items}
    rows = [[item.get(k) for k, _ in columns] for item in items]
    return _file(
        fmt,
        name,
        f"{campaign.name} {title}（{root.name}）",
        [h for _, h in columns],
        rows,
        [24] * len(columns),
    )


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/reports/poor-list",
    summary="较差名单: the organizations at the lowest level",
    tag=TAG,
    query=ReportQuery,
    responses={200: ListOut},
    errors=(404,),
    spec_extra=SPEC,
)
def poor_list(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    root = _root(ctx, campaign)
    items = queries.poor_list(ctx.session, campaign, root, bool(ctx.query.get("provisional")))
    return _listing(ctx, campaign, root, items, POOR_COLUMNS, "poor-list", "较差基层党组织名单")


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/reports/poor-status",
    summary="较差状况明细表: problems, causes, measures, helpers, deadlines, progress",
    tag=TAG,
    query=ReportQuery,
    responses={200: ListOut},
    errors=(404,),
    spec_extra=SPEC,
)
def poor_status(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    root = _root(ctx, campaign)
    items = queries.poor_status(ctx.session, campaign, root, bool(ctx.query.get("provisional")))
    return _listing(
        ctx, campaign, root, items, STATUS_COLUMNS, "poor-status", "较差基层党组织状况明细表"
    )


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/reports/progress",
    summary="Campaign progress: gradings per state per unit, ballots, complaints",
    tag=TAG,
    query=ReportQuery,
    responses={200: ProgressOut},
    errors=(404,),
    spec_extra=SPEC,
)
def progress(ctx: Ctx, campaign_id: int) -> Any:
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    root = _root(ctx, campaign)
    report = queries.progress(ctx.session, campaign, root)
    fmt = _format()
    if fmt == "json":
        return report
    header, rows = formats.progress_table(report)
    return _file(
        fmt, "progress", f"{campaign.name} 工作进度（{root.name}）", header, rows, [24, 18, 10]
    )
