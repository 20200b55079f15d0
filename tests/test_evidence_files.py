"""Evidence files (佐证材料, issue 37): attached to a record of the grading's current stage by
the role that writes it, checked by their bytes, size-capped, optionally scanned, kept outside
the database under their SHA-256 (which the audit event records), read back within scope only —
and never served once the bytes on disk are not the ones recorded."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from service.evidence.models import EvidenceFile
from service.evidence.store import Store
from tests.conftest import Api, assert_problem
from tests.grading_helpers import put_in_state

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(
    api: Api,
    grading_id: int,
    who: str | None,
    content: bytes = PDF,
    name: str = "三会一课记录.pdf",
    attached_to: str = "self_rating",
    **extra: Any,
) -> Any:
    return api.post(
        f"/api/v1/gradings/{grading_id}/evidence-files",
        data={"file": (io.BytesIO(content), name), "attached_to": attached_to, **extra},
        content_type="multipart/form-data",
        who=who,
    )


def test_the_secretary_attaches_a_pdf_to_the_self_rating_and_the_trail_keeps_its_hash(
    api: Api, db: Session, app: Flask
) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    answer = upload(api, grading.id, "secretary", description="支部台账扫描件")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert (body["sha256"], body["media_type"], body["size"]) == (
        digest,
        "application/pdf",
        len(PDF),
    )
    assert body["file_name"] == "三会一课记录.pdf" and body["uploaded_by"] == "secretary"
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "evidence.attach", AuditEvent.entity_id == str(body["id"])
        )
    ).one()
    assert event.after["sha256"] == digest and event.after["attached_to"] == "self_rating"
    kept = Path(app.extensions["grading.settings"].evidence_dir) / digest[:2] / digest
    assert kept.read_bytes() == PDF  # outside the database
    listed = api.get(f"/api/v1/gradings/{grading.id}/evidence-files", who="inspector")
    assert [f["sha256"] for f in listed.get_json()["items"]] == [digest]
    got = api.get(f"/api/v1/gradings/{grading.id}/evidence-files/{body['id']}", who="inspector")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith('attachment; filename="evidence-')
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_that_is_not_what_its_name_says_is_rejected(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    for content, name in (
        (b"<script>alert(1)</script>", "notes.pdf"),
        (PNG, "photo.pdf"),
        (PDF, "report.exe"),
        (b"MZ\x90\x00", "setup.docx"),
    ):
        refused = assert_problem(
            upload(api, grading.id, "secretary", content, name), 422, "evidence-rejected"
        )
        assert "file" in refused["errors"], name
    assert upload(api, grading.id, "secretary", PNG, "阵地照片.PNG").status_code == 201


def test_an_empty_or_too_large_file_is_rejected(api: Api, db: Session, app: Flask) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    assert_problem(upload(api, grading.id, "secretary", b""), 422, "evidence-rejected")
    settings = app.extensions["grading.settings"]
    app.extensions["grading.settings"] = dataclasses.replace(settings, evidence_max_bytes=1000)
    try:
        over = upload(api, grading.id, "secretary", PDF + b"0" * 1000)
        problem = assert_problem(over, 422, "evidence-rejected")
        assert "at most 1000 bytes" in str(problem["errors"]["file"])
        # far over: refused while the body is read, before any of it is kept
        far = upload(api, grading.id, "secretary", PDF + b"0" * 100_000)
        assert_problem(far, 413, "payload-too-large")
    finally:
        app.extensions["grading.settings"] = settings
    assert db.scalars(select(EvidenceFile)).all() == []


def test_a_file_larger_than_the_apis_body_limit_but_within_the_evidence_limit_is_accepted(
    api: Api, db: Session, app: Flask
) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    body_limit = app.extensions["grading.settings"].max_body_bytes
    scan = PDF + b"0" * (2 * body_limit)
    answer = api.post(
        f"/api/v1/gradings/{grading.id}/evidence-files",
        data={"file": (io.BytesIO(scan), "扫描件.pdf"), "attached_to": "self_rating"},
        content_type="multipart/form-data",
        who="secretary",
        headers={"Idempotency-Key": "evidence-upload-0001"},
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["size"] == len(scan)


def test_only_the_records_writer_attaches_and_only_in_its_stage(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    assert_problem(upload(api, grading.id, "reviewer"), 403, "forbidden")
    assert_problem(
        upload(api, grading.id, "reviewer", attached_to="assessment"), 409, "stage-not-open"
    )
    assert_problem(
        upload(api, grading.id, "secretary", attached_to="minutes"), 422, "evidence-rejected"
    )
    other = api.world.gradings["b:B-01"]
    assert_problem(upload(api, other.id, "secretary"), 404, "not-found")
    put_in_state(db, grading, "superior_review")
    assert_problem(upload(api, grading.id, "secretary"), 409, "stage-not-open")
    assert upload(api, grading.id, "reviewer", attached_to="assessment").status_code == 201


def test_files_are_read_within_scope_only(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    made = upload(api, grading.id, "secretary").get_json()
    path = f"/api/v1/gradings/{grading.id}/evidence-files"
    assert_problem(api.get(path, who="reviewer_b"), 404, "not-found")
    assert_problem(api.get(f"{path}/{made['id']}", who="reviewer_b"), 404, "not-found")
    other = api.world.gradings["A1-02"].id
    assert_problem(
        api.get(f"/api/v1/gradings/{other}/evidence-files/{made['id']}", who="inspector"),
        404,
        "not-found",
    )


def test_a_file_changed_on_disk_is_never_served(api: Api, db: Session, app: Flask) -> None:
    """An insider with the server's disk swaps the scan for another: the bytes no longer hash
    to what the audit trail recorded, and the API refuses them rather than serve them."""
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    made = upload(api, grading.id, "secretary").get_json()
    store = Store(app.extensions["grading.settings"].evidence_dir)
    store.path(made["sha256"]).write_bytes(PDF.replace(b"1.4", b"1.7"))
    refused = assert_problem(
        api.get(f"/api/v1/gradings/{grading.id}/evidence-files/{made['id']}", who="inspector"),
        409,
        "evidence-damaged",
    )
    assert refused["sha256"] == made["sha256"]
    store.path(made["sha256"]).unlink()
    assert_problem(
        api.get(f"/api/v1/gradings/{grading.id}/evidence-files/{made['id']}", who="inspector"),
        409,
        "evidence-damaged",
    )


def test_the_scan_command_refuses_a_file_and_nothing_is_recorded(
    api: Api, db: Session, app: Flask
) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    settings = app.extensions["grading.settings"]
    # a scanner that finds "EICAR" in what it reads on stdin
    finds = f"{sys.executable} -c \"import sys; sys.exit(b'EICAR' in sys.stdin.buffer.read())\""
    app.extensions["grading.settings"] = dataclasses.replace(settings, evidence_scan_command=finds)
    try:
        infected = PDF + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
        refused = assert_problem(
            upload(api, grading.id, "secretary", infected), 422, "evidence-rejected"
        )
        assert refused["errors"]["file"] == ["refused by the scan"]
        assert upload(api, grading.id, "secretary").status_code == 201  # a clean one passes
    finally:
        app.extensions["grading.settings"] = settings
    assert len(db.scalars(select(EvidenceFile)).all()) == 1


def test_a_file_name_with_a_path_or_control_characters_is_kept_as_its_last_part(
    api: Api, db: Session
) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    made = upload(api, grading.id, "secretary", name="..\\..\\etc/阵地\x07照片.pdf").get_json()
    assert made["file_name"] == "阵地照片.pdf"
