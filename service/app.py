"""The Flask application factory."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_cors import CORS
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from service import api, calendar, logs, metrics
from service.api.throttle import Throttle
from service.audit.signing import load_private_key
from service.config import Settings
from service.db import make_engine, make_sessionmaker
from service.events import outbox
from service.pages import site


def behind_proxies(wsgi_app: Any, hops: int, addresses: tuple[str, ...]) -> Any:
    """X-Forwarded-For/-Proto/-Host believed for `hops` proxies — only when the request comes
    from one of `addresses` (TRUSTED_PROXY_ADDRESSES). From anywhere else the headers are
    ignored: without a proxy in front, a client could otherwise name any address it likes
    (and rotate past the per-client rate limits)."""
    networks = [ipaddress.ip_network(a, strict=False) for a in addresses]
    forwarded = ProxyFix(wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            peer = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            return wsgi_app(environ, start_response)
        if any(peer in network for network in networks):
            return forwarded(environ, start_response)
        return wsgi_app(environ, start_response)

    return app


class PageSessions(SecureCookieSessionInterface):
    """The signed-cookie session is the ballot pages' (a voter's place between two pages);
    the API never reads it, so an API request does not open one (no cookie parsed, no
    signature checked — work the hot paths would do for nothing)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def create_app(
    settings: Settings | None = None, session_factory: Callable[[], Session] | None = None
) -> Flask:
    settings = settings or Settings.from_env()
    outbox.install()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.session_interface = PageSessions()
    if session_factory is None:
        engine = make_engine(settings.database_url, waits=settings.waits)
        session_factory = make_sessionmaker(engine)
        app.extensions["grading.engine"] = engine
    app.extensions["grading.sessions"] = session_factory
    app.extensions["grading.settings"] = settings
    app.extensions["grading.clock"] = time.time
    app.extensions["grading.throttle"] = Throttle(settings.secret_key)
    calendar.configure(settings.holidays, settings.extra_workdays, settings.timezone)
    app.extensions["grading.signing_key"] = load_private_key(
        settings.audit_signing_key, settings.secret_key
    )
    if settings.trusted_proxies:
        app.wsgi_app = behind_proxies(  # type: ignore[method-assign]
            app.wsgi_app, settings.trusted_proxies, settings.trusted_proxy_addresses
        )
    logs.configure(settings.log_format)
    logs.install()
    api.install(app)
    site.install(app)
    metrics.install(app)
    if settings.cors_origins:
        CORS(
            app,
            resources={r"/api/v1/*": {"origins": list(settings.cors_origins)}},
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                "If-None-Match",
                "Accept-Language",
                "X-Request-Id",
                "On-Behalf-Of",
            ],
            expose_headers=[
                "ETag",
                "Location",
                "Retry-After",
                "X-Request-Id",
                "Idempotent-Replayed",
            ],
            max_age=600,
        )
    return app
