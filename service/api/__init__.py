"""HTTP: routes, schemas, problem+json errors. Domain operations do the work."""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, Request, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

import service.api.routes  # noqa: F401  (importing it registers every endpoint)
from service import logs, metrics
from service.api import problems
from service.api.blueprint import api
from service.api.docs import pages
from service.api.routing import REQUEST_ID_RE

REQUESTS = logging.getLogger("service.request")
IMPORTS = "api.import_organizations"  # the one endpoint with its own, larger limit


def _whole_chunked_body() -> None:
    """A chunked body (no Content-Length) is cut at the size limit by Werkzeug, silently: read
    it here, once (later reads get the cached bytes), and refuse it whole (413) when more
    follows the limit — never a truncated body taken for the request."""
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.endpoint == IMPORTS:
        request.max_content_length = current_app.extensions["grading.settings"].max_import_bytes
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and len(data) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


def install(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_blueprint(pages)
    problems.install(app)

    # Both run on every request: each context object is looked up once, the request id's
    # header read from the WSGI environ as werkzeug would.
    @app.before_request
    def _request_id() -> None:
        here = g._get_current_object()
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
        here.request_id = incoming if REQUEST_ID_RE.match(incoming) else os.urandom(16).hex()
        here.started = time.perf_counter()
        _whole_chunked_body()

    @app.after_request
    def _headers(response: Response) -> Response:
        here = g._get_current_object()
        asked: Request = request._get_current_object()  # type: ignore[attr-defined]
        headers, status = response.headers, response.status_code
        headers["X-Request-Id"] = getattr(here, "request_id", "")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        seconds = time.perf_counter() - getattr(here, "started", time.perf_counter())
        metrics.observe(asked, status, seconds)
        REQUESTS.info(
            "request",
            extra={
                "method": asked.method,
                "path": logs.redact(asked.path),
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        db = g.pop("db_session", None)
        if db is not None:
            db.close()
