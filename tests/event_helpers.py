"""Webhooks in tests: a receiver that records what it is sent, a clock the test moves, the site a
worker delivers from."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.config import Settings
from service.events.worker import Worker
from service.gradings.models import Grading
from service.organizations.models import Organization
from tests.tampering import token_for

LOCAL_RECEIVERS: dict[str, Any] = {"webhook_allowed_networks": ("127.0.0.1/32",)}


class Receiver:
    """A portal's endpoint on 127.0.0.1: records every request; the first `failures` get 500
    (counting only events of `failing_subject` when it is set); each answer takes `delay` s."""

    def __init__(self, failures: int = 0, delay: float = 0.0) -> None:
        self.failures, self.delay = failures, delay
        self.failing_subject: str | None = None
        self.failed = 0
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                with receiver.lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append((headers, body))
                    subject = json.loads(body).get("subject")
                    failing = receiver.failed < receiver.failures and (
                        receiver.failing_subject in (None, subject)
                    )
                    receiver.failed += failing
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/grading"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        with self.lock:
            return [h["webhook-id"] for h, _ in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta.total_seconds()


class Site:
    def __init__(self, url: str) -> None:
        self.url = url
        # the test receivers listen on 127.0.0.1: an intranet portal, allowed by name
        self.app: Flask = create_app(Settings.from_env(database_url=url, **LOCAL_RECEIVERS))
        self.client: FlaskClient = self.app.test_client()
        self.factory: sessionmaker[Session] = self.app.extensions["grading.sessions"]
        self.settings: Settings = self.app.extensions["grading.settings"]
        self.tokens: dict[str, str] = {}

    def headers(self, who: str) -> dict[str, str]:
        if who not in self.tokens:
            self.tokens[who] = token_for(self.url, who)
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str = "admin") -> Any:
        return self.client.get(path, headers=self.headers(who))

    def post(self, path: str, body: Any = None, who: str = "admin") -> Any:
        return self.client.post(path, json=body, headers=self.headers(who))

    def org(self, code: str) -> int:
        with self.factory() as session:
            return session.scalars(select(Organization.id).where(Organization.code == code)).one()

    def publicity_grading(self) -> int:
        with self.factory() as session:
            return (
                session.scalars(
                    select(Grading.id).where(Grading.state == "publicity").order_by(Grading.id)
                ).first()
                or 0
            )

    def subscribe(self, url: str, types: list[str] | None = None, org: str = "YC") -> Any:
        body = {"name": "县党建平台", "url": url, "organization_id": self.org(org)}
        reply = self.post("/api/v1/webhooks", body | ({"types": types} if types else {}))
        assert reply.status_code == 201, reply.get_json()
        return reply.get_json()

    def complain(self) -> None:
        filed = self.client.post(
            "/api/v1/public/complaints",
            json={"grading_id": self.publicity_grading(), "text": "评定结果与实际不符"},
        )
        assert filed.status_code == 201, filed.get_json()

    def worker(self, clock: Clock, **overrides: Any) -> Worker:
        settings = Settings.from_env(database_url=self.url, **{**LOCAL_RECEIVERS, **overrides})
        found = Worker(settings, self.factory, clock=clock, concurrency=2)
        found.last_minute = found.last_hour = clock()  # timers only when a test asks
        return found

    def count(self, model: Any, *where: Any) -> int:
        with self.factory() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()
