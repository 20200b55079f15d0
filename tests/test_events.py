"""Portals hear about changes: the outbox written with the change, the feed, signed webhooks
with retries and per-grading order, timers that fire once, e-mail reminders, and workers that
share the work and survive kill -9."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, func, select, update
from standardwebhooks.webhooks import Webhook

from service import calendar
from service.campaigns.models import CampaignPhase
from service.db import unit_of_work
from service.events import outbox, webhooks
from service.events.models import OutboxEvent, WebhookDelivery
from service.gradings.models import Grading
from service.publicity import operations as publicity
from tests.conftest import assert_problem
from tests.event_helpers import Clock, Receiver, Site
from tests.tampering import ROOT


@pytest.fixture
def site(copy: str) -> Iterator[Site]:
    found = Site(copy)
    with unit_of_work(found.factory) as session:  # the demo's own events are history here
        outbox.sequence(session, batch=100_000)
    yield found
    found.app.extensions["grading.engine"].dispose()


def hand_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_a_webhook_is_signed_and_retried_until_it_arrives_with_the_same_id(
    site: Site, receiver: Receiver
) -> None:
    receiver.failures = 3
    subscription = site.subscribe(receiver.url, ["complaint.received"])
    assert subscription["secret"].startswith("whsec_")
    site.complain()
    clock = Clock()
    worker = site.worker(clock)
    worker.sequence()
    for wait in (timedelta(0), timedelta(seconds=6), timedelta(minutes=6), timedelta(minutes=34)):
        clock.advance(wait)
        assert worker.deliver() == 1
    assert worker.deliver() == 0  # delivered: nothing more to send
    assert len(set(receiver.ids())) == 1 and len(receiver.ids()) == 4
    first_headers, first_body = receiver.requests[0]
    Webhook(subscription["secret"]).verify(first_body, first_headers)  # the independent check
    last_headers, last_body = receiver.requests[-1]
    signature = hand_signature(subscription["secret"], last_headers, last_body)
    assert last_headers["webhook-signature"] == signature
    event = json.loads(last_body)
    assert event["specversion"] == "1.0" and event["type"] == "complaint.received"
    assert event["data"]["link"].startswith("/api/v1/complaints/")
    assert "text" not in event["data"] and "contact" not in event["data"]
    log = site.get(f"/api/v1/webhooks/{subscription['id']}/deliveries").get_json()["items"]
    assert [(d["status"], d["attempts"], d["last_status"]) for d in log] == [("delivered", 4, 204)]


def test_events_of_one_grading_arrive_in_order_while_others_go_on(
    site: Site, receiver: Receiver
) -> None:
    receiver.failures, receiver.failing_subject = 1, "gradings/1"  # its first event fails once
    site.subscribe(receiver.url)
    org = site.org("YC-XL-QS-V01")
    with unit_of_work(site.factory) as session:
        for n, subject in enumerate(["gradings/1", "gradings/2", "gradings/1", "gradings/2"]):
            outbox.emit(session, "grading.state_changed", subject, org, {"n": n})
        outbox.emit(session, "grading.state_changed", "gradings/1", org, {"n": 4})
    clock = Clock()
    worker = site.worker(clock)
    worker.sequence()
    while worker.deliver() or site.count(WebhookDelivery, WebhookDelivery.status == "pending"):
        clock.advance(timedelta(seconds=1))  # less than the first retry's wait (5 s)
    sent = [json.loads(body) for _, body in receiver.requests]
    tries = [(e["subject"], e["data"]["n"]) for e in sent]
    assert tries.count(("gradings/1", 0)) == 2  # refused once, then delivered
    arrived: dict[str, list[int]] = {}
    for subject, n in tries:
        if not arrived.get(subject) or arrived[subject][-1] != n:
            arrived.setdefault(subject, []).append(n)
    assert arrived == {"gradings/1": [0, 2, 4], "gradings/2": [1, 3]}
    # grading 2 went on while grading 1's first waited for its retry
    assert tries.index(("gradings/2", 3)) < len(tries) - tries[::-1].index(("gradings/1", 0)) - 1


def _claim_and_deliver(site: Site, now: datetime, limit: int) -> list[webhooks.Job]:
    with unit_of_work(site.factory) as session:
        jobs = webhooks.claim(session, now, timedelta(minutes=1), limit)
    with unit_of_work(site.factory) as session:
        for job in jobs:
            webhooks.settle(session, job, webhooks.Outcome(True, 204, None), now)
    return jobs


def test_a_full_round_goes_to_the_portal_that_has_waited_longest_and_starves_none(
    site: Site, receiver: Receiver
) -> None:
    portals = [site.subscribe(f"{receiver.url}/{n}")["id"] for n in range(3)]
    org = site.org("YC-XL-QS-V01")
    with unit_of_work(site.factory) as session:
        for n in range(4):
            outbox.emit(session, "grading.state_changed", f"gradings/{n}", org, {"n": n})
    site.worker(Clock()).sequence()
    now = datetime.now(UTC)
    rounds = [_claim_and_deliver(site, now, limit=2) for _ in range(6)]
    served = [{job.subscription_id for job in jobs} for jobs in rounds]
    assert served == [{portals[k]} for k in (0, 1, 2, 0, 1, 2)]  # two of one portal a round
    for jobs in rounds:  # each portal's oldest events first
        numbers = [job.event["data"]["n"] for job in jobs]
        assert numbers == sorted(numbers)
    assert _claim_and_deliver(site, now, limit=2) == []


def test_the_claim_writes_pending_into_its_statements_so_a_prepared_plan_keeps_the_index(
    site: Site, receiver: Receiver
) -> None:
    """psycopg prepares a statement it runs often; PostgreSQL's generic plan for "status = $1"
    cannot use an index WHERE status = 'pending', and each round read the whole queue."""
    site.subscribe(receiver.url)
    site.complain()
    site.worker(Clock()).sequence()
    seen: list[str] = []
    engine = site.factory.kw["bind"]

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with unit_of_work(site.factory) as session:
            assert webhooks.claim(session, datetime.now(UTC), timedelta(minutes=1))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    asking = [s for s in seen if "FROM webhook_deliveries" in s and ".status =" in s]
    assert asking and all("status = 'pending'" in s for s in asking), asking


def test_a_rolled_back_transaction_writes_no_event(site: Site) -> None:
    before = site.count(OutboxEvent)
    with pytest.raises(RuntimeError), unit_of_work(site.factory) as session:
        publicity.file_complaint(session, site.publicity_grading(), "不公平", None)
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == before + 1
        raise RuntimeError("the request failed after the write")
    assert site.count(OutboxEvent) == before
    site.complain()
    assert site.count(OutboxEvent) == before + 1


def test_a_subscription_that_keeps_failing_is_paused_and_resumed_by_an_admin(
    site: Site, receiver: Receiver
) -> None:
    receiver.failures = 10**6
    subscription = site.subscribe(receiver.url, ["complaint.received"])
    site.complain()
    clock = Clock()
    worker = site.worker(clock)
    worker.sequence()
    for _ in range(12):
        worker.deliver()
        clock.advance(timedelta(hours=11))
    assert len(receiver.ids()) == 8  # the first try and seven retries, over more than a day
    shown = site.get(f"/api/v1/webhooks/{subscription['id']}").get_json()
    assert shown["status"] == "paused" and "failed 8 times" in shown["paused_reason"]
    dead = site.get(f"/api/v1/webhooks/{subscription['id']}/deliveries?status=dead").get_json()
    assert len(dead["items"]) == 1 and dead["items"][0]["last_status"] == 500
    receiver.failures = 0
    resumed = site.post(f"/api/v1/webhooks/{subscription['id']}/resume")
    assert resumed.status_code == 200 and resumed.get_json()["status"] == "active"
    assert worker.deliver() == 1 and len(set(receiver.ids())) == 1
    again = site.post(
        f"/api/v1/webhooks/{subscription['id']}/deliveries/{dead['items'][0]['id']}/redeliver"
    )
    assert again.status_code == 202 and again.get_json()["status"] == "pending"
    assert worker.deliver() == 1 and len(receiver.ids()) == 10


def test_a_subscription_pauses_only_when_active_and_resumes_only_when_paused(
    site: Site, receiver: Receiver
) -> None:
    path = f"/api/v1/webhooks/{site.subscribe(receiver.url)['id']}"
    assert_problem(site.post(path + "/resume"), 409, "webhook-state")
    assert site.post(path + "/pause").get_json()["status"] == "paused"
    twice = assert_problem(site.post(path + "/pause"), 409, "webhook-state")
    assert "paused" in twice["detail"]
    assert site.get(path).get_json()["paused_reason"] == "paused by admin"  # not overwritten
    assert site.post(path + "/resume").get_json()["status"] == "active"


def test_an_admin_sends_a_delivery_again_from_each_of_its_states(
    site: Site, receiver: Receiver
) -> None:
    subscription = site.subscribe(receiver.url)
    site.complain()
    clock = Clock()
    worker = site.worker(clock)
    worker.sequence()
    path = f"/api/v1/webhooks/{subscription['id']}/deliveries"
    delivery = site.get(path).get_json()["items"][0]
    again = f"{path}/{delivery['id']}/redeliver"
    assert site.post(again).get_json()["status"] == "pending"  # pending: at once, not later
    clock.advance(timedelta(seconds=1))  # the worker's clock passes the request's "now"
    assert worker.deliver() == 1
    assert site.get(path).get_json()["items"][0]["status"] == "delivered"
    assert site.post(again).get_json()["status"] == "pending"  # delivered: once more
    clock.advance(timedelta(seconds=1))
    assert worker.deliver() == 1 and len(set(receiver.ids())) == 1  # the same webhook-id
    shown = site.get(path).get_json()["items"][0]
    assert (shown["status"], shown["attempts"]) == ("delivered", 1)


def test_the_feed_gives_what_came_after_a_cursor_within_the_callers_subtree(site: Site) -> None:
    start = site.get("/api/v1/events?after=0&limit=500").get_json()["next_after"]
    site.complain()
    everything = site.get(f"/api/v1/events?after={start}").get_json()
    assert [e["type"] for e in everything["items"]] == ["complaint.received"]
    assert everything["items"][0]["data"]["link"].startswith("http://localhost/api/v1/")
    cursor = everything["next_after"]
    assert site.get(f"/api/v1/events?after={cursor}").get_json()["items"] == []
    # a secretary elsewhere in the county does not see 青石镇's complaint
    other = site.get(f"/api/v1/events?after={start}", who="baihe.secretary").get_json()
    assert other["items"] == []
    only = site.get(f"/api/v1/events?after={start}&types=approval.requested").get_json()
    assert only["items"] == []
    bad = site.get("/api/v1/events?types=grading.exploded")
    assert bad.status_code == 422 and "grading.exploded" in json.dumps(bad.get_json())


def test_a_long_poll_returns_within_a_second_of_the_commit(site: Site) -> None:
    cursor = site.get("/api/v1/events?after=0&limit=500").get_json()["next_after"]
    headers = site.headers("admin")

    def later() -> None:
        time.sleep(0.5)
        with unit_of_work(site.factory) as session:
            publicity.file_complaint(session, site.publicity_grading(), "结果不实", None)

    threading.Thread(target=later).start()
    began = time.monotonic()
    reply = site.client.get(f"/api/v1/events?after={cursor}&wait=10", headers=headers)
    took = time.monotonic() - began
    assert [e["type"] for e in reply.get_json()["items"]] == ["complaint.received"]
    assert took < 0.5 + 1.0, took


def _due_in(site: Site, days: int, clock: Clock) -> int:
    """Every stage due far ahead except the survey's, due in `days` (Beijing); returns how many
    gradings are in the survey."""
    today = datetime.fromtimestamp(clock(), UTC).astimezone(calendar.zone()).date()
    with unit_of_work(site.factory) as session:
        session.execute(update(CampaignPhase).values(due_on=today + timedelta(days=400)))
        session.execute(
            update(CampaignPhase)
            .where(CampaignPhase.phase == "survey")
            .values(due_on=today + timedelta(days=days))
        )
        session.execute(update(Grading).values(publicity_ends_on=today + timedelta(days=30)))
        return int(session.scalar(select(func.count()).where(Grading.state == "survey")) or 0)


def test_a_stage_due_in_three_days_gives_one_event_per_grading_however_often_timers_run(
    site: Site,
) -> None:
    clock = Clock()
    surveyed = _due_in(site, 3, clock)
    assert surveyed > 5
    first, second = site.worker(clock), site.worker(clock)
    for worker in (first, second, first):
        worker.timers()
    due_soon = OutboxEvent.type == "campaign.phase_due_soon"
    assert site.count(OutboxEvent, due_soon) == surveyed
    assert site.count(OutboxEvent, OutboxEvent.type == "campaign.phase_overdue") == 0
    clock.advance(timedelta(days=4))  # now overdue: one more each, once
    first.timers()
    second.timers()
    assert site.count(OutboxEvent, OutboxEvent.type == "campaign.phase_overdue") == surveyed


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def test_a_reminder_reaches_the_organizations_contact_by_e_mail(site: Site) -> None:
    mailbox = Mailbox()
    with socket.socket() as probe:  # a free port for the SMTP server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        clock = Clock()
        _due_in(site, 2, clock)
        org = site.org("YC-XL-FH-V06")
        changed = site.client.patch(
            f"/api/v1/organizations/{org}",
            json={"contact_email": "v06@dangjian.example.cn"},
            headers=site.headers("admin") | {"If-Match": '"1"'},
        )
        assert changed.status_code == 200, changed.get_json()
        worker = site.worker(clock, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
        worker.timers()
        worker.timers()  # the same events: no second message
    finally:
        smtp.stop()
    assert [m.rcpt_tos for m in mailbox.messages] == [["v06@dangjian.example.cn"]]
    body = mailbox.messages[0].content.decode()
    assert "Subject: =?utf-8?" in body  # a Chinese subject, encoded


def test_two_workers_deliver_everything_at_least_once_through_a_kill_9(
    site: Site, db_kind: str, tmp_path: Path
) -> None:
    if db_kind != "postgresql":
        pytest.skip("several workers at once is the PostgreSQL deployment")
    receiver = Receiver(delay=0.05)
    try:
        site.subscribe(receiver.url, ["grading.state_changed"])
        org = site.org("YC-XL-QS-V01")
        with unit_of_work(site.factory) as session:
            first_id = (session.scalar(select(func.max(OutboxEvent.id))) or 0) + 1
            for n in range(60):
                outbox.emit(session, "grading.state_changed", f"gradings/{n % 7}", org, {"n": n})
        env = {**os.environ, "DATABASE_URL": site.url, "WORKER_LEASE_SECONDS": "2"}
        env["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.1/32"
        command = [sys.executable, "-m", "service", "worker", "--concurrency", "2"]

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

        workers = [start(), start()]
        deadline = time.monotonic() + 60
        while len(receiver.ids()) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)  # mid-delivery: its leases are left behind
        workers[0].wait()
        workers[0] = start()
        restarted = time.monotonic()
        expected = {str(i) for i in range(first_id, first_id + 60)}
        while not expected <= set(receiver.ids()) and time.monotonic() < deadline:
            time.sleep(0.1)
        # the new worker has started (its SIGTERM handler is set) before it is asked to stop
        time.sleep(max(0.0, restarted + 8 - time.monotonic()))
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(timeout=30) == 0  # a graceful stop
    finally:
        receiver.close()
    assert expected <= set(receiver.ids()), len(expected - set(receiver.ids()))
    assert site.count(WebhookDelivery, WebhookDelivery.status != "delivered") == 0
