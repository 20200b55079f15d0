"""Attaching evidence files to a grading's records, listing and reading them.

What a file is comes from its first bytes, not from the name or type the uploader sent: PDF,
PNG, JPEG, and office documents (docx/xlsx/pptx/odt/ods as ZIP, doc/xls as OLE, with the
matching extension). Size is capped (EVIDENCE_MAX_BYTES); an optional scan command
(EVIDENCE_SCAN_COMMAND, e.g. `clamdscan --no-summary -`) reads the file on stdin and must exit
0. The audit event of an upload carries the file's SHA-256: the trail proves which bytes a
score or a decision rested on, and a file changed on disk no longer reads back."""

from __future__ import annotations

import re
import shlex
import subprocess
import unicodedata
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.operations import record
from service.context import Actor
from service.errors import EvidenceDamaged, EvidenceRejected, NotFound, StageNotOpen
from service.evidence.models import EvidenceFile
from service.evidence.store import Store
from service.gradings.models import Grading

# what a file may be attached to, the stages in which it may, and who attaches it
TARGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "self_rating": (("self_rating",), ("secretary",), "自评表"),
    "assessment": (("superior_review",), ("reviewer",), "上级评定"),
    "rectification_item": (("rectification", "re_review"), ("secretary", "reviewer"), "整改事项"),
    "complaint": (("publicity",), ("reviewer",), "公示期意见的处理"),
}
ZIP_OFFICE = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
OLE_OFFICE = {".doc": "application/msword", ".xls": "application/vnd.ms-excel"}
TARGET_RE = re.compile(
    r"^(self_rating|assessment)$|^(rectification_item):(I\d{1,4})$|^(complaint):(\d{1,9})$"
)


def target_of(attached_to: str) -> str:
    found = TARGET_RE.match(attached_to)
    if found is None:
        raise EvidenceRejected(
            "attached_to is self_rating, assessment, rectification_item:I<n> or complaint:<id>",
            detail_zh="佐证材料须附在自评表、上级评定、整改事项或公示期意见的处理上",
            errors={"attached_to": [f"not a record: {attached_to[:60]!r}"]},
        )
    return next(g for g in (found.group(1), found.group(2), found.group(4)) if g)


def media_type(data: bytes, file_name: str) -> str:
    """What the bytes are, checked against the name's extension; EvidenceRejected otherwise."""
    extension = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if data.startswith(b"%PDF-") and extension == ".pdf":
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n") and extension == ".png":
        return "image/png"
    if data.startswith(b"\xff\xd8\xff") and extension in (".jpg", ".jpeg"):
        return "image/jpeg"
    if data.startswith(b"PK\x03\x04") and extension in ZIP_OFFICE:
        return ZIP_OFFICE[extension]
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") and extension in OLE_OFFICE:
        return OLE_OFFICE[extension]
    raise EvidenceRejected(
        "the file is not a PDF, PNG or JPEG image, or office document its name says it is",
        detail_zh="只能上传 PDF、PNG/JPEG 图片或 Word、Excel 等办公文档，且文件内容须与扩展名相符",
        errors={"file": [f"not an accepted file: {file_name[:100]!r}"]},
    )


def clean_name(raw: str) -> str:
    """The file's name as shown and offered on download: no path, no control characters."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:200] or "file"


def scan(command: str | None, data: bytes) -> None:
    """The optional virus scan: the command reads the file on stdin and exits 0 when clean."""
    if not command:
        return
    try:
        done = subprocess.run(shlex.split(command), input=data, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as failed:
        raise EvidenceRejected(
            "the file could not be scanned: try again later",
            detail_zh="文件未能完成病毒扫描，请稍后再试",
            errors={"file": ["scan failed"]},
        ) from failed
    if done.returncode != 0:
        raise EvidenceRejected(
            "the scan refused the file",
            detail_zh="文件未通过病毒扫描",
            errors={"file": ["refused by the scan"]},
        )


def attach(
    session: Session,
    actor: Actor,
    store: Store,
    grading: Grading,
    *,
    attached_to: str,
    file_name: str,
    data: bytes,
    description: str | None,
    scan_command: str | None,
) -> EvidenceFile:
    """Keep the file and record it (an audit event with its SHA-256) on the grading."""
    kind = target_of(attached_to)
    stages, _, label = TARGETS[kind]
    if grading.state not in stages:
        raise StageNotOpen(
            f"evidence for the {kind.replace('_', ' ')} is attached while the grading is in "
            f"{', '.join(stages)} (it is in {grading.state})",
            detail_zh=f"{label}的佐证材料只能在相应环节上传",
            state=grading.state,
        )
    if not data:
        raise EvidenceRejected(
            "the file is empty", detail_zh="文件是空的", errors={"file": ["empty"]}
        )
    name = clean_name(file_name)
    kind_of_file = media_type(data, name)
    scan(scan_command, data)
    digest = store.put(data)
    attached = EvidenceFile(
        grading_id=grading.id,
        attached_to=attached_to,
        file_name=name,
        media_type=kind_of_file,
        size=len(data),
        sha256=digest,
        description=description,
        uploaded_by=actor.username,
    )
    session.add(attached)
    session.flush()
    record(
        session,
        actor,
        "evidence.attach",
        "evidence_file",
        attached.id,
        organization_id=grading.organization_id,
        after={
            "grading_id": grading.id,
            "attached_to": attached_to,
            "file_name": name,
            "media_type": kind_of_file,
            "size": len(data),
            "sha256": digest,
            "description": description,
        },
    )
    return attached


def files_of(session: Session, grading: Grading) -> Sequence[EvidenceFile]:
    return session.scalars(
        select(EvidenceFile).where(EvidenceFile.grading_id == grading.id).order_by(EvidenceFile.id)
    ).all()


def read(
    session: Session, store: Store, grading: Grading, file_id: int
) -> tuple[EvidenceFile, bytes]:
    """A file of the grading and its bytes — refused when the bytes on disk are not the ones
    recorded (EvidenceDamaged)."""
    found = session.get(EvidenceFile, file_id)
    if found is None or found.grading_id != grading.id:
        raise NotFound(f"evidence file {file_id} was not found")
    data = store.get(found.sha256)
    if data is None:
        raise EvidenceDamaged(
            f"evidence file {file_id} is missing from the store or no longer matches its "
            "recorded SHA-256",
            detail_zh="该佐证材料在存储中缺失，或内容与登记时的哈希值不符（可能已被改动）",
            sha256=found.sha256,
        )
    return found, data
