"""The contract as a portal developer uses it: a client generated from openapi.yaml with
openapi-python-client builds without a warning for any JSON operation, and a short portal flow
runs through it (over WSGI, against the app under test)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from flask import Flask

from tests.conftest import ROOT, Api

PACKAGE = "grading_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, str]]:
    """The client package generated into a temporary directory, and what the generator said."""
    where = tmp_path_factory.mktemp("client")
    tools = Path(sys.executable).parent
    ran = subprocess.run(
        [
            str(tools / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE), ran.stdout + ran.stderr
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.mark.database_independent
def test_the_client_builds_without_warnings_for_json_operations(
    generated: tuple[ModuleType, str],
) -> None:
    _, said = generated
    warned = [line for line in said.splitlines() if line.startswith("WARNING parsing")]
    # the operations that take or give files (CSV, xlsx; evidence files) rather than JSON
    assert set(warned) <= {
        "WARNING parsing POST /api/v1/organizations/import within organizations.",
        "WARNING parsing GET /api/v1/gradings/{grading_id}/evidence-files/{file_id} within "
        "evidence.",
    }
    assert "Unsupported content type application/json" not in said


def _call(package: str, function: str, **kwargs: Any) -> Any:
    module = importlib.import_module(f"{PACKAGE}.api.{package}.{function}")
    return module.sync_detailed(**kwargs)


def test_a_portal_flow_through_the_generated_client(
    generated: tuple[ModuleType, str], app: Flask, api: Api
) -> None:
    client_module, _ = generated
    transport = httpx.WSGITransport(app=app)
    reviewer = client_module.AuthenticatedClient(
        base_url="http://portal.test",
        token=api.world.tokens["reviewer"],
        httpx_args={"transport": transport},
        raise_on_unexpected_status=True,
    )
    me = _call("access", "get_me", client=reviewer)
    assert me.status_code == 200 and me.parsed.username == "reviewer"

    campaign = api.world.campaigns["open"].id
    listed = _call("campaigns", "list_gradings", campaign_id=campaign, client=reviewer, total=True)
    assert listed.status_code == 200 and listed.parsed.total == len(listed.parsed.items)
    branch = next(g for g in listed.parsed.items if g.organization_code == "A1-01")
    assert branch.organization_name == "东村党支部"

    models = importlib.import_module(f"{PACKAGE}.models")
    entry = models.SurveyEntryIn.from_dict({"method": "meeting", "date": "2026-03-01"})
    written = _call(
        "evaluation", "add_survey_entry", grading_id=branch.id, client=reviewer, body=entry
    )
    assert written.status_code == 201, written.content

    read = _call("gradings", "get_grading", grading_id=branch.id, client=reviewer)
    assert read.status_code == 200
    fired = _call(
        "gradings",
        "fire_transition",
        grading_id=branch.id,
        client=reviewer,
        body=models.TransitionRequest(transition="open_self_rating"),
        if_match=read.headers["ETag"],
        idempotency_key="portal-flow-0001",
    )
    assert fired.status_code == 200, fired.content
    assert fired.parsed.state == "self_rating" and fired.parsed.version == read.parsed.version + 1
    stale = _call(
        "gradings",
        "fire_transition",
        grading_id=branch.id,
        client=reviewer,
        body=models.TransitionRequest(transition="return_to_survey", reason="补充材料"),
        if_match=read.headers["ETag"],
    )
    assert stale.status_code == 412 and stale.parsed.type_ == "/problems/precondition-failed"
    history = _call("gradings", "get_grading_history", grading_id=branch.id, client=reviewer)
    assert [i.action for i in history.parsed.items][-1] == "grading.transition"
