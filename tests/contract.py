"""Every API answer of the suite is checked against openapi.yaml.

The first answer of each (operation, status) goes through openapi-core whole — status, media
type, headers, body. Every answer after it is checked by the same rules, faster: its status and
media type must be declared and a JSON body must match the declared schema, by a validator
compiled once per (operation, status, media type) with jsonschema-rs (formats checked too).
openapi-core builds its validators anew for every answer — about a fifth of the suite's time
when it checked them all."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema_rs

from tests.openapi_file import openapi_document

JSON_TYPES = ("application/json", "application/problem+json")


@cache
def paths() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    """openapi.yaml's paths as patterns, the ones with more fixed segments first."""
    spec = openapi_document()
    found = []
    for template, operations in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
        found.append((pattern, -template.count("{"), template, operations))
    found.sort(key=lambda item: item[1], reverse=True)
    return [(pattern, template, operations) for pattern, _, template, operations in found]


def operation_of(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The path template and operation openapi.yaml has for this request, if any."""
    for pattern, template, operations in paths():
        if pattern.match(path):
            found = operations.get(method.lower())
            return (template, found) if found is not None else None
    return None


@cache
def _components() -> dict[str, Any]:
    return openapi_document()["components"]


@cache
def _validator(template: str, method: str, status: str, media: str) -> Any:
    operation = next(ops for _, t, ops in paths() if t == template)[method]
    responses = operation["responses"]
    schema = (responses.get(status) or responses["default"])["content"][media]["schema"]
    # The schema's $refs point into #/components: the components ride along in its document.
    return jsonschema_rs.Draft202012Validator(
        {**schema, "components": _components()}, validate_formats=True
    )


class Checked:
    """Which (method, template, status) openapi-core has checked whole already."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, int]] = set()

    def first(self, method: str, template: str, status: int) -> bool:
        key = (method, template, status)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def check_again(method: str, template: str, operation: dict[str, Any], response: Any) -> None:
    """An answer of an (operation, status) openapi-core has checked once: declared status and
    media type, and a JSON body that fits the schema."""
    status = str(response.status_code)
    responses = operation["responses"]
    declared = responses.get(status) or responses.get("default")
    assert declared is not None, f"{method} {template} answered {status}, which is not declared"
    content = declared.get("content")
    body = response.get_data()
    if not content:
        assert not body, f"{method} {template} {status} sends a body none is declared for"
        return
    media = response.mimetype
    assert media in content, (
        f"{method} {template} {status} sends {media}, declared: {list(content)}"
    )
    if media in JSON_TYPES:
        errors = list(
            _validator(
                template, method.lower(), status if status in responses else "default", media
            ).iter_errors(json.loads(body))
        )
        assert not errors, f"{method} {template} {status}: " + "; ".join(
            f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in errors[:5]
        )
