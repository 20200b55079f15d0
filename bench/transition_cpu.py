"""CPU per audited transition, in-process: the WSGI app called directly (no server, no client
process), so the number is this process's own work — what a change to the hot path saves,
without the noise of wrk, gunicorn and PostgreSQL sharing the cores. PostgreSQL only.

    python bench/transition_cpu.py [N] [--profile]

N transitions (a multiple of BENCH_GRADINGS, default 2000) three times; the best is printed.
--profile adds one cProfile run (process time) and prints the share of each package.
Compare two commits by running this in a worktree of each, alternately: the machine drifts.
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import GRADINGS, fresh_database, seed  # noqa: E402
from service import migrate  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402

BODIES = (
    json.dumps({"transition": "open_self_rating"}).encode(),
    json.dumps({"transition": "return_to_survey", "reason": "bench"}).encode(),
)


def environ(token: str, grading_id: int, body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": f"/api/v1/gradings/{grading_id}/transitions",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


class _Statuses(list[str]):
    def append_start(self, status: str, _headers: Iterable[Any], _exc: Any = None) -> None:
        self.append(status)


class Driver:
    """Each grading alternates open_self_rating / return_to_survey, as the peers' load does."""

    def __init__(self, app: Any, token: str, ids: list[int]) -> None:
        self.app, self.token, self.ids = app, token, ids
        self.sent = 0

    def run(self, count: int) -> None:
        status = _Statuses()
        for _ in range(count):
            grading_id = self.ids[self.sent % len(self.ids)]
            body = BODIES[(self.sent // len(self.ids)) % 2]
            answer = self.app(environ(self.token, grading_id, body), status.append_start)
            data = b"".join(answer)
            if not status[-1].startswith("200"):
                raise SystemExit(f"grading {grading_id}: {status[-1]} {data[:300]!r}")
            self.sent += 1


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    own: Counter[str] = Counter()
    for (path, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in path:
            name = path.split("site-packages/")[1].split("/")[0]
        elif f"{ROOT}/service/" in path:
            name = "service/" + path.split(f"{ROOT}/service/")[1].split("/")[0]
        elif path.startswith(("~", "<")):
            name = "built-ins"
        else:
            name = "stdlib " + path.rsplit("/", 1)[-1]
        own[name] += tottime
    total = sum(own.values())
    return [(name, share / total) for name, share in own.most_common(15)]


def main() -> None:
    count = next((int(a) for a in sys.argv[1:] if a.isdigit()), 2000)
    if count % GRADINGS:
        raise SystemExit(f"N must be a multiple of BENCH_GRADINGS ({GRADINGS})")
    url = fresh_database("grading_bench_cpu")
    migrate.upgrade(url)
    token, ids = seed(url)
    os.environ["DATABASE_URL"] = url
    app = create_app(Settings.from_env())
    logging.getLogger().handlers[0].stream = open(os.devnull, "w")  # noqa: SIM115 (formatted, not shown)
    driver = Driver(app, token, ids)
    driver.run(len(ids))  # warm: every grading once
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        driver.run(count)
        best = min(best, (time.process_time() - started) / count)
    print(f"{best * 1000:.3f} ms CPU per audited transition (best of 3 x {count}, in-process)")
    if "--profile" in sys.argv:
        profile = cProfile.Profile(time.process_time)
        profile.runcall(driver.run, count)
        for name, share in by_package(pstats.Stats(profile)):
            print(f"  {share * 100:5.1f} %  {name}")


if __name__ == "__main__":
    main()
