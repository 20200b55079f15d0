"""HTTP: routes, schemas, problem+json errors. Domain operations do the work."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, current_app, g, request
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

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()
        _whole_chunked_body()

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.observe(request, response.status_code, seconds)
        REQUESTS.info(
            "request",
            extra={
                "method": request.method,
                "path": logs.redact(request.path),
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        db = g.pop("db_session", None)
        if db is not None:
            db.close()
