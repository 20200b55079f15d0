"""Fields and schemas shared by every resource."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from service.scores import SCORE_PLACES


class Score(fields.Field):
    """A score or share: Decimal with at most two decimal places.

    Accepted as a JSON number or a string ("12.5"); always returned as a string ("12.50") so
    that no client turns it into a binary float.
    """

    def __init__(self, *, minimum: str = "0", maximum: str = "1000", **kwargs: Any) -> None:
        self.minimum = Decimal(minimum)
        self.maximum = Decimal(maximum)
        kwargs.setdefault("metadata", {})
        kwargs["metadata"] = {
            "type": ["string", "number"],
            "description": f"decimal, at most 2 places, {minimum}–{maximum}",
            **kwargs["metadata"],
        }
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return str(Decimal(value).quantize(SCORE_PLACES))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
            raise ValidationError("must be a number or a numeric string")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError("is not a number") from exc
        if not number.is_finite():
            raise ValidationError("must be finite")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise ValidationError("has more than two decimal places")
        if not (self.minimum <= number <= self.maximum):
            raise ValidationError(f"must be between {self.minimum} and {self.maximum}")
        return number


class ScoreOut(fields.String):
    """Output side of Score, so the spec says exactly 'string'."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return str(Decimal(value).quantize(SCORE_PLACES))


def text(
    max_length: int, *, required: bool = False, allow_none: bool = False, **kw: Any
) -> fields.String:
    return fields.String(
        required=required,
        allow_none=allow_none,
        validate=validate.Length(min=0 if allow_none else 1, max=max_length),
        **kw,
    )


def strict_int(
    *, minimum: int | None = None, maximum: int | None = None, **kw: Any
) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kw)


def id_field(**kw: Any) -> fields.Integer:
    return strict_int(minimum=1, maximum=MAX_ID, **kw)


MAX_ID = 2_147_483_647


def query_id(**kw: Any) -> fields.Integer:
    """An id in a query string (given as text, so not strict)."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kw)


class VersionQuery(Schema):
    version = fields.Integer(
        validate=validate.Range(min=1, max=1_000_000),
        metadata={"description": "an earlier version of the record (default: the current one)"},
    )


def total_field() -> fields.Integer:
    """A page's `total`: every matching item, when the request asked (total=true)."""
    return fields.Integer(
        allow_none=True, metadata={"description": "every matching item (asked with total=true)"}
    )


def sort_field(*names: str) -> fields.String:
    """`sort`: one of these names, ascending, or with a leading '-' descending (ties by id)."""
    return fields.String(
        validate=validate.OneOf([*names, *(f"-{n}" for n in names)]),
        metadata={
            "description": f"order by {', '.join(names)} ('-' first: descending); default id"
        },
    )


class PageQuery(Schema):
    limit = fields.Integer(
        validate=validate.Range(min=1, max=500),
        metadata={"description": "page size (default 50, at most 500)"},
    )
    cursor = fields.String(
        validate=validate.Length(max=400),
        metadata={"description": "next_cursor of the previous page (with the same sort)"},
    )
    total = fields.Boolean(
        metadata={"description": "also count every matching item (`total` in the answer)"}
    )


class ReasonBody(Schema):
    reason = text(2000, allow_none=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details; extension members (e.g. `reasons`) may follow."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(
        required=True, metadata={"description": "in Chinese when Accept-Language prefers zh"}
    )
    status = fields.Integer(required=True)
    detail = fields.String(
        required=True,
        metadata={
            "description": "what went wrong in this request; in Chinese (as specific) when "
            "Accept-Language prefers zh"
        },
    )
    detail_en = fields.String(
        metadata={"description": "answering in Chinese: the specific detail, in English"}
    )
    errors = fields.Raw(
        metadata={
            "description": "per-field (or per-row) problems; in Chinese when Accept-Language "
            "prefers zh"
        }
    )
    errors_en = fields.Raw(metadata={"description": "answering in Chinese: `errors` in English"})
    rule = fields.Dict(
        metadata={
            "description": "superior-duty and roll problems: the rule that refused "
            "(code, message_zh, message_en)"
        }
    )


def nullable_date(**kw: Any) -> fields.Date:
    return fields.Date(allow_none=True, **kw)
