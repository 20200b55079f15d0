from __future__ import annotations

from typing import Any

from flask import Response, current_app, stream_with_context
from marshmallow import Schema, fields, validate

from service.api.blueprint import api
from service.api.files import XLSX, attachment, chosen_format
from service.api.routing import Ctx, operation
from service.api.schemas.common import query_id
from service.api.scope import scoped
from service.campaigns.models import Campaign
from service.errors import NotFound
from service.organizations.models import Organization
from service.organizations.operations import get_organization
from service.reports import formats, movement, problems, queries, ranking

TAG = "reports"


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
    items = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per organization (每个党组织一行): unit, name, domain, secretary, "
            "members, level, state, composite, computed_level; `assessment:<indicator>` and "
            "`self_rating:<indicator>` (上级评分, 自评分; `<indicator>.<sub_item>` for a "
            "refined one), and `assessment:adjustment.<code>` / `self_rating:adjustment.<code>` "
            "for each 加减分 item given points (扣分项目明细: points as given, the standard "
            "says bonus or deduction)"
        },
    )


def _root(ctx: Ctx, campaign: Campaign) -> Organization:
    """The caller's part of the campaign: a township sees itself, the county all its townships."""
    if "within" in ctx.query:
        return scoped(ctx, Organization, ctx.query["within"], "within")[0]
    committee = get_organization(ctx.session, campaign.organization_id)
    if ctx.caller.sees(committee):
        return committee
    for grant in ctx.caller.grants:
        if grant.path.startswith(committee.path):
            return get_organization(ctx.session, grant.organization_id)
    raise NotFound(f"campaign {campaign.id} was not found")


def _file(
    fmt: str,
    kind: str,
    campaign: Campaign,
    root: Organization,
    header: list[str],
    rows: Any,
    provisional: bool = False,
) -> Response:
    """A report file named and titled in Chinese, e.g. 兴隆县委2026年基层党组织分类定级汇总表.xlsx
    (RFC 6266: an ASCII fallback `filename`, the real name in `filename*`)."""
    title = formats.report_title(kind, campaign, root)
    if fmt == "csv":
        response = Response(
            stream_with_context(formats.csv_stream(header, rows)), mimetype="text/csv"
        )
    else:
        body = formats.report_xlsx(kind, campaign, root, header, rows, provisional=provisional)
        response = Response(body, mimetype=XLSX)
    return attachment(response, f"{kind}.{fmt}", f"{title}.{fmt}")


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
    fmt = chosen_format("csv", "xlsx")
    if fmt == "json":
        return report
    header, rows = formats.summary_table(report)
    return _file(fmt, "summary", campaign, root, header, rows, report["provisional"])


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
    fmt = chosen_format("csv", "xlsx")
    if fmt == "json":
        return {
            "campaign": campaign.name,
            "unit": root.name,
            "items": list(queries.detail_rows(ctx.session, campaign, root, provisional)),
        }
    columns = queries.detail_columns(ctx.session, campaign)
    keys = [k for k, _ in columns]

    def stream() -> Any:
        """CSV: rows in batches from a session of their own, as the response outlives the
        request's. An xlsx is built before the request ends, through the request's session
        (a second session would wait on SQLite for the request's write lock — the token's
        last use — and fail)."""
        own = fmt == "csv"
        session = current_app.extensions["grading.sessions"]() if own else ctx.session
        try:
            for row in queries.detail_rows(session, campaign, root, provisional):
                yield [row.get(k) for k in keys]
        finally:
            if own:
                session.close()

    return _file(fmt, "detail", campaign, root, [h for _, h in columns], stream(), provisional)


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
    ("paired_with", "结对先进党组织"),
    ("pairing_activities", "结对帮扶活动"),
    ("deadline", "整改时限"),
    ("progress", "整改进度(已销号/总数)"),
]


def _listing(
    ctx: Ctx,
    campaign: Campaign,
    root: Organization,
    items: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    kind: str,
) -> Any:
    fmt = chosen_format("csv", "xlsx")
    if fmt == "json":
        return {"campaign": campaign.name, "unit": root.name, "items": items}
    rows = [[item.get(k) for k, _ in columns] for item in items]
    provisional = bool(ctx.query.get("provisional"))
    return _file(fmt, kind, campaign, root, [h for _, h in columns], rows, provisional)


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
    return _listing(ctx, campaign, root, items, POOR_COLUMNS, "poor-list")


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
    return _listing(ctx, campaign, root, items, STATUS_COLUMNS, "poor-status")


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
    fmt = chosen_format("csv", "xlsx")
    if fmt == "json":
        return report
    header, rows = formats.progress_table(report)
    return _file(fmt, "progress", campaign, root, header, rows)


class MovementOut(Schema):
    campaign = fields.String(required=True)
    previous_campaign = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "the committee's latest campaign of an earlier year (each item names "
            "the campaign its previous level comes from: 上次定级的活动)"
        },
    )
    unit = fields.String(required=True)
    items = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per organization: previous_campaign and previous_level (its last "
            "final level of an earlier year, whichever committee graded it — 原有基础), level, "
            "movement (up, same, down, new, incomparable — the schemes differ) and "
            "movement_label (进步, 保持, 退步…)"
        },
    )
    by_unit = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "per township: how many moved which way, none_went_down"},
    )


MOVEMENT_COLUMNS = [
    ("unit", "单位"),
    ("name", "党组织名称"),
    ("previous_campaign", "上次定级"),
    ("previous_level", "上次等次"),
    ("level", "本次等次"),
    ("movement_label", "变化"),
]


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/reports/movement",
    summary="进步情况表: each organization's level last time and now, and per township how "
    "many rose, stayed or fell",
    tag=TAG,
    query=ReportQuery,
    responses={200: MovementOut},
    errors=(404,),
    spec_extra=SPEC,
    description="Compared with the same committee's latest campaign of an earlier year (final "
    "levels there; here final ones unless `provisional=true`). Levels of two different level "
    "schemes are not compared (incomparable). The seeds' 在原有基础上都有新的进步: a township "
    "where none_went_down.",
)
def movement_report(ctx: Ctx, campaign_id: int) -> Any:
    return _one_table(ctx, campaign_id, "movement")


def one_table(
    session: Any, kind: str, campaign: Campaign, root: Organization, provisional: bool
) -> tuple[dict[str, Any], list[str], list[list[Any]]]:
    """A report of ONE_TABLE: all of it (JSON), and its table's header and rows (files; the
    command line's report too)."""
    build, table, columns = ONE_TABLE[kind]
    report = build(session, campaign, root, provisional)
    rows = [[row.get(k) for k, _ in columns] for row in table(report)]
    return report, [h for _, h in columns], rows


def _one_table(ctx: Ctx, campaign_id: int, kind: str) -> Any:
    """A report as JSON (all of it) or as a file of its table."""
    campaign, _ = scoped(ctx, Campaign, campaign_id)
    root = _root(ctx, campaign)
    provisional = bool(ctx.query.get("provisional"))
    report, header, rows = one_table(ctx.session, kind, campaign, root, provisional)
    fmt = chosen_format("csv", "xlsx")
    if fmt == "json":
        return report
    return _file(fmt, kind, campaign, root, header, rows, provisional)


class ProblemsOut(Schema):
    campaign = fields.String(required=True)
    unit = fields.String(required=True)
    categories = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per category: survey_problems found, rectification_items, closed"
        },
    )
    tasks = fields.List(fields.Dict(), required=True)
    terms = fields.List(fields.Dict(), required=True)


PROBLEM_COLUMNS = [
    ("category", "问题类别"),
    ("survey_problems", "调查摸底发现问题(个)"),
    ("rectification_items", "整改项目(个)"),
    ("closed", "已销号(个)"),
]


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/reports/problems",
    summary="问题分类统计: survey findings and rectification items by category, task and term",
    tag=TAG,
    query=ReportQuery,
    responses={200: ProblemsOut},
    errors=(404,),
    spec_extra=SPEC,
    description="Counted as the seeds count them (作风建设类、党建工作类…, or the campaign's "
    "decision_config.problem_categories); rectification items also by task (抓书记、强班子…) "
    "and term (近期 / 中长期). What nobody classified is counted as 未分类. CSV and xlsx give "
    "the table by category.",
)
def problems_report(ctx: Ctx, campaign_id: int) -> Any:
    return _one_table(ctx, campaign_id, "problems")


class RankingOut(Schema):
    campaign = fields.String(required=True)
    unit = fields.String(required=True)
    areas = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per 协作区: items in order of composite score, each with its rank "
            "(equal scores share one), unit, composite and level"
        },
    )


RANKING_COLUMNS = [
    ("area", "协作区"),
    ("rank", "名次"),
    ("name", "党组织名称"),
    ("unit", "单位"),
    ("composite", "综合得分"),
    ("level", "等次"),
]


@operation(
    api,
    "GET",
    "/campaigns/<int:campaign_id>/reports/ranking",
    summary="协作区排名: each coordination area's organizations in order of their composite score",
    tag=TAG,
    query=ReportQuery,
    responses={200: RankingOut},
    errors=(404,),
    spec_extra=SPEC,
    description="As the seeds' 机关党工委 scores the organizations of each 协作区 as a unit: "
    "ranked by the decision's composite score (final levels unless `provisional=true`); those "
    "with no 协作区 come last as （未划协作区）.",
)
def ranking_report(ctx: Ctx, campaign_id: int) -> Any:
    return _one_table(ctx, campaign_id, "ranking")


# The reports answered as JSON or as a file of one table: how each is built, which of its
# tables the file holds, and that table's columns.
ONE_TABLE: dict[str, tuple[Any, Any, list[tuple[str, str]]]] = {
    "movement": (movement.movement, lambda report: report["items"], MOVEMENT_COLUMNS),
    "problems": (
        lambda session, campaign, root, _: problems.classified(session, campaign, root),
        lambda report: report["categories"],
        PROBLEM_COLUMNS,
    ),
    "ranking": (ranking.by_area, ranking.rows, RANKING_COLUMNS),
}
