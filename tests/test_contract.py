"""openapi.yaml is the contract: current, valid OpenAPI 3.1, and the API keeps to it.

(Every response of every other test is validated against it too: see ContractClient.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.api.spec import render_yaml
from tests import contract
from tests.conftest import Api
from tests.openapi_file import openapi_document
from tests.world import World

ROOT = Path(__file__).resolve().parents[1]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 12


@pytest.mark.database_independent
def test_the_committed_spec_is_what_the_code_generates() -> None:
    committed = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert committed == render_yaml(), "openapi.yaml is stale: run `make openapi` and commit it"


@pytest.mark.database_independent
def test_the_spec_is_valid_openapi_3_1() -> None:
    spec = openapi_document()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_operation_documents_its_errors_as_problem_json() -> None:
    spec = openapi_document()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert "application/problem+json" in response["content"], (method, path, status)
            if op["security"]:
                assert "401" in op["responses"], (method, path)


def test_generated_requests_find_no_5xx_and_no_contract_violation(app: Flask, world: World) -> None:
    """A bounded schemathesis run over every operation, as the county admin.

    (Driven through Hypothesis directly: schemathesis' pytest plugin does not run on pytest 9.)
    """
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", app)
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.append(response.status_code)

        exercise()
    assert len(statuses) >= len(operations) * 3
    assert any(200 <= s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)


def _json_exchanges(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for status, answer in op["responses"].items():
                media = answer.get("content", {}).get("application/json")
                if status.startswith("2") and media is not None:
                    yield f"{method.upper()} {path} {status}", op["operationId"], media


def test_every_json_operation_shows_a_real_example_that_fits_its_schema() -> None:
    spec = openapi_document()
    without = []
    answered = {op_id for _, op_id, media in _json_exchanges(spec) if "example" in media}
    for where, op_id, media in _json_exchanges(spec):
        if "example" not in media:
            if op_id not in answered:
                without.append(where)
            continue
        schema = {**media["schema"], "components": spec["components"]}
        jsonschema.Draft202012Validator(schema).validate(media["example"])
    assert without == []


def test_every_operation_says_what_it_does() -> None:
    spec = openapi_document()
    silent = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, op in operations.items()
        if len(op.get("description", "")) < 20
    ]
    assert silent == []


@pytest.mark.database_independent
def test_every_operation_is_summarized_in_chinese_first_in_the_docs() -> None:
    from service.api.summaries_zh import SUMMARIES_ZH

    spec = openapi_document()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    missing = [op["operationId"] for op in operations if op["operationId"] not in SUMMARIES_ZH]
    assert missing == []
    for op in operations:
        chinese, _, english = op["summary"].partition(" — ")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese) and english, op["operationId"]
    assert set(SUMMARIES_ZH) == {op["operationId"] for op in operations}  # none left over


class _Answer:
    """What the suite's client hands the contract check: a status, a media type, a body."""

    def __init__(self, status: int, mimetype: str, body: Any) -> None:
        self.status_code, self.mimetype = status, mimetype
        self._body = json.dumps(body).encode() if body is not None else b""

    def get_data(self) -> bytes:
        return self._body


def test_an_answer_checked_again_must_still_fit_its_schema(api: Api) -> None:
    """After openapi-core has checked an (operation, status) whole once, the suite checks each
    later answer with a compiled validator: a wrong body, an undeclared status or media type is
    still a failure."""
    template, operation = contract.operation_of("GET", "/api/v1/me") or ("", {})
    good = api.get("/api/v1/me", who="reviewer")
    assert good.status_code == 200
    contract.check_again("GET", template, operation, good)
    wrong = {**good.get_json(), "username": 42}
    with pytest.raises(AssertionError, match="username"):
        contract.check_again("GET", template, operation, _Answer(200, "application/json", wrong))
    with pytest.raises(AssertionError, match="not declared"):
        contract.check_again("GET", template, operation, _Answer(418, "application/json", {}))
    with pytest.raises(AssertionError, match="text/html"):
        contract.check_again("GET", template, operation, _Answer(200, "text/html", None))
