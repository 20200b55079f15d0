"""service.api.loading: a plainly valid body loads to what marshmallow gives; anything else is
marshmallow's to load or refuse, with its own messages. (The whole suite also loads every body
both ways: loading.VERIFY.)"""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from service.api import loading
from service.api.schemas.gradings import TransitionRequest


class Named(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=5))
    note = fields.String(data_key="remark", allow_none=True)
    code = fields.String(validate=validate.Length(equal=3))


@pytest.mark.parametrize(
    "data",
    [
        {"name": "ab"},
        {"name": "abcde", "remark": "", "code": "xyz"},
        {"name": "白河村"},
    ],
)
def test_a_plainly_valid_body_loads_as_marshmallow_loads_it(data: dict[str, Any]) -> None:
    assert loading.load(Named(), data) == Named().load(data)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "name"),  # missing
        ({"name": "a"}, "name"),  # too short
        ({"name": "abcdef"}, "name"),  # too long
        ({"name": 5}, "name"),  # not a string
        ({"name": "ab", "code": "xy"}, "code"),  # not the exact length
        ({"name": "ab", "note": "x"}, "note"),  # the attribute, not the key sent
        ({"name": "ab", "extra": 1}, "extra"),  # unknown
    ],
)
def test_anything_else_is_marshmallows_refusal(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        loading.load(Named(), data)
    assert field in refused.value.messages


def test_a_null_where_allowed_is_loaded_by_marshmallow() -> None:
    assert loading.load(Named(), {"name": "ab", "remark": None}) == {"name": "ab", "note": None}


def test_schemas_of_other_fields_or_rules_are_not_compiled() -> None:
    class Lenient(Schema):
        class Meta:
            unknown = EXCLUDE

        name = fields.String()

    class Counted(Schema):
        n = fields.Integer()

    assert loading._compile(Lenient()) is None
    assert loading._compile(Counted()) is None
    assert loading._compile(TransitionRequest()) is not None
    assert loading.load(Lenient(), {"name": "a", "x": 1}) == {"name": "a"}


def test_a_difference_from_marshmallow_fails_under_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = Named()
    monkeypatch.setitem(loading._COMPILED, id(schema), (schema, lambda data: {"name": "zz"}))
    monkeypatch.setattr(loading, "VERIFY", True)
    with pytest.raises(AssertionError, match="fast load"):
        loading.load(schema, {"name": "ab"})
