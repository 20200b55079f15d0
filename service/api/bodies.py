"""Reading what a request sends: the JSON body (UTF-8, no NUL, bounded depth and number
length, storable text) and the query string, each loaded by its schema."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any

from flask import Request, request
from marshmallow import Schema

from service.api import loading
from service.errors import (
    MalformedRequest,
    UnsupportedMediaType,
    ValidationFailed,
)


def read_json_body() -> Any:
    raw = request.get_data(cache=True)
    if not raw:
        raise MalformedRequest("the request needs a JSON body")
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as application/json (got {mimetype or 'no Content-Type'})"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest(f"the body is not valid UTF-8 (byte {exc.start})") from exc
    if "\x00" in text or "\\u0000" in text:
        raise MalformedRequest("the body contains a NUL character, which no field accepts")
    try:
        data = json.loads(text, parse_float=_decimal, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise MalformedRequest(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise MalformedRequest(f"the body nests deeper than {MAX_DEPTH} levels") from exc
    _check_shape(data)
    return data


MAX_DEPTH = 32  # no field of this API nests deeper than a few levels
MAX_NUMBER_CHARS = 40  # digits of the longest number a field takes, and then some


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValidationFailed(
            f"a number in the body has {len(text)} digits; at most {MAX_NUMBER_CHARS}",
            errors={"_schema": ["number too long"]},
        )
    return int(text)


def _decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValidationFailed(
            f"a number in the body has {len(text)} characters; at most {MAX_NUMBER_CHARS}",
            errors={"_schema": ["number too long"]},
        )
    return Decimal(text)


def _check_shape(data: Any) -> None:
    """No nesting deeper than MAX_DEPTH; no text that cannot be stored (a lone surrogate such
    as "\ud800" decodes from JSON but is not UTF-8). Walked without recursion."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedRequest(f"the body nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            _storable(value, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                _storable(key, path)
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            stack.extend(
                (item, f"{path}.{n}" if path else str(n), depth + 1) for n, item in enumerate(value)
            )


def _storable(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        field = path or "_schema"
        raise ValidationFailed(
            f"{field} holds a lone surrogate (\\u{ord(text[exc.start]):04x}), which is no "
            "character",
            errors={field: ["not valid Unicode text"]},
        ) from exc


@cache
def schema_of(schema_cls: type[Schema]) -> Schema:
    """One instance per schema class and process: building a schema copies its fields (and
    its nested schemas' on first use), work a request should not repeat. Loading and dumping
    keep no state on the instance."""
    return schema_cls()


def load_body(schema_cls: type[Schema]) -> dict[str, Any]:
    # No body at all is an empty object: the schema then names every required field.
    data = read_json_body() if request.get_data(cache=True) else {}
    if not isinstance(data, dict):
        raise ValidationFailed(
            "the body must be a JSON object", errors={"_schema": ["expected an object"]}
        )
    return loading.load(schema_of(schema_cls), data)


def load_query(schema_cls: type[Schema] | None) -> dict[str, Any]:
    asked: Request = request._get_current_object()  # type: ignore[attr-defined]
    args = asked.args.to_dict(flat=True) if asked.query_string else {}
    for name, value in args.items():
        if "\x00" in value or "\x00" in name:
            raise ValidationFailed(
                "NUL characters are not accepted", errors={name: ["contains NUL"]}
            )
    if schema_cls is None:
        if args:
            raise ValidationFailed(
                "this endpoint takes no query parameters",
                errors={k: ["unknown parameter"] for k in args},
            )
        return {}
    return schema_of(schema_cls).load(args)
