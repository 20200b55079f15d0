from __future__ import annotations

from typing import Any

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.pagination import Page, paginate
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.common import PageQuery
from service.api.schemas.standards import (
    LevelSchemeCreate,
    LevelSchemeList,
    LevelSchemeOut,
    StandardContent,
    StandardCreate,
    StandardListQuery,
    StandardOut,
    StandardPage,
)
from service.standards import operations as ops
from service.standards.models import LevelScheme, Standard

TAG = "standards"


def _out(ctx: Ctx, standard: Standard) -> dict[str, Any]:
    return {
        **ops.snapshot(standard),
        "id": standard.id,
        "supersedes_id": standard.supersedes_id,
        "created_at": standard.created_at,
        "created_by": standard.created_by,
        "frozen": ops.is_frozen(ctx.session, standard),
    }


@operation(
    api,
    "GET",
    "/standards",
    summary="Standard versions, by 领域",
    tag=TAG,
    query=StandardListQuery,
    responses={200: StandardPage},
    errors=(422,),
)
def list_standards(ctx: Ctx) -> Any:
    page = paginate(ctx, ops.listed(ctx.query), Standard.id)
    return Page([_out(ctx, s) for s in page.items], page.next_cursor)


@operation(
    api,
    "POST",
    "/standards",
    summary="Create a standard (the next version for its 领域)",
    tag=TAG,
    body=StandardCreate,
    responses={201: StandardOut},
    errors=(403, 422),
)
def create_standard(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere([Role.ADMIN], "creating a standard")
    standard = ops.create_standard(ctx.session, ctx.actor, ctx.body)
    return Reply(_out(ctx, standard), 201, {"Location": f"/api/v1/standards/{standard.id}"})


@operation(
    api,
    "GET",
    "/standards/<int:standard_id>",
    summary="One standard version",
    tag=TAG,
    responses={200: StandardOut},
    errors=(404,),
)
def get_standard(ctx: Ctx, standard_id: int) -> Any:
    return _out(ctx, ops.get_standard(ctx.session, standard_id))


@operation(
    api,
    "PATCH",
    "/standards/<int:standard_id>",
    summary="Change a standard version no campaign has used",
    tag=TAG,
    body=StandardContent,
    responses={200: StandardOut},
    errors=(403, 404, 409, 422),
    description="A version used by an opened campaign is frozen: 409 standard-frozen, "
    "publish a new version with POST /standards/{id}/versions.",
)
def patch_standard(ctx: Ctx, standard_id: int) -> Any:
    ctx.caller.require_role_anywhere([Role.ADMIN], "changing a standard")
    standard = ops.get_standard(ctx.session, standard_id)
    return _out(ctx, ops.update_standard(ctx.session, ctx.actor, standard, ctx.body))


@operation(
    api,
    "POST",
    "/standards/<int:standard_id>/versions",
    summary="Publish a new version, starting from this one",
    tag=TAG,
    body=StandardContent,
    responses={201: StandardOut},
    errors=(403, 404, 422),
)
def new_standard_version(ctx: Ctx, standard_id: int) -> Any:
    ctx.caller.require_role_anywhere([Role.ADMIN], "publishing a standard version")
    base = ops.get_standard(ctx.session, standard_id)
    standard = ops.publish_new_version(ctx.session, ctx.actor, base, ctx.body)
    return Reply(_out(ctx, standard), 201, {"Location": f"/api/v1/standards/{standard.id}"})


@operation(
    api,
    "GET",
    "/level-schemes",
    summary="Level schemes (built-in and custom)",
    tag=TAG,
    query=PageQuery,
    responses={200: LevelSchemeList},
    errors=(422,),
)
def list_level_schemes(ctx: Ctx) -> Any:
    return paginate(ctx, ops.schemes(), LevelScheme.id)


@operation(
    api,
    "POST",
    "/level-schemes",
    summary="Create a custom level scheme (immutable)",
    tag=TAG,
    body=LevelSchemeCreate,
    responses={201: LevelSchemeOut},
    errors=(403, 409, 422),
)
def create_level_scheme(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere([Role.ADMIN], "creating a level scheme")
    scheme = ops.create_scheme(ctx.session, ctx.actor, ctx.body)
    return Reply(scheme, 201, {"Location": f"/api/v1/level-schemes/{scheme.id}"})


@operation(
    api,
    "GET",
    "/level-schemes/<int:scheme_id>",
    summary="One level scheme",
    tag=TAG,
    responses={200: LevelSchemeOut},
    errors=(404,),
)
def get_level_scheme(ctx: Ctx, scheme_id: int) -> Any:
    return ops.get_scheme(ctx.session, scheme_id)
