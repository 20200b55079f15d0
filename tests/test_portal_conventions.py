"""What a portal developer expects of HTTP: a retried PUT answered once, If-Match required when
the service says so (428), If-None-Match answered 304, and CORS for configured origins only."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from service.app import create_app
from service.config import Settings
from tests.conftest import Api, assert_problem
from tests.grading_helpers import put_in_state
from tests.test_evaluation import sheet, url


def test_a_retried_put_with_the_same_idempotency_key_gets_the_first_answer(
    api: Api, db: Session
) -> None:
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    headers = {"Idempotency-Key": "portal-retry-7f3a"}
    first = api.put(url(api, "self-rating"), json=sheet(), who="secretary", headers=headers)
    assert first.status_code == 200, first.get_json()
    again = api.put(url(api, "self-rating"), json=sheet(), who="secretary", headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    versions = api.get(url(api, "self-rating"), who="inspector").get_json()["versions"]
    assert len(versions) == 1  # not a correction "without a reason" (422): the same write
    other = api.put(
        url(api, "self-rating"), json=sheet(explanation="改"), who="secretary", headers=headers
    )
    assert_problem(other, 422, "idempotency-key-reused")


@pytest.fixture
def strict(app: Flask) -> Iterator[None]:
    settings = app.extensions["grading.settings"]
    app.extensions["grading.settings"] = dataclasses.replace(settings, require_if_match=True)
    yield
    app.extensions["grading.settings"] = settings


def test_a_write_without_if_match_is_428_when_the_service_requires_it(
    api: Api, db: Session, strict: None
) -> None:
    grading = api.world.gradings["A1-01"]
    path = f"/api/v1/gradings/{grading.id}/transitions"
    body = {"transition": "open_self_rating"}
    refused = api.post(path, json=body, who="reviewer")
    assert_problem(refused, 428, "precondition-required")
    version = api.get(f"/api/v1/gradings/{grading.id}", who="reviewer").headers["ETag"]
    tried = api.post(path, json=body, who="reviewer", headers={"If-Match": version})
    assert tried.status_code != 428  # the guards speak now (no survey yet: 409)
    assert_problem(tried, 409, "transition-blocked")


def test_a_get_with_the_current_etag_is_304(api: Api) -> None:
    path = f"/api/v1/gradings/{api.world.gradings['A1-01'].id}"
    first = api.get(path, who="reviewer")
    tag = first.headers["ETag"]
    unchanged = api.get(path, who="reviewer", headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    stale = api.get(path, who="reviewer", headers={"If-None-Match": '"999"'})
    assert stale.status_code == 200 and stale.headers["ETag"] == tag


def test_cors_answers_configured_origins_only() -> None:
    empty = f"sqlite:///{tempfile.mkdtemp(prefix='grading-cors-')}/cors.db"
    app = create_app(
        Settings.from_env(database_url=empty, cors_origins=("https://dangjian.example.gov.cn",))
    )
    client = app.test_client()
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
    }
    allowed = client.options(
        "/api/v1/campaigns",
        headers={"Origin": "https://dangjian.example.gov.cn", **preflight},
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dangjian.example.gov.cn"
    assert "idempotency-key" in allowed.headers["Access-Control-Allow-Headers"].lower()
    foreign = client.options(
        "/api/v1/campaigns", headers={"Origin": "https://elsewhere.example", **preflight}
    )
    assert "Access-Control-Allow-Origin" not in foreign.headers
    off = create_app(Settings.from_env(database_url=empty)).test_client()
    none = off.options(
        "/api/v1/campaigns", headers={"Origin": "https://dangjian.example.gov.cn", **preflight}
    )
    assert "Access-Control-Allow-Origin" not in none.headers  # off unless configured
