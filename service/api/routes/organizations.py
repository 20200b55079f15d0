from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, fields

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.conditional import check_if_match, etag
from service.api.files import XLSX
from service.api.pagination import paginate
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.organizations import (
    DomainList,
    ImportQuery,
    ImportReportOut,
    MoveList,
    OrganizationCreate,
    OrganizationListQuery,
    OrganizationOut,
    OrganizationPage,
    OrganizationPatch,
)
from service.api.scope import scoped, within_path
from service.errors import UnsupportedMediaType
from service.organizations import importer
from service.organizations import operations as ops
from service.organizations.models import Organization
from service.reports import movement

TAG = "organizations"
IMPORT_TYPES = ("text/csv", XLSX, "application/octet-stream", "multipart/form-data")


@operation(
    api, "GET", "/domains", summary="The closed list of 领域", tag=TAG, responses={200: DomainList}
)
def list_domains(ctx: Ctx) -> Any:
    return {
        "items": [{"code": c, "label": label} for c, label in ops.domain_codes(ctx.session).items()]
    }


@operation(
    api,
    "GET",
    "/organizations",
    summary="Organizations you can see",
    tag=TAG,
    query=OrganizationListQuery,
    responses={200: OrganizationPage},
    errors=(404, 422),
)
def list_organizations(ctx: Ctx) -> Any:
    visible = ctx.caller.visible_filter(Organization.path)
    query = ops.listed(visible, ctx.query, within_path(ctx, ctx.query))
    return paginate(ctx, query, Organization.id, ops.SORTS)


@operation(
    api,
    "POST",
    "/organizations",
    summary="Create an organization under a parent",
    tag=TAG,
    body=OrganizationCreate,
    responses={201: OrganizationOut},
    errors=(403, 404, 409, 422),
)
def create_organization(ctx: Ctx) -> Any:
    parent = scoped(ctx, Organization, ctx.body["parent_id"], "parent_id")[0]
    ctx.caller.require(parent, [Role.ADMIN], "creating an organization")
    org = ops.create_organization(ctx.session, ctx.actor, parent, ctx.body)
    return Reply(org, 201, {"Location": f"/api/v1/organizations/{org.id}", **etag(org.version)})


@operation(
    api,
    "GET",
    "/organizations/<int:org_id>",
    summary="One organization",
    tag=TAG,
    responses={200: OrganizationOut},
    errors=(404,),
)
def get_organization(ctx: Ctx, org_id: int) -> Any:
    org = scoped(ctx, Organization, org_id)[0]
    return Reply(org, 200, etag(org.version))


@operation(
    api,
    "PATCH",
    "/organizations/<int:org_id>",
    summary="Change, move (parent_id), merge or dissolve an organization",
    tag=TAG,
    body=OrganizationPatch,
    responses={200: OrganizationOut},
    errors=(403, 404, 409, 412, 422),
    description="Send If-Match with the ETag you read to refuse a lost update (412).",
)
def patch_organization(ctx: Ctx, org_id: int) -> Any:
    org = scoped(ctx, Organization, org_id)[0]
    ctx.caller.require(org, [Role.ADMIN], "changing an organization")
    check_if_match(org.version)
    changes = dict(ctx.body)
    reason = changes.pop("reason", None)
    new_parent = None
    if "parent_id" in changes:
        new_parent = scoped(ctx, Organization, changes.pop("parent_id"), "parent_id")[0]
        ctx.caller.require(new_parent, [Role.ADMIN], "moving an organization there")
    ops.update_organization(
        ctx.session, ctx.actor, org, changes, new_parent=new_parent, reason=reason
    )
    return Reply(org, 200, etag(org.version))


@operation(
    api,
    "GET",
    "/organizations/<int:org_id>/moves",
    summary="The organization's moves in the tree, oldest first",
    tag=TAG,
    responses={200: MoveList},
    errors=(404,),
)
def list_moves(ctx: Ctx, org_id: int) -> Any:
    org = scoped(ctx, Organization, org_id)[0]
    return {"items": ops.moves_of(ctx.session, org)}


class LevelsOverYears(Schema):
    items = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per campaign, oldest first: year, level and level_label where one "
            "stands (provisional under publicity), movement from the one before"
        },
    )


@operation(
    api,
    "GET",
    "/organizations/<int:org_id>/levels",
    summary="The organization's levels over the years, campaign by campaign, and each move",
    tag=TAG,
    responses={200: LevelsOverYears},
    errors=(404,),
    description="Oldest first: the level where one stands (provisional while under publicity), "
    "and the move from the one before — up, same, down, new, or incomparable when the level "
    "schemes differ. The organization's standing record across years (工作档案).",
)
def levels_over_years(ctx: Ctx, org_id: int) -> Any:
    org = scoped(ctx, Organization, org_id)[0]
    return {"items": movement.levels_over_years(ctx.session, org)}


@operation(
    api,
    "GET",
    "/organizations/<int:org_id>/dossier",
    summary="The organization's standing record (工作档案) across campaigns",
    tag=TAG,
    responses={200: LevelsOverYears},
    errors=(404,),
    description="Oldest first, per campaign: the level and its move, the survey's problems with "
    "their categories, the rectification items and how far each came, the 组织生活会's "
    "lessons and the 一组织一策 — what the last campaigns left for the next working group.",
)
def dossier(ctx: Ctx, org_id: int) -> Any:
    org = scoped(ctx, Organization, org_id)[0]
    return {"items": movement.dossier(ctx.session, org)}


@operation(
    api,
    "POST",
    "/organizations/import",
    summary="Import a tree from xlsx or CSV (all or nothing)",
    tag=TAG,
    query=ImportQuery,
    responses={200: ImportReportOut},
    errors=(400, 403, 413, 415, 422),
    raw=True,
    description=(
        "Body: the file itself (text/csv, xlsx, or application/octet-stream) or "
        "multipart/form-data "
        "with a `file` part. Columns (English or Chinese headers): code/编码, name/名称, "
        "kind/类型, parent_code/上级编码, domain/领域, coordination_area/协作区, secretary/书记, "
        "member_count/党员数, founded_on/成立日期. CSV may be UTF-8 (with or without BOM) or "
        "GB18030. Every bad row is reported with its row number and column and nothing is "
        "written; importing the same file again changes nothing."
    ),
    spec_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
def import_organizations(ctx: Ctx) -> Any:
    caller = ctx.caller
    caller.require_role_anywhere([Role.ADMIN], "importing organizations")
    request.max_content_length = ctx.settings.max_import_bytes
    if request.mimetype not in IMPORT_TYPES:
        raise UnsupportedMediaType(
            "send the file as text/csv, xlsx or multipart/form-data "
            f"(got {request.mimetype or 'none'})"
        )
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise importer.ImportRejected(
                "the multipart body has no 'file' part",
                errors=[{"row": None, "column": None, "message": "missing part 'file'"}],
            )
        data = upload.read()
    else:
        data = request.get_data()
    if not data:
        raise importer.ImportRejected(
            "the file is empty", errors=[{"row": 1, "column": None, "message": "empty file"}]
        )

    def authorize(org: Organization) -> None:
        caller.require(org, [Role.ADMIN], "importing under this organization")

    report = importer.import_tree(
        ctx.session,
        ctx.actor,
        data,
        authorize_parent=authorize,
        max_rows=ctx.settings.max_import_rows,
        dry_run=bool(ctx.query.get("dry_run")),
    )
    return report
