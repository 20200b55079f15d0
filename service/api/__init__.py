"""HTTP: routes, schemas, problem+json errors. Domain operations do the work."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request

import service.api.routes  # noqa: F401  (importing it registers every endpoint)
from service import logs, metrics
from service.api import problems
from service.api.blueprint import api
from service.api.docs import pages
from service.api.routing import REQUEST_ID_RE

REQUESTS = logging.getLogger("service.request")


def install(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_blueprint(pages)
    problems.install(app)

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

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
