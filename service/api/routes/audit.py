from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, request, stream_with_context
from sqlalchemy import Select

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.pagination import paginate
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.audit import (
    AuditEventOut,
    AuditEventPage,
    AuditEventQuery,
    CheckpointList,
    ConsistencyOut,
    ConsistencyQuery,
    CosignatureIn,
    CosignerOut,
    EvidenceOut,
    InclusionOut,
    InclusionQuery,
    PublicKeyOut,
    SignedCheckpointOut,
    TreeHeadList,
    VerifyOut,
    WitnessDecisionIn,
    WitnessIn,
    WitnessList,
    WitnessOut,
)
from service.api.scope import read_grading_story, within_path
from service.audit import checkpoints, log, notes, signing, witnesses
from service.audit.models import (
    AuditEvent,
    LogCheckpoint,
    Witness,
)
from service.audit.operations import jsonable, record
from service.errors import Forbidden, NotFound
from service.lifecycle import operations as gradings
from service.organizations.models import Organization
from service.reports.formats import inert
from service.verification import inspection, trail

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
        for event, leaf_index in trail.with_leaves(session, query):
            row = _row(event)
            if fmt == "ndjson":
                # the event's place in the Merkle log (null until integrated): what the offline
                # verifier (tools/verify_audit.py) rebuilds the tree from
                yield json.dumps({**row, "leaf_index": leaf_index}, ensure_ascii=False) + "\n"
                continue
            writer.writerow(
                [
                    inert(
                        json.dumps(row[c], ensure_ascii=False)
                        if c in ("before", "after")
                        else ("" if row[c] is None else row[c])
                    )
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
    visible = ctx.caller.visible_filter(Organization.path)
    query = trail.events(visible, ctx.query, within_path(ctx, ctx.query))
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
    return trail.chain_keys(ctx.session, ctx.caller.visible_filter(Organization.path))


@operation(
    api,
    "GET",
    "/audit/verify",
    summary="Recompute the hash chains of your subtree and the Merkle log, held to every "
    "checkpoint signed: intact, or the first damage",
    tag=TAG,
    responses={200: VerifyOut},
    errors=(403,),
)
def verify_trail(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere([Role.INSPECTOR], "verifying the audit trail")
    key = current_app.extensions["grading.signing_key"]
    report = inspection.check(
        ctx.session,
        key,
        ctx.settings.audit_log_origin,
        chain_keys=_scoped_chain_keys(ctx),
        witness_keys=_trusted(ctx),
    )
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
        "witnessed": report.witnessed,
        "anchored": report.anchored,
    }


def _trusted(ctx: Ctx) -> witnesses.Keys:
    """The witness keys cosignatures are held to: the operator's pins, or the registry."""
    if ctx.settings.audit_witnesses:
        return witnesses.pinned(ctx.settings.audit_witnesses)
    return witnesses.registered(ctx.session)


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
        "verifier_key": notes.verifier_key(ctx.settings.audit_log_origin, key),
    }


@operation(
    api,
    "POST",
    "/audit/checkpoints",
    summary="Sign the Merkle log's tree head (and every chain's head); save the answer to prove "
    "history later",
    tag=TAG,
    responses={201: SignedCheckpointOut},
    errors=(403,),
    description="Integrates the events committed so far into the Merkle log first. `note` is "
    "the C2SP tlog-checkpoint signed note (constant size); `payload` the chains' heads.",
)
def create_checkpoint(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere(READERS, "signing a checkpoint")
    key = current_app.extensions["grading.signing_key"]
    exported = checkpoints.sign_all(ctx.session, ctx.actor, key, ctx.settings.audit_log_origin)
    return Reply(exported, 201)


@operation(
    api,
    "GET",
    "/audit/checkpoints/latest",
    summary="The latest signed tree head, as a signed note with its witnesses' cosignatures "
    "(text/plain; no token: anyone may keep and compare it)",
    tag=TAG,
    auth=False,
    responses={200: None},
    errors=(404,),
    spec_extra={"x-streamed-formats": ["text/plain"]},
)
def latest_tree_head(ctx: Ctx) -> Any:
    found = log.latest_checkpoint(ctx.session)
    if found is None:
        raise NotFound("no checkpoint has been signed yet")
    return Response(_cosigned_note(ctx, found), mimetype="text/plain")


def _cosigned_note(ctx: Ctx, checkpoint: LogCheckpoint) -> str:
    """The note as the log signed it, with each witness's line after the log's."""
    lines = witnesses.cosignatures_of(ctx.session, [checkpoint.id]).get(checkpoint.id, [])
    return checkpoint.note + "".join(c.line for c in lines)


@operation(
    api,
    "GET",
    "/audit/checkpoints/history",
    summary="Signed tree heads, newest first, with the witnesses that cosigned each",
    tag=TAG,
    auth=False,
    responses={200: TreeHeadList},
)
def tree_head_history(ctx: Ctx) -> Any:
    rows = log.checkpoints_newest(ctx.session)
    cosigned = witnesses.cosignatures_of(ctx.session, [r.id for r in rows])
    vouched = witnesses.vouching(ctx.session, _trusted(ctx)).checkpoints
    return {
        "items": [
            {
                "id": r.id,
                "tree_size": r.tree_size,
                "root_hash": r.root_hash,
                "created_at": r.created_at,
                "note": r.note,
                "cosigners": [
                    {
                        "witness": c.witness,
                        "public_key": c.public_key,
                        "created_at": c.created_at,
                        "verified": c.witness in vouched.get(r.id, ()),
                    }
                    for c in cosigned.get(r.id, [])
                ],
            }
            for r in rows
        ]
    }


@operation(
    api,
    "POST",
    "/audit/checkpoints/<int:tree_size>/cosignatures",
    summary="A witness cosigns a tree head it has checked (C2SP tlog-cosignature/v1)",
    tag=TAG,
    body=CosignatureIn,
    responses={201: CosignerOut},
    errors=(403, 404, 409, 422),
    description="The witness (an inspector's account, e.g. the discipline inspection "
    "commission's) has verified the log's signature and a consistency proof from the last "
    "tree head it accepted. Only a registered, approved witness (POST /audit/witnesses) is "
    "taken, and only a line that verifies under its registered key: a name cannot be taken by "
    "anyone else's key (422).",
)
def cosign_tree_head(ctx: Ctx, tree_size: int) -> Any:
    ctx.caller.require_role_anywhere([Role.INSPECTOR], "cosigning a checkpoint")
    row = witnesses.cosign(
        ctx.session,
        ctx.actor,
        tree_size,
        ctx.body["witness"],
        ctx.body["line"],
        ctx.body.get("verifier_key"),
        organization_id=_home(ctx),
    )
    return Reply(
        {"witness": row.witness, "public_key": row.public_key, "created_at": row.created_at}, 201
    )


@operation(
    api,
    "GET",
    "/audit/events/<int:event_id>/proof",
    summary="Proof that one event is in the Merkle log (RFC 6962 inclusion proof)",
    tag=TAG,
    query=InclusionQuery,
    responses={200: InclusionOut},
    errors=(403, 404, 422),
    description="Check it against a signed checkpoint of the same tree size: the leaf is "
    "SHA-256(0x00 ‖ the event's hash), the path leads from it to the root.",
)
def event_proof(ctx: Ctx, event_id: int) -> Any:
    ctx.caller.require_role_anywhere(READERS, "proving an audit event")
    event, owner = trail.event_and_owner(ctx.session, event_id)
    theirs = event is not None and (
        event.organization_id is None or (owner is not None and ctx.caller.sees(owner))
    )
    if event is None or not theirs:
        raise NotFound(f"audit event {event_id} was not found")
    proof = log.inclusion(ctx.session, event_id, ctx.query.get("tree_size"))
    return {
        "event_id": proof.event_id,
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "leaf_hash": proof.leaf_hash.hex(),
        "path": [p.hex() for p in proof.path],
        "root_hash": proof.root.hex(),
    }


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/evidence",
    summary="A grading's history with the proof of each event against the latest signed "
    "checkpoint: what a complainant or an inspector keeps",
    tag=TAG,
    responses={200: EvidenceOut},
    errors=(404,),
    description="Every event of the grading (decisions, records and their corrections, "
    "approvals, complaints) with its RFC 6962 inclusion proof against the checkpoint included "
    "here. Saved as a file, it is checked without the service: `python tools/verify_audit.py "
    "--evidence FILE --key VERIFIER_KEY` (the key from a source you trust, not from the file). "
    "Events newer than the checkpoint are listed in `pending`.",
)
def grading_evidence(ctx: Ctx, grading_id: int) -> Any:
    grading = read_grading_story(ctx, grading_id, "evidence")
    events = gradings.history_events(ctx.session, grading)
    checkpoint, proofs = log.proofs_at_latest(ctx.session, [e.id for e in events])
    names = list(AuditEventOut().fields)
    items = [
        {**{name: getattr(event, name) for name in names}, "inclusion": proofs[event.id]}
        for event in events
    ]
    pending = [event.id for event in events if proofs[event.id] is None]
    key = current_app.extensions["grading.signing_key"].public_key()
    return {
        "grading_id": grading.id,
        "checkpoint": _cosigned_note(ctx, checkpoint) if checkpoint else None,
        "verifier_key": notes.verifier_key(ctx.settings.audit_log_origin, key),
        "events": items,
        "pending": pending,
        "how_to_check": "python tools/verify_audit.py --evidence THIS_FILE --key VERIFIER_KEY",
    }


@operation(
    api,
    "GET",
    "/audit/consistency",
    summary="Proof that the log of `to` events extends the log of `from` (RFC 6962)",
    tag=TAG,
    query=ConsistencyQuery,
    responses={200: ConsistencyOut},
    errors=(403, 422),
)
def consistency_proof(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere(READERS, "proving the log's consistency")
    first, second = ctx.query["first"], ctx.query["second"]
    path, first_root, second_root = log.consistency(ctx.session, first, second)
    return {
        "first": first,
        "second": second,
        "first_root": first_root.hex(),
        "second_root": second_root.hex(),
        "path": [p.hex() for p in path],
    }


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
    return {"items": [checkpoints.export(c, pem) for c in checkpoints.newest(ctx.session)]}


def root_admin(ctx: Ctx, what: str) -> int:
    """The caller's admin grant at the root of the tree (an organization with no parent): its
    organization, where the witness's events are chained; 403 otherwise."""
    for grant in ctx.caller.grants:
        if grant.role == Role.ADMIN and grant.path.count("/") == 2:
            return grant.organization_id
    raise Forbidden(f"{what} needs an admin at the root of the organization tree")


@operation(
    api,
    "POST",
    "/audit/witnesses",
    summary="Ask for a witness to be registered: its name and verifier key (an admin at the root)",
    tag=TAG,
    body=WitnessIn,
    responses={201: WitnessOut},
    errors=(403, 409, 422),
    description="Pending until a second admin at the root approves it; only then are its "
    "cosignatures taken (and only if they verify under this key). One live registration per "
    "name (409).",
)
def request_witness(ctx: Ctx) -> Any:
    root = root_admin(ctx, "registering a witness")
    made = witnesses.request(
        ctx.session, ctx.actor, ctx.body["name"], ctx.body["verifier_key"], root
    )
    return Reply(made, 201, {"Location": f"/api/v1/audit/witnesses/{made.id}"})


@operation(
    api,
    "GET",
    "/audit/witnesses",
    summary="The witnesses registered or asked for, with their keys",
    tag=TAG,
    responses={200: WitnessList},
    errors=(403,),
    description="Admins and inspectors. An approved witness's cosignatures are taken and "
    "checked by `audit verify`; an operator may pin the same keys in AUDIT_WITNESSES.",
)
def list_witnesses(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere(READERS, "reading the witnesses")
    return {"items": witnesses.listed(ctx.session)}


def _witness(ctx: Ctx, witness_id: int) -> Witness:
    return witnesses.get(ctx.session, witness_id)


@operation(
    api,
    "POST",
    "/audit/witnesses/<int:witness_id>/approve",
    summary="Approve a witness's registration (a second admin at the root)",
    tag=TAG,
    body=WitnessDecisionIn,
    responses={200: WitnessOut},
    errors=(403, 404, 409),
    description="Never the admin who asked (403 four-eyes); a decided registration is final (409).",
    fires=("witness", "approve"),
)
def approve_witness(ctx: Ctx, witness_id: int) -> Any:
    root = root_admin(ctx, "approving a witness")
    return witnesses.decide(ctx.session, ctx.actor, _witness(ctx, witness_id), True, root)


@operation(
    api,
    "POST",
    "/audit/witnesses/<int:witness_id>/reject",
    summary="Reject a witness's registration, saying why (a second admin at the root)",
    tag=TAG,
    body=WitnessDecisionIn,
    responses={200: WitnessOut},
    errors=(403, 404, 409, 422),
    description="`reason` is required (422). Never the admin who asked (403 four-eyes).",
    fires=("witness", "reject"),
)
def reject_witness(ctx: Ctx, witness_id: int) -> Any:
    root = root_admin(ctx, "rejecting a witness")
    witness = _witness(ctx, witness_id)
    return witnesses.decide(ctx.session, ctx.actor, witness, False, root, ctx.body.get("reason"))
