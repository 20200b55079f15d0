"""Bodies loaded fast when they are plainly valid.

A schema whose fields are all plain Strings (with at most a Length validator, no hooks, unknown
fields refused) is checked by a function compiled once: a body whose every key is a field and
every value a string of an allowed length loads to the same dict marshmallow's `load` gives.
Anything else — a missing or unknown key, a value of another type, a length out of bounds, a
schema of other fields — goes to marshmallow, which loads it or says exactly what is wrong.
`VERIFY` (set by the test suite, with dumping.VERIFY) loads every body both ways and compares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, fields, missing, validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from service.api.dumping import same_as_marshmallow

VERIFY = False

Check = Callable[[dict[str, Any]], dict[str, Any] | None]

_COMPILED: dict[int, tuple[Schema, Check | None]] = {}  # id(schema) -> (schema, its check)


def load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """`schema.load(data)`, fast for a plainly valid body."""
    found = _COMPILED.get(id(schema))
    if found is None:
        found = _COMPILED[id(schema)] = (schema, _compile(schema))
    check = found[1]
    result = check(data) if check is not None else None
    if result is None:
        return schema.load(data)
    if VERIFY:
        same_as_marshmallow(schema, "fast load", result, schema.load(data))
    return result


def _compile(schema: Schema) -> Check | None:
    hooks = (PRE_LOAD, POST_LOAD, VALIDATES, VALIDATES_SCHEMA)
    if any(schema._hooks[h] for h in hooks) or schema.unknown != RAISE or schema.many:
        return None
    plan: dict[str, tuple[str, int, int | None]] = {}  # body key -> (attribute, min, max)
    required = []
    for name, field in schema.load_fields.items():
        bounds = _string_bounds(field)
        if bounds is None:
            return None
        key = field.data_key if field.data_key is not None else name
        plan[key] = (field.attribute or name, *bounds)
        if field.required:
            required.append(key)

    def check(data: dict[str, Any]) -> dict[str, Any] | None:
        if any(key not in data for key in required):
            return None
        loaded = {}
        for key, value in data.items():
            found = plan.get(key)
            if found is None or type(value) is not str:
                return None
            attribute, low, high = found
            if len(value) < low or (high is not None and len(value) > high):
                return None
            loaded[attribute] = value
        return loaded

    return check


def _string_bounds(field: fields.Field) -> tuple[int, int | None] | None:
    """A plain String's length bounds (0, None without a validator); None for anything else."""
    if type(field) is not fields.String or field.load_default is not missing:
        return None
    if not field.validators:
        return 0, None
    if len(field.validators) != 1 or type(field.validators[0]) is not validate.Length:
        return None
    length = field.validators[0]
    if length.equal is not None:
        return length.equal, length.equal
    return length.min or 0, length.max
