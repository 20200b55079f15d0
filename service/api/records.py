"""One pattern for a grading's stage records over HTTP (the self-rating, the assessment, the
proposed level, veto flags, helpers, the special report, survey entries, paper tallies): load
the grading in the caller's scope, check the writer's role, write a new version through the
domain, and answer with the record — or 202 with the approval it waits for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.duties import require_duty, with_duty
from service.api.routing import Ctx, Reply, operation, written_or_pending
from service.api.schemas.common import VersionQuery
from service.api.schemas.gradings import ApprovalOut
from service.api.scope import scoped
from service.campaigns.procedure import Duty
from service.errors import NotFound
from service.gradings import records
from service.gradings.models import Approval, Grading, RecordVersion

Write = Callable[[Ctx, Grading], RecordVersion | Approval]
Render = Callable[[Ctx, Grading], Any]


def write_record(
    ctx: Ctx,
    grading_id: int,
    role: Role,
    doing: str,
    write: Callable[[Grading], RecordVersion | Approval],
    render: Callable[[Grading, RecordVersion], Any],
    status: int = 200,
    duty: Duty | None = None,
) -> Reply:
    """Write a stage record of a grading in scope, as `role` (doing the superior's `duty`,
    when it is one): the record (rendered), or 202."""
    grading, org = scoped(ctx, Grading, grading_id)
    if duty is None:
        ctx.caller.require(org, [role], doing)
    else:
        require_duty(ctx, org, grading.campaign_id, duty, [role], doing)
    return written_or_pending(write(grading), lambda version: render(grading, version), status)


def current_or_404(ctx: Ctx, grading: Grading, record_type: str) -> RecordVersion:
    """The record's current version — or, with `?version=N`, that version as it was written."""
    wanted = ctx.query.get("version")
    found = (
        records.current(ctx.session, grading.id, record_type, "main")
        if wanted is None
        else records.version(ctx.session, grading.id, record_type, "main", wanted)
    )
    if found is None:
        which = f"a version {wanted} of its" if wanted else "a"
        raise NotFound(f"grading {grading.id} has no {which} {record_type.replace('_', ' ')}")
    return found


def versions_of(ctx: Ctx, grading: Grading, record_type: str) -> list[dict[str, Any]]:
    """Every version of a grading's record: who wrote it, when and why (the list a client
    picks `?version=N` from)."""
    return [
        {
            "version": v.version,
            "created_by": v.created_by,
            "created_at": v.created_at,
            "reason": v.reason,
        }
        for v in records.versions(ctx.session, grading.id, record_type, "main")
    ]


def stage_record(
    path: str,
    *,
    tag: str,
    out: type[Schema],
    body: type[Schema],
    role: Role,
    doing: str,
    write: Write,
    render: Render,
    put: tuple[str, str],
    get: tuple[str, str] | None = None,
    description: str | None = None,
    may_wait: bool = True,
    status: int = 200,
    duty: Duty | None = None,
) -> None:
    """Register `PUT /gradings/<id>/<path>` (and `GET`, when `get` names it): `put` and `get`
    are (operation id, summary); `may_wait`: a correction may answer 202 (an approval); `duty`:
    the superior's duty the write is (service.api.duties)."""
    rule = f"/gradings/<int:grading_id>/{path}"
    if get is not None:

        def read(ctx: Ctx, grading_id: int) -> Any:
            grading, _ = scoped(ctx, Grading, grading_id)
            return render(ctx, grading)

        read.__name__ = get[0]
        operation(
            api,
            "GET",
            rule,
            summary=get[1],
            tag=tag,
            query=VersionQuery,
            responses={200: out},
            errors=(404, 422),
            description=f"The current version, or ?version=N as it was written. {description}"
            if description
            else None,
        )(read)

    def replace(ctx: Ctx, grading_id: int) -> Any:
        return write_record(
            ctx,
            grading_id,
            role,
            doing,
            lambda grading: write(ctx, grading),
            lambda grading, _: render(ctx, grading),
            status,
            duty,
        )

    replace.__name__ = put[0]
    operation(
        api,
        "PUT",
        rule,
        summary=put[1],
        tag=tag,
        body=body,
        responses={status: out, **({202: ApprovalOut} if may_wait else {})},
        errors=(403, 404, 409, 422),
        description=with_duty(description, duty),
    )(replace)
