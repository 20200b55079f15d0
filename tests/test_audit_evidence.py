"""A grading's evidence: its events with their inclusion proofs against the latest signed
checkpoint, checked offline by tools/verify_audit.py --evidence with the log's key."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from service.app import create_app
from service.config import Settings
from service.db import make_engine
from tests.tampering import ROOT, token_for


@pytest.fixture
def service(copy: str) -> Iterator[tuple[FlaskClient, str]]:
    app = create_app(Settings.from_env(database_url=copy))
    yield app.test_client(), copy
    app.extensions["grading.engine"].dispose()


def decided_grading(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT min(id) FROM gradings WHERE level IS NOT NULL")
        ).scalar_one()
    engine.dispose()
    return int(found)


def evidence_of(client: FlaskClient, url: str, grading: int, who: str) -> Any:
    headers = {"Authorization": f"Bearer {token_for(url, who)}"}
    return client.get(f"/api/v1/gradings/{grading}/evidence", headers=headers)


def check_offline(path: Path, key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools/verify_audit.py"),
            "--evidence",
            str(path),
            "--key",
            key,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_grading_evidence_proves_each_event_offline(
    service: tuple[FlaskClient, str], tmp_path: Path
) -> None:
    client, url = service
    grading = decided_grading(url)
    reply = evidence_of(client, url, grading, "admin")
    assert reply.status_code == 200, reply.get_json()
    evidence = reply.get_json()
    actions = [e["action"] for e in evidence["events"]]
    assert "grading.enroll" in actions and "grading.transition" in actions
    assert evidence["pending"] == [] and all(e["inclusion"] for e in evidence["events"])
    saved = tmp_path / "evidence.json"
    saved.write_text(reply.get_data(as_text=True), encoding="utf-8")
    done = check_offline(saved, evidence["verifier_key"])
    assert done.returncode == 0, done.stdout
    assert f"intact: {len(actions)} events of grading {grading} are in the signed" in done.stdout


def test_an_event_newer_than_the_checkpoint_is_pending(
    service: tuple[FlaskClient, str], tmp_path: Path
) -> None:
    client, url = service
    grading = decided_grading(url)
    first = evidence_of(client, url, grading, "county.inspector")  # an inspector's read is audited
    assert first.status_code == 200
    again = evidence_of(client, url, grading, "county.inspector").get_json()
    reads = [e for e in again["events"] if e["inclusion"] is None]  # this read and the one before
    assert [e["action"] for e in reads] == ["audit.read", "audit.read"]
    assert again["pending"] == [e["id"] for e in reads]
    saved = tmp_path / "evidence.json"
    saved.write_text(json.dumps(again), encoding="utf-8")
    done = check_offline(saved, again["verifier_key"])
    assert done.returncode == 0 and f"2 newer than it (pending): {again['pending']}" in done.stdout


@pytest.mark.parametrize("damage", ["reason", "path", "key"])
def test_a_changed_evidence_file_fails_offline(
    service: tuple[FlaskClient, str], tmp_path: Path, damage: str
) -> None:
    client, url = service
    evidence = evidence_of(client, url, decided_grading(url), "admin").get_json()
    key = evidence["verifier_key"]
    target = evidence["events"][1]
    if damage == "reason":
        target["reason"] = "it was always 好"
        said = f"event {target['id']}: its content does not match its hash"
    elif damage == "path":
        target["inclusion"]["path"][0] = "00" * 32
        said = f"event {target['id']} is not proven in the checkpoint"
    else:
        other = create_app(Settings.from_env(database_url=url, secret_key="another-" * 8))
        key = other.test_client().get("/api/v1/audit/public-key").get_json()["verifier_key"]
        other.extensions["grading.engine"].dispose()
        said = "the checkpoint is not signed by the given key"
    saved = tmp_path / "evidence.json"
    saved.write_text(json.dumps(evidence, ensure_ascii=False), encoding="utf-8")
    done = check_offline(saved, key)
    assert done.returncode == 1 and f"FAILED: {said}" in done.stdout, done.stdout


def test_evidence_of_an_unknown_grading_is_not_found(service: tuple[FlaskClient, str]) -> None:
    client, url = service
    reply = evidence_of(client, url, 99999, "admin")
    assert reply.status_code == 404
    assert reply.get_json()["type"].endswith("/not-found")
