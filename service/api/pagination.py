"""Cursor pagination: opaque cursors after an id, an organization path or a sort key;
`total=true` counts."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from service.api.routing import Ctx
from service.api.schemas.common import MAX_ID
from service.errors import (
    ValidationFailed,
)


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    total: int | None = None


PATH_CURSOR_RE = re.compile(r"^/(?:[0-9]{1,10}/){0,60}$")


def encode_cursor(last: int | str) -> str:
    """An opaque cursor after `last`: an id, or an organization path (lists in tree order)."""
    kind = "id" if isinstance(last, int) else "path"
    return base64.urlsafe_b64encode(f"{kind}:{last}".encode()).decode().rstrip("=")


def _decoded(cursor: str, expected: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != expected:
            raise ValueError(text)
        if kind == "id" and (not value.isdigit() or len(value) > 10 or int(value) > MAX_ID):
            raise ValueError(text)
        if kind == "path" and not PATH_CURSOR_RE.match(value):
            raise ValueError(text)
        return value
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "the cursor is not one this service issued", errors={"cursor": ["invalid cursor"]}
        ) from exc


def decode_cursor(cursor: str) -> int:
    return int(_decoded(cursor, "id"))


def decode_path_cursor(cursor: str) -> str:
    return _decoded(cursor, "path")


def page_limit(ctx: Ctx) -> int:
    """The page size asked for (`limit`), or the default; never past PAGE_SIZE_MAX."""
    return int(
        min(ctx.query.get("limit") or ctx.settings.page_size_default, ctx.settings.page_size_max)
    )


def next_cursor(rows: list[Any], limit: int, last: Callable[[Any], int | str]) -> str | None:
    """The cursor of the page after `rows` (fetched with limit + 1), None at the end."""
    return encode_cursor(last(rows[limit - 1])) if len(rows) > limit else None


def paginate(
    ctx: Ctx, query: Select[Any], id_column: Any, sorts: dict[str, Any] | None = None
) -> Page:
    """Keyset pagination on a unique, increasing id — or, with `sort`, on (that column, id):
    stable while rows are added. `sorts` names the columns a list may be sorted by (never
    null); `total=true` counts every matching item too."""
    limit = page_limit(ctx)
    cursor = ctx.query.get("cursor")
    total = count_of(ctx, query)
    sort = ctx.query.get("sort")
    if not sort:
        if cursor:
            query = query.where(id_column > decode_cursor(cursor))
        rows = list(ctx.session.scalars(query.order_by(id_column).limit(limit + 1)))
        return Page(rows[:limit], next_cursor(rows, limit, lambda row: int(row.id)), total)
    column = (sorts or {})[sort.lstrip("-")]
    descending = sort.startswith("-")
    if cursor:
        value, last_id = _decoded_sort(cursor, sort)
        beyond = column < value if descending else column > value
        query = query.where(or_(beyond, and_(column == value, id_column > last_id)))
    query = query.add_columns(column).order_by(column.desc() if descending else column, id_column)
    found = ctx.session.execute(query.limit(limit + 1)).all()
    more = len(found) > limit
    items = [row[0] for row in found[:limit]]
    last = found[limit - 1] if more else None
    return Page(items, _sort_cursor(sort, last[-1], last[0].id) if last else None, total)


def count_of(ctx: Ctx, query: Select[Any]) -> int | None:
    """How many items the list holds, when asked (`total=true`)."""
    if not ctx.query.get("total"):
        return None
    return int(
        ctx.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )


def _sort_cursor(sort: str, value: Any, last_id: int) -> str:
    """After (value, id) in `sort` order; the value tagged with its type: t(ime), i(nt), s(tr)."""
    if isinstance(value, datetime):
        tagged = ["t", value.isoformat()]
    else:
        tagged = ["i" if isinstance(value, int) else "s", value]
    text = json.dumps([sort, *tagged, last_id], ensure_ascii=False)
    return base64.urlsafe_b64encode(f"k:{text}".encode()).decode().rstrip("=")


def _decoded_sort(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, body = text.partition(":")
        if kind != "k":
            raise ValueError(text)
        made_for, tag, value, last_id = json.loads(body)
        if made_for != sort or type(last_id) is not int or not 0 < last_id <= MAX_ID:
            raise ValueError(text)
        if tag == "t" and isinstance(value, str) and len(value) <= 40:
            return datetime.fromisoformat(value), last_id
        if tag == "i" and type(value) is int and abs(value) <= MAX_ID:
            return value, last_id
        if tag == "s" and isinstance(value, str) and len(value) <= 200:
            return value, last_id
        raise ValueError(text)
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise ValidationFailed(
            "the cursor is not one this service issued for this sort",
            errors={"cursor": ["invalid cursor"]},
        ) from exc
