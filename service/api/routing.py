"""One decorator turns a plain function into an endpoint: authentication (service.api.auth),
parsing and validating the query and body (bodies), Idempotency-Key (idempotent), If-Match
(conditional), the unit of work (commit once, or roll back), serializing the answer, and the
metadata from which openapi.yaml is generated. Lists page with service.api.pagination; files
are named by service.api.files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from marshmallow import Schema
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.api import dumping
from service.api.auth import (
    NOBODY,
    PendingToken,
    actor_of,
    authenticate,
    pending_token,
    unauthorized_first,
)
from service.api.bodies import load_body, load_query, read_json_body, schema_of
from service.api.conditional import require_if_match
from service.api.idempotent import idempotency_of
from service.api.schemas.common import MAX_ID
from service.config import Settings
from service.context import Actor
from service.errors import (
    NotFound,
)
from service.gradings.models import Approval, RecordVersion


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
    # (workflow, transition, …): the lifecycle's transitions this verb endpoint fires; each
    # lifecycle's verbs are also served at one …/transitions endpoint (service.api.transitions)
    fires: tuple[str, ...] = ()
    handler: Callable[..., Any] | None = None


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
        # the transition named in the body of a …/transitions request (None at a verb's path)
        self.transition: str | None = None

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
        self._actor = actor_of(principal)


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


REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def public_base() -> str:
    """Where people open the pages: PUBLIC_BASE_URL, or the address this request came to."""
    settings: Settings = current_app.extensions["grading.settings"]
    return settings.public_base_url or request.host_url.rstrip("/")


def session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["grading.sessions"]()
    return g.db_session


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
    fires: tuple[str, ...] = (),
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
                fires,
                fn,
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
            pending = pending_token(db) if auth and auth_in_load else None
            ctx: Ctx | None = None
            try:
                principal = authenticate(db) if auth and pending is None else None
                g.principal = principal
                if 412 in errors:
                    require_if_match(method)
                idempotency = (
                    idempotency_of(db, principal)
                    if method in ("POST", "PUT", "PATCH") and idempotent
                    else None
                )
                if idempotency is not None and idempotency.replay is not None:
                    return idempotency.replay
                query_args = load_query(query)
                payload = load_body(body) if body is not None else {}
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
                    NOBODY if pending is not None else actor_of(principal),
                    payload,
                    query_args,
                    pending,
                )
                result = fn(ctx, **path)
                principal = ctx.principal  # nothing is answered to a caller not checked
                response = render(result, responses)
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
                    unauthorized_first(pending, db)
                raise

        bp.add_url_rule(rule, endpoint, view, methods=[method])
        return view

    return decorate


# One encoder for every answer (json.dumps with options builds a new one per call).
_ANSWER = json.JSONEncoder(ensure_ascii=False, default=str).encode


def render(result: Any, responses: dict[int, type[Schema] | None]) -> Response:
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
