"""Answers dumped by plain functions compiled once per response schema.

marshmallow's `Schema.dump` looks every field's value up through three layers of accessors
and dispatches on the field per value: for a grading's view (32 fields, seven transitions)
that was a tenth of a transition's CPU. Here each schema is turned, once per process, into a
list of (key, getter, serializer) with the common fields (String, Integer, Boolean, Nested,
List) serialized inline, exactly as their `_serialize` would; any other field keeps its own
`_serialize`, and a schema with dump hooks or its own `get_attribute` is dumped by
marshmallow itself. The schemas stay the contract (openapi.yaml is generated from them).

`VERIFY` (set by the test suite) dumps every answer both ways and fails on a difference, so
the whole suite checks this module against marshmallow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import _get_value_for_key, ensure_text_type

VERIFY = False

Dump = Callable[[Any], Any]
Serialize = Callable[[Any, str, Any], Any]

_COMPILED: dict[int, tuple[Schema, Dump]] = {}  # id(schema) -> (schema kept alive, its dump)


def dump(schema: Schema, data: Any) -> Any:
    """`schema.dump(data)`, fast."""
    found = _COMPILED.get(id(schema))
    result = (found[1] if found is not None else _compile(schema))(data)
    if VERIFY:
        same_as_marshmallow(schema, "compiled dump", result, schema.dump(data))
    return result


def same_as_marshmallow(schema: Schema, what: str, result: Any, expected: Any) -> None:
    """Under VERIFY: a compiled path's result must be marshmallow's own."""
    if result != expected:
        raise AssertionError(
            f"{type(schema).__name__}: {what} {result!r} != marshmallow {expected!r}"
        )


def _compile(schema: Schema) -> Dump:
    compiled = _schema_dump(schema)
    _COMPILED[id(schema)] = (schema, compiled)
    return compiled


def _schema_dump(schema: Schema) -> Dump:
    if (
        schema._hooks[PRE_DUMP]
        or schema._hooks[POST_DUMP]
        or type(schema).get_attribute is not Schema.get_attribute
    ):
        return schema.dump
    plan = [
        (
            field.data_key if field.data_key is not None else name,
            _getter(field, name),
            _default(field),
            _serializer(field),
            name,
        )
        for name, field in schema.dump_fields.items()
    ]

    def one(obj: Any) -> dict[str, Any]:
        out = {}
        for key, get, default, serialize, name in plan:
            if get is None:  # a field that reads no attribute (Function, Method)
                out[key] = serialize(None, name, obj)
                continue
            value = get(obj)
            if value is missing:
                if default is missing:
                    continue
                value = default() if callable(default) else default
            out[key] = serialize(value, name, obj)
        return out

    if schema.many:
        return lambda data: None if data is None else [one(each) for each in data]
    return one


def _getter(field: fields.Field, name: str) -> Callable[[Any], Any] | None:
    if not field._CHECK_ATTRIBUTE:
        return None
    if type(field).get_value is not fields.Field.get_value:
        return lambda obj: field.get_value(obj, name, accessor=None)
    keys = (field.attribute or name).split(".")
    if len(keys) == 1:
        key = keys[0]

        def get(obj: Any) -> Any:
            if type(obj) is dict:
                return obj[key] if key in obj else getattr(obj, key, missing)
            return _get_value_for_key(obj, key, missing)

        return get

    def get_path(obj: Any) -> Any:
        for key in keys:
            obj = _get_value_for_key(obj, key, missing)
        return obj

    return get_path


def _default(field: fields.Field) -> Any:
    return field.dump_default


def _serializer(field: fields.Field) -> Serialize:
    kind = type(field)
    if kind is fields.String:
        return lambda v, _a, _o: v if v is None or type(v) is str else ensure_text_type(v)
    if isinstance(field, fields.Integer) and kind is fields.Integer and not field.as_string:
        return lambda v, _a, _o: None if v is None else int(v)
    if kind is fields.Boolean:
        return lambda v, _a, _o: v
    if isinstance(field, fields.Nested) and kind is fields.Nested:
        nested = _compile_nested(field)
        if nested is not None:
            return lambda v, _a, _o: None if v is None else nested(v)
    if isinstance(field, fields.List) and kind is fields.List:
        inner = _serializer(field.inner)
        return lambda v, a, o: None if v is None else [inner(each, a, o) for each in v]
    return field._serialize


def _compile_nested(field: fields.Nested) -> Dump | None:
    schema = field.schema
    if schema.many or field.many or field.only or field.exclude:
        return None  # marshmallow's own handling of a collection or a cut-down schema
    found = _COMPILED.get(id(schema))
    return found[1] if found is not None else _compile(schema)
