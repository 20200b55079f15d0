"""One decorator turns a plain function into an endpoint: authentication, parsing and
validating the query and body, the unit of work (commit once, or roll back), serializing the
answer, and the metadata from which openapi.yaml is generated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache, wraps
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Request, Response, current_app, g, request
from marshmallow import Schema
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from service.accounts import oidc
from service.accounts.access import Principal
from service.accounts.operations import act_for, hash_token, principal_for_token
from service.api import dumping, loading
from service.api.problems import problem
from service.api.schemas.common import MAX_ID
from service.config import Settings
from service.context import Actor
from service.errors import (
    IdempotencyKeyReused,
    MalformedRequest,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    SecretNotReplayed,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from service.gradings.models import Approval
from service.idempotency.models import IdempotentResponse
from service.records.models import RecordVersion


@dataclass
class Operation:
    method: str
    rule: str
    endpoint: str
    summary: str
    tag: str
    auth: bool
    body: type[Schema] | None
    query: type[Schema] | None
    responses: dict[int, type[Schema] | None]
    errors: tuple[int, ...]
    description: str | None = None
    spec_extra: dict[str, Any] = field(default_factory=dict)
    idempotent: bool = True


REGISTRY: list[Operation] = []


class Ctx:
    """What a handler gets: the session of this request's unit of work, the caller, the body.

    The caller may still be pending (an operation with `auth_in_load`, on PostgreSQL): the
    bearer token is checked by the handler's first statement (`settle`, service.api.scope's
    transition load) or, if anything asks for the caller before that, by the usual lookup."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        principal: Principal | None,
        actor: Actor,
        body: dict[str, Any],
        query: dict[str, Any],
        pending: PendingToken | None = None,
    ) -> None:
        self.session, self.settings, self.body, self.query = session, settings, body, query
        self._principal, self._actor, self.pending = principal, actor, pending

    @property
    def principal(self) -> Principal | None:
        self._check_pending()
        return self._principal

    @property
    def actor(self) -> Actor:
        self._check_pending()  # an event never names a caller not yet checked
        return self._actor

    def _check_pending(self) -> None:
        if self.pending is not None:
            self.settle(self.pending.resolve())

    @property
    def caller(self) -> Principal:
        principal = self.principal
        assert principal is not None
        return principal

    def settle(self, principal: Principal) -> None:
        """The pending caller, as the token's check found it."""
        self.pending = None
        self._principal = g.principal = principal
        self._actor = _actor(principal)


NOBODY = Actor(account_id=None, username="anonymous")  # a pending caller's: Ctx.actor settles first


@dataclass
class PendingToken:
    """A bearer API token not yet checked: its hash for a statement that checks it on the way
    (scope's transition load), `resolve` for the usual lookup."""

    session: Session
    token: str
    token_hash: str

    def resolve(self) -> Principal:
        return principal_for_token(self.session, self.token)


def _pending_token(db: Session) -> PendingToken | None:
    """A plain API token whose check may ride in the handler's first statement (PostgreSQL;
    not a JWT, not on behalf of someone, not with an Idempotency-Key — those are looked up as
    usual, first)."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    headers = request.headers
    if "On-Behalf-Of" in headers or "Idempotency-Key" in headers:
        return None
    m = TOKEN_RE.match(headers.get("Authorization", "").strip())
    if m is None:
        return None
    token = m.group(1)
    providers = current_app.extensions["grading.settings"].oidc_providers
    if providers and oidc.looks_like_jwt(token):
        return None
    return PendingToken(db, token, hash_token(token))


def _unauthorized_first(pending: PendingToken, db: Session) -> None:
    """A request that fails before its pending token was checked: check it now, so that a
    caller who is not one gets 401 — as ever, before any other answer."""
    try:
        pending.resolve()
    except Unauthorized:
        raise
    except Exception:
        pass  # the token could not be checked (the database?): the first error stands
    finally:
        db.rollback()


@dataclass
class Reply:
    data: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def written_or_pending(result: RecordVersion | Approval, render: Any, status: int = 200) -> Reply:
    """A stage record was written (render it), or it waits for a supervisor's approval (202)."""
    if isinstance(result, Approval):
        return Reply(result, 202, {"Location": f"/api/v1/approvals/{result.id}"})
    return Reply(render(result), status)


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    total: int | None = None


IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
TOKEN_RE = re.compile(r"^Bearer ([A-Za-z0-9_\-\.~+/]+=*)$")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,99}$")  # as accounts are named


def public_base() -> str:
    """Where people open the pages: PUBLIC_BASE_URL, or the address this request came to."""
    settings: Settings = current_app.extensions["grading.settings"]
    return settings.public_base_url or request.host_url.rstrip("/")


def session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["grading.sessions"]()
    return g.db_session


def _authenticate(db: Session) -> Principal:
    header = request.headers.get("Authorization")
    if not header:
        raise Unauthorized("send Authorization: Bearer <token>")
    m = TOKEN_RE.match(header.strip())
    if not m:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    token = m.group(1)
    providers = current_app.extensions["grading.settings"].oidc_providers
    if providers and oidc.looks_like_jwt(token):
        caller = oidc.principal_for_jwt(db, token, providers)
    else:
        caller = principal_for_token(db, token)
    person = request.headers.get("On-Behalf-Of")
    if person is None:
        return caller
    if not USERNAME_RE.match(person):
        raise MalformedRequest("On-Behalf-Of names an account by its username (2–100 characters)")
    return act_for(db, caller, person)


def _actor(principal: Principal | None) -> Actor:
    return Actor(
        account_id=principal.account_id if principal else None,
        username=principal.username if principal else "anonymous",
        role=principal.main_role() if principal else None,
        token_id=principal.token_id if principal else None,
        client_ip=request.remote_addr,
        request_id=g.get("request_id"),
        via=principal.via if principal else None,
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


def _load_body(schema_cls: type[Schema]) -> dict[str, Any]:
    # No body at all is an empty object: the schema then names every required field.
    data = read_json_body() if request.get_data(cache=True) else {}
    if not isinstance(data, dict):
        raise ValidationFailed(
            "the body must be a JSON object", errors={"_schema": ["expected an object"]}
        )
    return loading.load(schema_of(schema_cls), data)


def _load_query(schema_cls: type[Schema] | None) -> dict[str, Any]:
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


def operation(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    summary: str,
    tag: str,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    responses: dict[int, type[Schema] | None],
    errors: tuple[int, ...] = (),
    auth: bool = True,
    description: str | None = None,
    raw: bool = False,
    idempotent: bool = True,
    spec_extra: dict[str, Any] | None = None,
    first: Callable[[], None] | None = None,
    auth_in_load: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`first` runs before anything is read of the request (e.g. counting an attempt against a
    rate limit, so that malformed attempts count too). `auth_in_load`: the handler's first
    statement may check the bearer token (Ctx.pending, Ctx.settle) — one round trip fewer."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        endpoint = fn.__name__
        REGISTRY.append(
            Operation(
                method,
                rule,
                endpoint,
                summary,
                tag,
                auth,
                body,
                query,
                responses,
                tuple(sorted(set(errors) | ({401} if auth else set()))),
                description or fn.__doc__,
                spec_extra or {},
                idempotent,
            )
        )

        @wraps(fn)
        def view(**path: Any) -> Response:
            for name, value in path.items():
                if isinstance(value, int) and value > MAX_ID:
                    raise NotFound(f"no resource has {name} {value}")
            if first is not None:
                first()
            db = session()
            pending = _pending_token(db) if auth and auth_in_load else None
            ctx: Ctx | None = None
            try:
                principal = _authenticate(db) if auth and pending is None else None
                g.principal = principal
                if (
                    412 in errors
                    and current_app.extensions["grading.settings"].require_if_match
                    and request.headers.get("If-Match") is None
                ):
                    raise PreconditionRequired(
                        f"{method} {request.path} needs If-Match with the ETag you read "
                        "(this service requires it on writes)"
                    )
                idempotency = (
                    _idempotency(db, principal)
                    if method in ("POST", "PUT", "PATCH") and idempotent
                    else None
                )
                if idempotency is not None and idempotency.replay is not None:
                    return idempotency.replay
                query_args = _load_query(query)
                payload = _load_body(body) if body is not None else {}
                if (
                    body is None
                    and not raw
                    and method in ("POST", "PATCH", "PUT")
                    and request.content_length
                ):
                    read_json_body()  # a body where none is expected must still be JSON
                ctx = Ctx(
                    db,
                    current_app.extensions["grading.settings"],
                    principal,
                    NOBODY if pending is not None else _actor(principal),
                    payload,
                    query_args,
                    pending,
                )
                result = fn(ctx, **path)
                principal = ctx.principal  # nothing is answered to a caller not checked
                response = _render(result, responses)
                if method == "GET" and response.status_code == 200 and "ETag" in response.headers:
                    response.make_conditional(request)  # If-None-Match: 304 when unchanged
                if idempotency is not None and 200 <= response.status_code < 300:
                    idempotency.store(db, response)
                db.commit()
                return response
            except BaseException as exc:
                db.rollback()
                checked = ctx is not None and ctx.pending is None
                if pending is not None and not checked and isinstance(exc, Exception):
                    _unauthorized_first(pending, db)
                raise

        bp.add_url_rule(rule, endpoint, view, methods=[method])
        return view

    return decorate


@dataclass
class _Idempotency:
    scope: str
    key: str
    request_hash: str
    replay: Response | None = None

    def store(self, db: Session, response: Response) -> None:
        if response.is_streamed:
            return
        kept = {
            k: v for k, v in response.headers.items() if k in ("Location", "ETag", "Cache-Control")
        }
        if "no-store" in response.headers.get("Cache-Control", ""):
            # The answer holds a secret shown once: keep only that the key was used.
            secret_free = problem(
                SecretNotReplayed,
                f"this Idempotency-Key was used for {request.method} {request.path}, which "
                "succeeded; its answer held a secret that is shown once and not kept",
            )
            response, kept = secret_free, {k: v for k, v in kept.items() if k == "Location"}
        db.add(
            IdempotentResponse(
                scope=self.scope,
                key=self.key,
                method=request.method,
                path=request.path[:500],
                request_hash=self.request_hash,
                status=response.status_code,
                body=response.get_data(as_text=True),
                headers={**kept, "Content-Type": response.content_type},
            )
        )
        db.flush()


def _idempotency(db: Session, principal: Principal | None) -> _Idempotency | None:
    """Idempotency-Key on a POST, PUT or PATCH: a retry gets the first answer; a different body
    is refused."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_RE.match(key):
        raise MalformedRequest("Idempotency-Key must be 1–200 visible ASCII characters")
    scope = f"account:{principal.account_id}" if principal else f"anonymous:{request.remote_addr}"
    if principal is not None and principal.via is not None:
        scope += f" via:{principal.via}"
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode() + b"\x00")
    digest.update(request.get_data(cache=True))
    state = _Idempotency(scope, key, digest.hexdigest())
    stored = db.scalars(
        select(IdempotentResponse).where(
            IdempotentResponse.scope == scope, IdempotentResponse.key == key
        )
    ).first()
    if stored is None:
        return state
    if stored.request_hash != state.request_hash:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was first used for {stored.method} {stored.path} with "
            "another body; use a new key for a new request"
        )
    headers = dict(stored.headers)
    content_type = headers.pop("Content-Type", None)
    replay = Response(stored.body, status=stored.status, content_type=content_type)
    replay.headers.update(headers)
    replay.headers["Idempotent-Replayed"] = "true"
    state.replay = replay
    return state


# One encoder for every answer (json.dumps with options builds a new one per call).
_ANSWER = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _render(result: Any, responses: dict[int, type[Schema] | None]) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(result, next(iter(responses)))
    schema_cls = responses.get(reply.status)
    if reply.status == 204 or schema_cls is None:
        response = Response(status=reply.status)
    else:
        data = dumping.dump(schema_of(schema_cls), reply.data)
        response = Response(
            _ANSWER(data),
            status=reply.status,
            mimetype="application/json",
        )
    response.headers.update(reply.headers)
    return response


# --- cursor pagination -------------------------------------------------------------------


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


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_TYPES = {"json": "application/json", "csv": "text/csv", "xlsx": XLSX}


def chosen_format(*offered: str) -> str:
    """`?format=`, or else the offered format (json, csv, xlsx) the Accept header prefers; json
    when it names none of them."""
    chosen = request.args.get("format")
    if chosen:
        return chosen
    best = request.accept_mimetypes.best_match([FILE_TYPES[f] for f in ("json", *offered)])
    return next((f for f in offered if FILE_TYPES[f] == best), "json")


def attachment(response: Response, fallback: str, name: str) -> Response:
    """A file to save under `name` (RFC 6266: `fallback` for clients that only read ASCII)."""
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    )
    return response


def if_match() -> frozenset[int] | None:
    """The versions the If-Match header names (ETags are versions); None when absent or *."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for tag in header.split(","):
        value = tag.strip().removeprefix("W/").strip('"')
        if value.isdigit() and len(value) <= 9:
            versions.add(int(value))
    return frozenset(versions)


def check_if_match(current_version: int) -> None:
    """Honour If-Match when the client sends it: 412 unless it names the current version."""
    PreconditionFailed.check(current_version, if_match())


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}
