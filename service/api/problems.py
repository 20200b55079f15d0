"""RFC 9457 problem details: every error leaves the service as application/problem+json."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from flask import Flask, Response, current_app, has_request_context, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from service import migrate
from service.api import zh
from service.errors import (
    CATALOGUE,
    CATALOGUE_ZH,
    Conflict,
    DatabaseUnavailable,
    DomainError,
    Forbidden,
    InternalError,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30  # what a 503 asks a client to wait

PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> (title, what it means for a client), read from the error classes; served at
# /problems/<slug> and listed in openapi.yaml.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    slug: (cls.title, cls.description) for slug, cls in sorted(CATALOGUE.items())
}


def prefers_chinese() -> bool:
    """Accept-Language puts Chinese before English (the API's default is English)."""
    if not has_request_context():
        return False
    return request.accept_languages.best_match(["en", "zh"], default="en") == "zh"


def problem(
    kind: type[DomainError],
    detail: str,
    *,
    errors: Any = None,
    detail_zh: str | None = None,
    **extra: Any,
) -> Response:
    """The problem+json answer for an error class (its slug, status and title) and a detail —
    in Chinese when the request prefers it (the specific Chinese detail when the error has one,
    else what the problem type means), the specific English detail kept in `detail_en`."""
    body: dict[str, Any] = {
        "type": f"/problems/{kind.type}",
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
    }
    chinese = prefers_chinese()
    if chinese:
        title_zh, meaning_zh = CATALOGUE_ZH[kind.type]
        specific = detail_zh or zh.detail(detail)
        body |= {"title": title_zh, "detail": specific or meaning_zh, "detail_en": detail}
    if errors is not None:
        body["errors"] = zh.messages(errors) if chinese else errors
        if chinese:
            body["errors_en"] = errors
    body.update(extra)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=kind.status, mimetype=PROBLEM_MEDIA_TYPE
    )
    if kind.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="grading"'
    return response


# What an HTTP error raised by Flask/werkzeug (routing, body limits) is answered as.
_HTTP: dict[int, type[DomainError]] = {
    kind.status: kind
    for kind in (
        MalformedRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
    )
}


def unavailable(exc: DBAPIError) -> DatabaseUnavailable | None:
    """Why the database cannot serve, as a 503 to answer — the connection was lost (the pool
    reconnects; the client retries), or the database is down or not migrated — or None when
    it can, and the error is a fault of ours. Used by the API's and the pages' handlers."""
    if exc.connection_invalidated:
        log.warning("database connection lost: %s", type(exc.orig).__name__)
        return DatabaseUnavailable("the connection to the database was lost; retry")
    if _busy(exc):
        log.warning("database busy: %s", type(exc.orig).__name__)
        return DatabaseUnavailable("the database is busy with other writes; retry")
    why = migrate.not_ready(current_app.extensions["grading.sessions"])
    if why is None:
        return None
    log.error("database unavailable: %s (%s)", why, type(exc.orig).__name__)
    return DatabaseUnavailable(why)


# PostgreSQL: deadlock detected, serialization failure, lock not available (lock_timeout),
# statement timeout.
BUSY_SQLSTATES = frozenset({"40P01", "40001", "55P03", "57014"})


def _busy(exc: DBAPIError) -> bool:
    """A write waited too long for another one: SQLite's lock (after its busy timeout) or a
    PostgreSQL deadlock or serialization failure — transient, so 503 and retry."""
    if getattr(exc.orig, "sqlstate", None) in BUSY_SQLSTATES:
        return True
    return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)


def _for_status(status: int) -> type[DomainError]:
    if status >= 500:
        return InternalError
    return _HTTP.get(status, MalformedRequest)


def http_problem(exc: HTTPException) -> Response:
    """An HTTP error raised by Flask or Werkzeug (no route, wrong method, body too large …)."""
    status = exc.code or 500
    detail = exc.description or exc.name
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        detail = f"the request body is larger than {limit} bytes"
    response = problem(_for_status(status), detail)
    if status == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def constraint_of(exc: IntegrityError) -> str:
    """What a log may say of a refused write: the constraint, never the values (PostgreSQL's
    message carries them in its DETAIL line; SQLite's names the columns only)."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return f"constraint {name} ({getattr(exc.orig, 'sqlstate', None) or 'no sqlstate'})"
    return str(exc.orig).splitlines()[0][:200] if diag is None else type(exc.orig).__name__


def install(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        response = problem(
            type(exc), exc.detail, errors=exc.errors, detail_zh=exc.detail_zh, **exc.extra
        )
        if exc.status == 429:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        if isinstance(exc, DatabaseUnavailable):
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError) -> Response:
        found = unavailable(exc)
        if found is None:
            return _unexpected(exc)
        return current_app.handle_user_exception(found)  # type: ignore[return-value]

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields = ", ".join(sorted(str(k) for k in errors))
        return problem(ValidationFailed, f"invalid fields: {fields}", errors=errors)

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> Response:
        # 412 answers a precondition the client set; without If-Match the lost race is a
        # plain conflict (409): nobody asked for a version.
        kind = PreconditionFailed if request.headers.get("If-Match") else Conflict
        return problem(
            kind,
            "the resource changed while this request was changing it; read it again and retry",
        )

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Response:
        log.warning("integrity error answered 409: %s", constraint_of(exc))
        return problem(
            Conflict, "a concurrent request changed the same data first; read it again and retry"
        )

    app.register_error_handler(HTTPException, http_problem)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem(
            InternalError, "the service failed; the request id identifies this failure in the logs"
        )
