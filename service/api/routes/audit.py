from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, request, stream_with_context
from sqlalchemy import Select, or_, select

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.routing import Ctx, Reply, operation, paginate
from service.api.schemas.audit import (
    AuditEventOut,
    AuditEventPage,
    AuditEventQuery,
    CheckpointList,
    CheckpointOut,
    PublicKeyOut,
    VerifyOut,
)
from service.api.scope import within
from service.audit import checkpoints, signing
from service.audit.models import AuditEvent, Checkpoint
from service.audit.operations import chain_key_for, jsonable, record
from service.audit.verify import verify
from service.organizations.models import Organization

TAG = "audit"
READERS = [Role.INSPECTOR, Role.ADMIN]
CSV_COLUMNS = [
    "id",
    "occurred_at",
    "actor_username",
    "actor_role",
    "actor_account_id",
    "token_id",
    "client_ip",
    "request_id",
    "action",
    "entity_type",
    "entity_id",
    "organization_id",
    "reason",
    "before",
    "after",
    "chain_key",
    "chain_seq",
    "prev_hash",
    "hash",
]


def _home(ctx: Ctx) -> int | None:
    """Where the reader's own reads are logged: their first inspector/admin grant."""
    for grant in ctx.caller.grants:
        if grant.role in READERS:
            return grant.organization_id
    return None


def _events_query(ctx: Ctx) -> Select[Any]:
    q = ctx.query
    query = (
        select(AuditEvent)
        .outerjoin(Organization, Organization.id == AuditEvent.organization_id)
        .where(
            or_(AuditEvent.organization_id.is_(None), ctx.caller.visible_filter(Organization.path))
        )
    )
    query = within(ctx, query, q)
    if "actor" in q:
        query = query.where(AuditEvent.actor_username == q["actor"])
    for name in ("action", "entity_type", "entity_id"):
        if name in q:
            query = query.where(getattr(AuditEvent, name) == q[name])
    if "since" in q:
        query = query.where(AuditEvent.occurred_at >= q["since"])
    if "until" in q:
        query = query.where(AuditEvent.occurred_at < q["until"])
    return query


def _row(event: AuditEvent) -> dict[str, Any]:
    data: dict[str, Any] = AuditEventOut().dump(event)
    return data


def _stream(query: Select[Any], fmt: str) -> Iterator[str]:
    """Rows are read in batches from a session of their own: memory stays flat."""
    session = current_app.extensions["grading.sessions"]()
    try:
        if fmt == "csv":
            yield "\ufeff"
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(CSV_COLUMNS)
        for event in session.scalars(
            query.order_by(AuditEvent.id).execution_options(yield_per=1000)
        ):
            row = _row(event)
            if fmt == "ndjson":
                yield json.dumps(row, ensure_ascii=False) + "\n"
                continue
            writer.writerow(
                [
                    json.dumps(row[c], ensure_ascii=False)
                    if c in ("before", "after")
                    else ("" if row[c] is None else row[c])
                    for c in CSV_COLUMNS
                ]
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    finally:
        session.close()


@operation(
    api,
    "GET",
    "/audit/events",
    summary="The audit trail of your subtree, filtered; JSON, CSV or NDJSON",
    tag=TAG,
    query=AuditEventQuery,
    responses={200: AuditEventPage},
    errors=(403, 404),
    description="For inspectors (and admins). `Accept: text/csv` (UTF-8 with BOM) or "
    "`application/x-ndjson` (or ?format=) streams every matching event in id order "
    "with constant memory; JSON pages with a cursor. Each read is itself audited.",
    spec_extra={"x-streamed-formats": ["text/csv", "application/x-ndjson"]},
)
def list_events(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere(READERS, "reading the audit trail")
    fmt = ctx.query.get("format")
    if fmt is None:
        accept = request.accept_mimetypes
        best = accept.best_match(["application/json", "text/csv", "application/x-ndjson"])
        fmt = {"text/csv": "csv", "application/x-ndjson": "ndjson"}.get(best or "", "json")
    query = _events_query(ctx)
    filters = {k: v for k, v in ctx.query.items() if k not in ("cursor", "limit")}
    record(
        ctx.session,
        ctx.actor,
        "audit.read",
        "audit_events",
        "query",
        organization_id=_home(ctx),
        after=jsonable({"filters": filters, "format": fmt}),
    )
    if fmt == "json":
        return paginate(ctx, query, AuditEvent.id)
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    response = Response(stream_with_context(_stream(query, fmt)), mimetype=mimetype)
    if fmt == "csv":
        response.headers["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
    return response


def _scoped_chain_keys(ctx: Ctx) -> list[str]:
    ids = ctx.session.scalars(
        select(Organization.id).where(ctx.caller.visible_filter(Organization.path))
    )
    return [chain_key_for(None), *[chain_key_for(i) for i in ids]]


@operation(
    api,
    "GET",
    "/audit/verify",
    summary="Recompute the hash chains of your subtree: intact, or the first damage",
    tag=TAG,
    responses={200: VerifyOut},
    errors=(403,),
)
def verify_trail(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere([Role.INSPECTOR], "verifying the audit trail")
    report = verify(ctx.session, _scoped_chain_keys(ctx))
    record(
        ctx.session,
        ctx.actor,
        "audit.verify",
        "audit_events",
        "verify",
        organization_id=_home(ctx),
        after={"intact": report.intact, "chains": report.chains, "events": report.events},
    )
    return {
        "intact": report.intact,
        "chains": report.chains,
        "events": report.events,
        "summary": report.summary(),
        "damage": [d.as_dict() for d in report.damage],
    }


@operation(
    api,
    "GET",
    "/audit/public-key",
    summary="The Ed25519 key that signs checkpoints",
    tag=TAG,
    auth=False,
    responses={200: PublicKeyOut},
)
def public_key(ctx: Ctx) -> Any:
    key = current_app.extensions["grading.signing_key"].public_key()
    return {
        "algorithm": "Ed25519",
        "key_id": signing.key_id(key),
        "public_key": signing.public_pem(key),
    }


@operation(
    api,
    "POST",
    "/audit/checkpoints",
    summary="Sign the current head of every chain; save the answer to prove history later",
    tag=TAG,
    responses={201: CheckpointOut},
    errors=(403,),
)
def create_checkpoint(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere(READERS, "signing a checkpoint")
    key = current_app.extensions["grading.signing_key"]
    checkpoint = checkpoints.create_checkpoint(ctx.session, ctx.actor, key)
    return Reply(checkpoints.export(checkpoint, signing.public_pem(key.public_key())), 201)


@operation(
    api,
    "GET",
    "/audit/checkpoints",
    summary="Signed checkpoints, newest first",
    tag=TAG,
    responses={200: CheckpointList},
    errors=(403,),
)
def list_checkpoints(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere(READERS, "reading checkpoints")
    pem = signing.public_pem(current_app.extensions["grading.signing_key"].public_key())
    rows = ctx.session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(100)).all()
    return {"items": [checkpoints.export(c, pem) for c in rows]}
