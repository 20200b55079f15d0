"""`python -m service worker`: the process that does what no request waits for.

Each step, in short transactions of its own:
1. numbers newly committed outbox events and queues their webhook deliveries (the sequencer);
2. leases due deliveries (SKIP LOCKED: several workers never take the same one), sends them in
   parallel, and records each outcome (delivered, retried later, or dead);
3. once a minute: the timers (due-soon, overdue, notice periods ended; e-mail reminders when
   SMTP is set), the audit integrator (new events become Merkle leaves) and, when the log has
   grown and its last checkpoint is AUDIT_CHECKPOINT_MINUTES old, a signed checkpoint — so a
   cut tail is never more than a few minutes of events that no tree head (and no witness) saw;
4. once an hour: a signed checkpoint if the last is an hour old, and the purge of what nobody
   needs any more (Idempotency-Keys past IDEMPOTENCY_HOURS, ended rate-limit windows,
   deliveries delivered more than 30 days ago).

Deliveries (1–2) run in one thread and the rest (3–4) in another, so that a slow receiver never
holds up the timers, the audit log or its checkpoints; each delivery has one deadline in all
(WEBHOOK_TIMEOUT_SECONDS), a round takes at most two of one subscription's deliveries, and a
subscription failing five times in a row is left alone for five minutes (its breaker).

Stopping: SIGTERM (or Ctrl-C) lets the current step finish. A worker killed with -9 leaves only
leases, which run out (WORKER_LEASE_SECONDS): another worker, or this one restarted, sends those
deliveries again — at least once, never lost."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from service import calendar
from service.audit import checkpoints, log, signing
from service.config import Settings
from service.context import Actor
from service.db import unit_of_work
from service.events import http, mail, outbox, timers, webhooks
from service.events.models import DeliveryStatus, WebhookDelivery
from service.idempotency.models import IdempotentResponse
from service.publicity.models import RateLimitHit
from service.workdays import operations as workdays

LOG = logging.getLogger("service.worker")
MINUTE, HOUR = 60.0, 3600.0


class Worker:
    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        *,
        clock: Callable[[], float] = time.time,
        base_url: str | None = None,
        concurrency: int = 8,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.clock = clock
        self.base_url = base_url if base_url is not None else (settings.public_base_url or "")
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")
        self.batch = concurrency * 4
        self.last_minute = self.last_hour = float("-inf")
        self.key = signing.load_private_key(settings.audit_signing_key, settings.secret_key)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def today(self) -> date:
        return self.now().astimezone(calendar.zone()).date()

    # --- the steps ----------------------------------------------------------------------------

    def sequence(self) -> int:
        total = 0
        while True:
            with unit_of_work(self.factory) as session:
                done = outbox.sequence(session, now=self.now())
            total += done
            if not done:
                return total

    def deliver(self) -> int:
        """One round: lease, send in parallel, record. Returns the deliveries attempted."""
        lease = timedelta(seconds=self.settings.worker_lease_seconds)
        with unit_of_work(self.factory) as session:
            jobs = webhooks.claim(session, self.now(), lease, self.batch)
        if not jobs:
            return 0
        timeout = self.settings.webhook_timeout_seconds
        ring = self.settings.secret_keys
        allowed = http.networks(self.settings.webhook_allowed_networks)
        outcomes = list(
            self.pool.map(
                lambda job: webhooks.send(job, ring, self.base_url, timeout, self.clock(), allowed),
                jobs,
            )
        )
        with unit_of_work(self.factory) as session:
            for job, outcome in zip(jobs, outcomes, strict=True):
                webhooks.settle(session, job, outcome, self.now())
        return len(jobs)

    def timers(self) -> int:
        with unit_of_work(self.factory) as session:
            reminders = timers.fire(session, self.today())
        try:
            mail.send(self.settings, reminders)
        except OSError as exc:  # the mail server is down: the events stand, log it
            LOG.warning("reminder e-mail failed: %s", exc)
        return len(reminders)

    def integrate(self) -> None:
        with unit_of_work(self.factory) as session:
            head = log.integrate(session)
            latest = log.latest_checkpoint(session)
            every = timedelta(minutes=self.settings.audit_checkpoint_minutes)
            signed = latest.tree_size if latest is not None else 0
            if head.size > signed and (latest is None or latest.created_at <= self.now() - every):
                checkpoints.sign_all(
                    session, Actor.system("worker"), self.key, self.settings.audit_log_origin
                )

    def checkpoint(self) -> None:
        with unit_of_work(self.factory) as session:
            latest = log.latest_checkpoint(session)
            if latest is not None and latest.created_at > self.now() - timedelta(hours=1):
                return
            checkpoints.sign_all(
                session, Actor.system("worker"), self.key, self.settings.audit_log_origin
            )

    def reschedule(self) -> list[int]:
        """Estimated 公示 ends the calendar now knows better (a year entered while another
        process was deciding with what it had read before)."""
        with unit_of_work(self.factory) as session:
            workdays.fresh(session, now=True)
            return workdays.correct_estimates(
                session, Actor.system("worker"), "节假日安排已录入（复核）"
            )

    def purge(self) -> dict[str, int]:
        now = self.now()
        with unit_of_work(self.factory) as session:
            keys = session.execute(
                delete(IdempotentResponse).where(
                    IdempotentResponse.created_at
                    < now - timedelta(hours=self.settings.idempotency_hours)
                )
            )
            windows = session.execute(
                delete(RateLimitHit).where(RateLimitHit.window_start < now.timestamp() - 86400)
            )
            sent = session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.status == DeliveryStatus.DELIVERED,
                    WebhookDelivery.delivered_at < now - timedelta(days=30),
                )
            )
        counts = (keys, windows, sent)
        names = ("idempotency_keys", "rate_limit_windows", "deliveries")
        return {n: int(getattr(c, "rowcount", 0) or 0) for n, c in zip(names, counts, strict=True)}

    def deliveries(self) -> int:
        """What the delivery loop does: sequence the committed events, then one round."""
        return self.sequence() + self.deliver()

    def housekeeping(self) -> int:
        """What the other loop does: the timers and the audit log each minute (and a
        checkpoint when due), the hourly checkpoint and purge."""
        done = 0
        moment = self.clock()
        if moment - self.last_minute >= MINUTE:
            self.last_minute = moment
            done += self.timers()
            self.integrate()
            done += self.sequence()  # the timers' events
        if moment - self.last_hour >= HOUR:
            self.last_hour = moment
            self.checkpoint()
            LOG.info("purged %s", self.purge())
            self.reschedule()
        return done

    def step(self) -> int:
        """One pass of both loops; returns how much it did (0: idle)."""
        return self.deliveries() + self.housekeeping()

    def run(self, stop: threading.Event, idle: float = 0.5) -> None:
        """Two loops in two threads: deliveries apart from the timers, the audit log and the
        checkpoints, so that no receiver, however slow, holds those up."""
        LOG.info("worker started")
        other = threading.Thread(
            target=self._loop, args=(self.housekeeping, stop, idle), name="housekeeping"
        )
        other.start()
        self._loop(self.deliveries, stop, idle)
        other.join()
        self.pool.shutdown(wait=True)
        LOG.info("worker stopped")

    @staticmethod
    def _loop(work: Callable[[], int], stop: threading.Event, idle: float) -> None:
        while not stop.is_set():
            try:
                busy = work()
            except Exception:  # a step that failed is tried again; the worker stays up
                LOG.exception("worker step failed")
                busy = 0
            if not busy:
                stop.wait(idle)
