"""service.api.dumping: an answer dumped by the compiled schema is marshmallow's, field for
field — what marshmallow does with a missing attribute, a dotted attribute, a data_key, a
default, a bytes string, a nested list and a field it has no shortcut for. (The whole suite
also dumps every answer both ways: dumping.VERIFY.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import Schema, fields, post_dump

from service.api import dumping


class Inner(Schema):
    code = fields.String(required=True)
    count = fields.Integer()


class Outer(Schema):
    id = fields.Integer(required=True)
    name = fields.String(data_key="title")
    owner = fields.String(attribute="org.name")
    flag = fields.Boolean()
    when = fields.DateTime()
    day = fields.Date()
    amount = fields.Decimal(as_string=True)
    tags = fields.List(fields.String())
    inner = fields.Nested(Inner, allow_none=True)
    inners = fields.List(fields.Nested(Inner))
    some = fields.Nested(Inner, only=("code",))
    level = fields.String(dump_default="none yet")
    computed = fields.Function(lambda obj: f"#{obj['id'] if isinstance(obj, dict) else obj.id}")
    counted = fields.Integer(as_string=True)


@dataclass
class Org:
    name: str


@dataclass
class Row:
    id: int
    org: Org
    flag: bool
    inner: Any = None


FULL: dict[str, Any] = {
    "id": 7,
    "name": b"bytes are text",
    "org": {"name": "白河村"},
    "flag": False,
    "when": datetime(2026, 11, 28, 1, 2, 3, tzinfo=UTC),
    "day": date(2026, 11, 28),
    "amount": Decimal("92.50"),
    "tags": ["a", 1],
    "inner": {"code": "x", "count": "3"},
    "inners": [{"code": "y"}, {"code": "z", "count": 2}],
    "some": {"code": "s", "count": 9},
    "counted": 4,
}


@pytest.mark.parametrize(
    "data",
    [
        FULL,
        {"id": 1},  # every other attribute missing: left out, or its default
        {**FULL, "inner": None, "inners": None, "tags": None, "name": None},
        Row(2, Org("凤凰镇"), True, {"code": "o"}),  # attributes, not keys
    ],
    ids=["full", "sparse", "nulls", "object"],
)
def test_a_compiled_dump_is_marshmallows(data: Any) -> None:
    schema = Outer()
    assert dumping.dump(schema, data) == schema.dump(data)


def test_a_schema_with_dump_hooks_is_dumped_by_marshmallow() -> None:
    class Enveloped(Schema):
        id = fields.Integer()

        @post_dump
        def envelope(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {"data": data}

    assert dumping.dump(Enveloped(), {"id": 3}) == {"data": {"id": 3}}


def test_a_difference_from_marshmallow_fails_under_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = Inner()
    dumping.dump(schema, {"code": "a"})  # compiled now
    monkeypatch.setitem(dumping._COMPILED, id(schema), (schema, lambda data: {"code": "b"}))
    monkeypatch.setattr(dumping, "VERIFY", True)
    with pytest.raises(AssertionError, match="compiled dump"):
        dumping.dump(schema, {"code": "a"})
