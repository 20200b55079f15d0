"""Edges an attacker or a flaky network could use (issue 34): a receiver that answers a byte a
second, a webhook aimed inward, a table locked by someone else, a rotated secret, a portal
minting credentials, an identity that takes another's name, a workbook that inflates."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.app import create_app
from service.config import Settings
from service.db import normalize_url, unit_of_work
from service.events import http, outbox, webhooks
from service.events.models import WebhookDelivery, WebhookSubscription
from tests.conftest import Api, assert_problem
from tests.event_helpers import Clock, Receiver, Site
from tests.portals import as_person, portal
from tests.tampering import token_for


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def site(demo_copy: str) -> Iterator[Site]:
    found = Site(demo_copy)
    with unit_of_work(found.factory) as session:
        outbox.sequence(session, batch=100_000)
    yield found
    found.app.extensions["grading.engine"].dispose()


class Dribble:
    """A receiver that accepts, then answers one byte a second, forever."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            for byte in b"HTTP/1.1 200 OK\r\n" * 100:
                if self.stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(1)

    def close(self) -> None:
        self.stop.set()
        self.server.close()


def emit(site: Site, count: int = 1) -> None:
    org = site.org("YC-XL-QS-V01")
    with unit_of_work(site.factory) as session:
        for n in range(count):
            outbox.emit(session, "grading.state_changed", f"gradings/{n}", org, {"n": n})


def test_a_receiver_answering_a_byte_a_second_holds_up_nobody(site: Site) -> None:
    slow, fast = Dribble(), Receiver()
    try:
        site.subscribe(slow.url, ["grading.state_changed"])
        site.subscribe(fast.url, ["grading.state_changed"])
        emit(site, 3)
        clock = Clock()
        worker = site.worker(clock, webhook_timeout_seconds=2)
        worker.sequence()
        started = time.monotonic()
        worker.deliver()
        took = time.monotonic() - started
        assert took < 4, took  # one deadline for the whole exchange, not one per read
        assert len(fast.ids()) == 2  # the other portal got its share of the same round
        failed = site.count(WebhookDelivery, WebhookDelivery.last_error.like("no answer within%"))
        assert failed == 2  # two of the slow one's, cut at the deadline
        now = datetime.fromtimestamp(clock(), UTC)
        with unit_of_work(site.factory) as session:  # five failures in a row open its breaker
            sub = session.scalars(
                select(WebhookSubscription).where(WebhookSubscription.url == slow.url)
            ).one()
            for _ in range(5):
                webhooks.settle(
                    session, _job(sub.id), webhooks.Outcome(False, None, "timeout"), now
                )
        with unit_of_work(site.factory) as session:
            for delivery in session.scalars(select(WebhookDelivery)):
                webhooks.redeliver(session, delivery, now)  # every delivery due again
        with unit_of_work(site.factory) as session:
            jobs = webhooks.claim(session, now, timedelta(0), 50)
            session.rollback()
        assert jobs and all(job.url != slow.url for job in jobs)  # it is left alone …
        with unit_of_work(site.factory) as session:
            later = webhooks.claim(session, now + timedelta(minutes=6), timedelta(0), 50)
            session.rollback()
        assert any(job.url == slow.url for job in later)  # … for five minutes
    finally:
        slow.close()
        fast.close()


def _job(subscription_id: int) -> webhooks.Job:
    return webhooks.Job(0, subscription_id, "", b"", {}, 1)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.1.10/hook",
        "http://127.0.0.1:5432/",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://2130706433/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_a_webhook_aimed_inward_is_refused(api: Api, url: str) -> None:
    body = {"name": "内网", "url": url, "organization_id": api.world.org("A").id}
    refused = assert_problem(
        api.post("/api/v1/webhooks", body, who="admin"), 422, "validation-error"
    )
    assert "url" in refused["errors"]


def test_an_intranet_portal_is_allowed_by_its_network_and_checked_again_at_delivery(
    site: Site, receiver: Receiver
) -> None:
    subscription = site.subscribe(receiver.url, ["grading.state_changed"])  # allowed: 127/32
    emit(site)
    clock = Clock()
    worker = site.worker(clock, webhook_allowed_networks=())  # the allowance withdrawn
    worker.sequence()
    worker.deliver()
    assert receiver.ids() == []  # nothing connected
    log = site.get(f"/api/v1/webhooks/{subscription['id']}/deliveries").get_json()["items"]
    assert log[0]["last_error"].startswith("refused: 127.0.0.1 resolves to 127.0.0.1")


class Bouncer:
    """Answers every POST with a redirect to `target`, and a body of secrets."""

    def __init__(self, target: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(307)
                self.send_header("Location", target)
                body = b"root:x:0:0:secret-from-the-inside"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_redirect_is_not_followed_and_no_body_is_kept(site: Site, receiver: Receiver) -> None:
    bouncer = Bouncer(receiver.url)
    try:
        subscription = site.subscribe(bouncer.url, ["grading.state_changed"])
        emit(site)
        worker = site.worker(Clock())
        worker.sequence()
        worker.deliver()
        assert receiver.ids() == []  # the redirect's target got nothing
        log = site.get(f"/api/v1/webhooks/{subscription['id']}/deliveries").get_json()["items"]
        assert log[0]["last_status"] == 307 and "redirects are not followed" in log[0]["last_error"]
        assert "secret-from-the-inside" not in str(log)
    finally:
        bouncer.server.shutdown()
        bouncer.server.server_close()


def test_a_rotated_secret_key_is_a_ring_and_one_bad_row_stops_no_round(
    site: Site, receiver: Receiver
) -> None:
    old = site.settings.secret_key
    kept = site.subscribe(receiver.url, ["grading.state_changed"])
    lost = Receiver()
    try:
        orphan = site.subscribe(lost.url, ["grading.state_changed"])
        with unit_of_work(site.factory) as session:  # wrapped under a key nobody has any more
            sub = session.get_one(WebhookSubscription, orphan["id"])
            sub.secret_wrapped = webhooks.wrap("a key long gone", webhooks.new_secret(), sub.id)
        emit(site, 2)
        clock = Clock()
        worker = site.worker(clock, secret_key="the new key", secret_key_previous=(old,))
        worker.sequence()
        while worker.deliver():
            clock.advance(timedelta(seconds=1))
        assert len(receiver.ids()) == 2  # the old key still opens its secret …
        with site.factory() as session:  # … which is wrapped again under the new one
            wrapped = session.get_one(WebhookSubscription, kept["id"]).secret_wrapped
            assert webhooks.unwrap("the new key", wrapped, kept["id"]).startswith("whsec_")
            lost_sub = session.get_one(WebhookSubscription, orphan["id"])
            assert lost_sub.status == "paused" and "SECRET_KEY_PREVIOUS" in (
                lost_sub.paused_reason or ""
            )
        assert lost.ids() == []
        dead = site.count(WebhookDelivery, WebhookDelivery.status == "dead")
        assert dead == 2  # dead-lettered at once: no retry can read it
    finally:
        lost.close()


def test_a_portal_does_not_mint_credentials_for_the_people_it_acts_for(
    api: Api, db: Session
) -> None:
    headers = as_person(portal(api.world, db, "A"), "admin")
    target = api.world.accounts["secretary"].id
    minted = api.client.post(
        f"/api/v1/accounts/{target}/tokens", json={"name": "t"}, headers=headers
    )
    assert "does not create credentials" in assert_problem(minted, 403, "forbidden")["detail"]
    hook = {
        "name": "p",
        "url": "https://portal.example/h",
        "organization_id": api.world.org("A").id,
    }
    subscribed = api.client.post("/api/v1/webhooks", json=hook, headers=headers)
    assert_problem(subscribed, 403, "forbidden")


def test_a_locked_table_answers_503_with_retry_after_and_readiness_says_so(
    demo_copy: str, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("lock and statement timeouts are PostgreSQL's")
    settings = Settings.from_env(database_url=demo_copy, db_lock_timeout_seconds=0.5)
    app = create_app(settings)
    client = app.test_client()
    token = token_for(demo_copy, "county.reviewer")
    grading = client.get(
        "/api/v1/campaigns/1/gradings?limit=1", headers={"Authorization": f"Bearer {token}"}
    ).get_json()["items"][0]["id"]
    holder = create_engine(normalize_url(demo_copy))
    try:
        with holder.begin() as conn:
            conn.execute(text("LOCK TABLE gradings IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            waited = client.post(
                f"/api/v1/gradings/{grading}/transitions",
                json={"transition": "open_self_rating"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert time.monotonic() - started < 5
            assert_problem(waited, 503, "database-unavailable")
            assert waited.headers["Retry-After"]
            ready = client.get("/api/v1/health/ready")
            assert ready.status_code == 503 and "locked" in ready.get_data(as_text=True)
        assert client.get("/api/v1/health/ready").status_code == 200
    finally:
        holder.dispose()
        app.extensions["grading.engine"].dispose()


def test_metrics_are_served_while_the_database_is_down(tmp_path: Any) -> None:
    app = create_app(Settings.from_env(database_url=f"sqlite:///{tmp_path}/missing/nothing.db"))
    answered = app.test_client().get("/metrics")
    assert answered.status_code == 200
    assert b"grading_database_up 0.0" in answered.data


def test_a_race_without_if_match_is_a_conflict_not_a_failed_precondition(api: Api) -> None:
    app = api.client.application
    for headers, status in (({}, 409), ({"If-Match": '"3"'}, 412)):
        with app.test_request_context("/api/v1/gradings/1/transitions", headers=headers):
            answer = app.handle_user_exception(StaleDataError("the row changed"))
        assert answer.status_code == status


def test_a_workbook_that_would_inflate_a_thousandfold_is_refused_before_it_is_read(
    api: Api,
) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 80_000_000)
    started = time.monotonic()
    refused = api.post(
        "/api/v1/organizations/import",
        data=bomb.getvalue(),
        who="admin",
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )
    assert time.monotonic() - started < 2
    problem = assert_problem(refused, 422, "import-rejected")
    assert "inflate" in problem["detail"]


def test_a_jwks_uri_over_plain_http_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = '[{"issuer": "https://id.example", "audience": "a", "jwks_uri": "http://id.example/k"}]'
    monkeypatch.setenv("OIDC_PROVIDERS", raw)
    with pytest.raises(SystemExit, match="jwks_uri must be https"):
        Settings.from_env()


def test_http_refuses_what_resolves_inward_unless_its_network_is_allowed() -> None:
    with pytest.raises(http.Refused):
        http.resolve("http://127.0.0.1:9/x")
    assert http.resolve("http://127.0.0.1:9/x", http.networks(["127.0.0.0/8"])).address == (
        "127.0.0.1"
    )


def test_an_event_failing_twice_no_longer_holds_its_gradings_later_events(
    site: Site, receiver: Receiver
) -> None:
    receiver.failures, receiver.failing_subject = 2, "gradings/0"  # n=0 fails twice
    site.subscribe(receiver.url, ["grading.state_changed"])
    org = site.org("YC-XL-QS-V01")
    with unit_of_work(site.factory) as session:
        for n in range(3):
            outbox.emit(session, "grading.state_changed", "gradings/0", org, {"n": n})
    clock = Clock()
    worker = site.worker(clock)
    worker.sequence()
    worker.deliver()  # the first fails once: the others wait (order)
    assert [r[1].count(b'"n":0') for r in receiver.requests] == [1]
    clock.advance(timedelta(seconds=6))
    worker.deliver()  # fails again: now it is in a long backoff …
    clock.advance(timedelta(seconds=1))
    while worker.deliver():
        clock.advance(timedelta(seconds=1))
    sent = [json.loads(body)["data"]["n"] for _, body in receiver.requests]
    assert sent == [0, 0, 1, 2]  # … and the later ones went on, in their order
