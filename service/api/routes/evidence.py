"""Evidence files (佐证材料) on a grading's records: upload (multipart), list, download — within
the caller's scope, by the roles that write the record they support."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from marshmallow import Schema, fields

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.files import attachment
from service.api.routing import Ctx, Reply, operation
from service.api.scope import scoped
from service.errors import EvidenceRejected, UnsupportedMediaType
from service.evidence import operations as ops
from service.evidence.store import Store
from service.gradings.models import Grading

TAG = "evidence"
MULTIPART_OVERHEAD = 65_536  # the form's other parts and boundaries, beyond the file itself


class EvidenceFileOut(Schema):
    id = fields.Integer(required=True)
    grading_id = fields.Integer(required=True)
    attached_to = fields.String(
        required=True,
        metadata={
            "description": "self_rating, assessment, rectification_item:I<n>, complaint:<id>"
        },
    )
    file_name = fields.String(required=True)
    media_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True, metadata={"description": "of the bytes, hex"})
    description = fields.String(allow_none=True, required=True)
    uploaded_by = fields.String(required=True)
    uploaded_at = fields.DateTime(required=True)


class EvidenceFileList(Schema):
    items = fields.List(fields.Nested(EvidenceFileOut), required=True)


def _room_for_the_file() -> None:
    """Before anything of the request is read (an Idempotency-Key digests the body): the
    evidence size limit, not the API's body limit, applies to this upload."""
    request.max_content_length = (
        current_app.extensions["grading.settings"].evidence_max_bytes + MULTIPART_OVERHEAD
    )


def _store() -> Store:
    return Store(current_app.extensions["grading.settings"].evidence_dir)


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/evidence-files",
    summary="Attach an evidence file (佐证材料) to a record of the grading's current stage",
    tag=TAG,
    responses={201: EvidenceFileOut},
    errors=(403, 404, 409, 413, 415, 422),
    raw=True,
    first=_room_for_the_file,
    description=(
        "multipart/form-data with `file`, `attached_to` (self_rating — the secretary, while "
        "self-rating; assessment — the reviewer, in superior review; rectification_item:I<n> — "
        "during rectification and 回头看; complaint:<id> — the reviewer, during 公示) and an "
        "optional `description`. PDF, PNG, JPEG or an office document whose first bytes match "
        "its extension, at most EVIDENCE_MAX_BYTES; scanned by EVIDENCE_SCAN_COMMAND when set. "
        "Kept outside the database under its SHA-256, which the audit event records."
    ),
    spec_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "attached_to": {"type": "string"},
                            "description": {"type": "string", "maxLength": 1000},
                        },
                        "required": ["file", "attached_to"],
                    }
                }
            },
        }
    },
)
def attach_evidence(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            f"send the file as multipart/form-data (got {request.mimetype or 'none'})"
        )
    attached_to = request.form.get("attached_to") or ""
    kind = ops.target_of(attached_to)
    _, roles, label = ops.TARGETS[kind]
    ctx.caller.require(org, [Role(r) for r in roles], f"attaching evidence to the {label}")
    upload = request.files.get("file")
    if upload is None:
        raise EvidenceRejected(
            "the multipart body has no 'file' part", errors={"file": ["missing"]}
        )
    try:
        data = upload.read(ctx.settings.evidence_max_bytes + 1)
    finally:
        upload.close()
    if len(data) > ctx.settings.evidence_max_bytes:
        raise EvidenceRejected(
            f"the file is larger than {ctx.settings.evidence_max_bytes} bytes",
            detail_zh="文件太大",
            errors={"file": [f"at most {ctx.settings.evidence_max_bytes} bytes"]},
        )
    description = (request.form.get("description") or "").strip()[:1000] or None
    attached = ops.attach(
        ctx.session,
        ctx.actor,
        _store(),
        grading,
        attached_to=attached_to,
        file_name=upload.filename or "",
        data=data,
        description=description,
        scan_command=ctx.settings.evidence_scan_command,
    )
    return Reply(
        attached,
        201,
        {"Location": f"/api/v1/gradings/{grading.id}/evidence-files/{attached.id}"},
    )


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/evidence-files",
    summary="The grading's evidence files (佐证材料): what each is attached to, its SHA-256",
    tag=TAG,
    responses={200: EvidenceFileList},
    errors=(404,),
    description="Every file attached to the grading's records, oldest first, each with what it "
    "supports (`attached_to`), who uploaded it and when, its size and SHA-256 — the same hash "
    "its audit event (evidence.attach) records. Anyone who sees the grading may list them.",
)
def list_evidence(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return {"items": list(ops.files_of(ctx.session, grading))}


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/evidence-files/<int:file_id>",
    summary="Download an evidence file — only when its bytes still match the SHA-256 recorded",
    tag=TAG,
    responses={200: None},
    errors=(404, 409),
    description="The file's bytes as uploaded, as an attachment under its own name, with its "
    "SHA-256 in `Digest`. Read back from the store and hashed first: bytes missing or changed "
    "since the upload are a 409 evidence-damaged, never served.",
    spec_extra={
        "x-streamed-formats": [
            "application/pdf",
            "image/png",
            "image/jpeg",
            *ops.ZIP_OFFICE.values(),
            *ops.OLE_OFFICE.values(),
        ]
    },
)
def download_evidence(ctx: Ctx, grading_id: int, file_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    found, data = ops.read(ctx.session, _store(), grading, file_id)
    response = Response(
        data,
        mimetype=found.media_type,
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Digest": f"sha-256={found.sha256}",
        },
    )
    extension = found.file_name.rsplit(".", 1)[-1].lower() if "." in found.file_name else "bin"
    return attachment(response, f"evidence-{found.id}.{extension}", found.file_name)
