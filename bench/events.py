"""Events benchmark (part of `make bench`), on PostgreSQL:

- the sequencer: outbox events numbered (and their deliveries queued) per second;
- webhook deliveries per second from one worker (8 requests in parallel) to a receiver on
  127.0.0.1 that answers 204 at once, Standard Webhooks signatures and all;
- the feed: one page of 100 events read per second.

Audited transitions with the outbox rows they write are measured by bench/run.py (which also
prints the events written per transition).

    BENCH_EVENT_COUNT  events to send (default 2000), each to 8 subscriptions
"""

from __future__ import annotations

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import fresh_database  # noqa: E402
from service import migrate  # noqa: E402
from service.config import Settings  # noqa: E402
from service.context import Actor  # noqa: E402
from service.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from service.events import outbox, webhooks  # noqa: E402
from service.events.models import WebhookDelivery, WebhookSubscription  # noqa: E402
from service.events.worker import Worker  # noqa: E402
from service.organizations import operations as orgs  # noqa: E402

COUNT = int(os.environ.get("BENCH_EVENT_COUNT", "2000"))  # x SUBSCRIPTIONS deliveries
SUBSCRIPTIONS = 8


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    url = fresh_database("grading_bench_events")
    migrate.upgrade(url)
    factory = make_sessionmaker(make_engine(url))
    ThreadingHTTPServer.request_queue_size = 128  # the default 5 drops parallel connections
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # the receiver listens on 127.0.0.1: allowed by name, as an intranet portal's network is
    settings = Settings.from_env(database_url=url, webhook_allowed_networks=("127.0.0.1/32",))
    with unit_of_work(factory) as session:
        root = orgs.create_organization(
            session,
            Actor.system("bench"),
            None,
            {"code": "B", "name": "bench", "kind": "committee"},
        )
        # One subscription takes at most PER_SUBSCRIPTION deliveries a round (a slow receiver
        # holds up only itself): eight portals keep the worker's eight threads busy.
        for k in range(SUBSCRIPTIONS):
            sub = WebhookSubscription(
                name=f"bench {k}",
                url=f"http://127.0.0.1:{server.server_port}/hook/{k}",
                types=[],
                organization_id=root.id,
                secret_wrapped=b"",
                created_by="bench",
            )
            session.add(sub)
            session.flush()
            sub.secret_wrapped = webhooks.wrap(settings.secret_key, webhooks.new_secret(), sub.id)
        root_id = root.id
    with unit_of_work(factory) as session:
        for n in range(COUNT):
            data = {"grading_id": n % 500, "n": n, "link": f"/api/v1/gradings/{n % 500}"}
            outbox.emit(session, "grading.state_changed", f"gradings/{n % 500}", root_id, data)
    worker = Worker(settings, factory, concurrency=8)
    start = time.perf_counter()
    numbered = worker.sequence()
    sequenced = numbered / (time.perf_counter() - start)
    start = time.perf_counter()
    while worker.deliver():
        pass
    delivered_s = time.perf_counter() - start
    with factory() as session:
        delivered = session.scalar(
            select(func.count()).where(WebhookDelivery.status == "delivered")
        )
    worker.pool.shutdown()
    server.shutdown()
    print(f"outbox events sequenced (deliveries queued)   {sequenced:10.0f} events/s")
    print(
        f"webhook deliveries, one worker, 8 in parallel  {(delivered or 0) / delivered_s:10.0f} "
        f"deliveries/s ({delivered} of {COUNT * SUBSCRIPTIONS}, {SUBSCRIPTIONS} subscriptions)"
    )


if __name__ == "__main__":
    main()
