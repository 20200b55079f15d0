"""Hostile JSON and parameters answer 4xx naming what is wrong, never 500 — on endpoints that
need no login as much as on the others (issue 18, first part)."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.api.routing import REGISTRY
from service.organizations.models import Organization
from service.publicity.models import Complaint
from tests.conftest import Api, assert_problem

COMPLAINTS = "/api/v1/public/complaints"


def send(api: Api, path: str, raw: str, who: str | None = None) -> object:
    return api.post(path, data=raw.encode(), who=who, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("depth", [40, 1000, 30_000])
def test_deeply_nested_json_is_a_400(api: Api, depth: int) -> None:
    for who in (None, "admin"):
        refused = send(api, COMPLAINTS, "[" * depth + "]" * depth, who)
        body = assert_problem(refused, 400, "malformed-request")
        assert "nests deeper than 32 levels" in body["detail"]


def test_a_number_with_thousands_of_digits_is_a_422(api: Api) -> None:
    refused = send(api, COMPLAINTS, '{"grading_id": ' + "9" * 5000 + ', "text": "x"}')
    body = assert_problem(refused, 422, "validation-error")
    assert "5000 digits" in body["detail"]
    decimal = send(api, COMPLAINTS, '{"grading_id": 1, "text": "x", "contact": 1.' + "5" * 80 + "}")
    assert_problem(decimal, 422, "validation-error")


def test_a_lone_surrogate_is_a_422_naming_the_field(api: Api) -> None:
    refused = send(api, COMPLAINTS, '{"grading_id": 1, "text": "\\ud800 不公平"}')
    body = assert_problem(refused, 422, "validation-error")
    assert body["errors"] == {"text": ["not valid Unicode text"]}
    nested = send(
        api,
        "/api/v1/organizations",
        '{"code": "X1", "name": "\\udfff", "kind": "branch", "parent_id": 1}',
        "admin",
    )
    assert assert_problem(nested, 422, "validation-error")["errors"] == {
        "name": ["not valid Unicode text"]
    }


@pytest.mark.parametrize(
    "query",
    ["since=0001-01-01T00:00:00%2B01:00", "until=9999-12-31T23:59:59-01:00"],
    ids=["before-year-1", "after-year-9999"],
)
def test_a_moment_at_the_edge_of_the_calendar_is_a_422(api: Api, query: str) -> None:
    refused = api.get(f"/api/v1/audit/events?{query}", who="inspector")
    body = assert_problem(refused, 422, "validation-error")
    assert "between 1900 and 9998" in str(body["errors"])


HOSTILE = [
    "[" * 5000 + "]" * 5000,
    '{"a": ' * 200 + "1" + "}" * 200,
    '{"name": ' + "1" * 4400 + "}",
    '{"name": 1e999999999, "reason": -1E-999999999}',
    '{"name": "\\ud800", "reason": "\\udc00x"}',
    '{"name": "\\u0001\\u001f\\u007f\\u2028", "text": "\\t\\r\\n"}',
    '{"name": [], "reason": {}, "text": null, "grading_id": true}',
    '"just a string"',
    "[1, 2, 3]",
]


def test_hostile_json_to_every_json_endpoint_never_answers_5xx(api: Api) -> None:
    answered: dict[int, int] = {}
    for op in REGISTRY:
        if op.method not in ("POST", "PUT", "PATCH") or op.body is None:
            continue
        path = "/api/v1" + re.sub(r"<int:\w+>", "1", re.sub(r"<(?:string:)?\w+>", "main", op.rule))
        for raw in HOSTILE:
            for who in (None, "admin"):
                reply = api.client.open(
                    path,
                    method=op.method,
                    data=raw.encode(),
                    headers={
                        "Content-Type": "application/json",
                        **({"Authorization": f"Bearer {api.world.tokens[who]}"} if who else {}),
                    },
                )
                answered[reply.status_code] = answered.get(reply.status_code, 0) + 1
                assert reply.status_code < 500, (op.method, op.rule, raw[:40], reply.get_data())
    assert sum(answered.values()) > 500, answered
    assert 404 not in answered or answered[404] < answered.get(400, 0), answered  # bodies read


def chunked(api: Api, path: str, body: bytes, content_type: str, who: str | None) -> Any:
    """A body sent with Transfer-Encoding: chunked (no Content-Length), as gunicorn passes it."""
    headers = {"Content-Type": content_type, "Transfer-Encoding": "chunked"}
    if who:
        headers["Authorization"] = f"Bearer {api.world.tokens[who]}"
    return api.client.post(
        path,
        input_stream=io.BytesIO(body),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_past_the_limit_is_413_not_cut(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"].id
    padded = json.dumps({"grading_id": grading, "text": "太长"}).encode() + b" " * 70_000
    refused = chunked(api, COMPLAINTS, padded, "application/json", None)
    assert_problem(refused, 413, "payload-too-large")
    assert db.scalar(select(func.count()).select_from(Complaint)) == 0
    small = chunked(api, COMPLAINTS, padded[:200], "application/json", None)
    assert small.status_code != 413  # under the limit the chunked body is read whole


def test_a_chunked_import_past_its_limit_creates_nothing(api: Api, db: Session, app: Flask) -> None:
    settings = app.extensions["grading.settings"]
    app.extensions["grading.settings"] = dataclasses.replace(settings, max_import_bytes=20_000)
    rows = "".join(f"A1-Z{n:04d},第{n}支部,branch,A1,village\n" for n in range(2000))
    body = ("code,name,kind,parent_code,domain\n" + rows).encode()
    before = db.scalar(select(func.count()).select_from(Organization))
    try:
        refused = chunked(api, "/api/v1/organizations/import", body, "text/csv", "admin")
    finally:
        app.extensions["grading.settings"] = settings
    assert_problem(refused, 413, "payload-too-large")
    assert db.scalar(select(func.count()).select_from(Organization)) == before
