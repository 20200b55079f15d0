"""The deployment as a county would copy it: gunicorn with deploy/gunicorn.conf.py (two
processes, metrics added up across them) and the backup runbook (dump, restore into a new
database, audit verify)."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bench import peers_ab
from service.db import make_engine
from tests.conftest import _pg_admin_engine

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def processes(tmp: Path) -> set[str]:
    """The gunicorn processes that have counted something (one file each)."""
    return {p.name.split("_")[-1] for p in (tmp / "metrics").glob("counter_*.db")}


@contextmanager
def gunicorn(database_url: str, env: dict[str, str], *args: str) -> Iterator[str]:
    """gunicorn with deploy/gunicorn.conf.py on a free port, started and live; its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            *("-c", "deploy/gunicorn.conf.py", *args),
            "service.wsgi:app",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "BIND": f"127.0.0.1:{port}",
            "DEVELOPMENT": "1",  # the signing key is derived: this is a test
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/health/live", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_metrics_add_up_the_requests_of_two_gunicorn_workers(
    copy: str,
    tmp_path: Path,
) -> None:
    env = {
        "WEB_CONCURRENCY": "2",
        "THREADS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "SECRET_KEY": "a-production-like-secret-for-the-test",
        "AUDIT_SIGNING_KEY": "",
    }
    # sync workers (instead of the config's gthread): a busy process accepts nothing more, so
    # concurrent requests reach both
    with gunicorn(copy, env, "-k", "sync") as base:
        ready = f"{base}/api/v1/health/ready"
        sent = 0
        with ThreadPoolExecutor(8) as pool:  # until both processes have answered some
            # (at least one round: the start-up probe may have reached both already)
            while sent == 0 or (len(processes(tmp_path)) < 2 and sent < 2000):
                list(pool.map(lambda _: urllib.request.urlopen(ready).read(), range(40)))
                sent += 40
        exposed = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
    counted = re.findall(
        r'grading_http_requests_total\{method="GET",route="/api/v1/health/(live|ready)",'
        r'status="200"\} ([0-9.]+)',
        exposed,
    )
    counts = {route: float(n) for route, n in counted}
    # the start-up probe (gunicorn() above) asks /live until it answers: once, or again when
    # a busy machine answered after the probe's timeout
    assert counts.get("ready") == sent and counts.get("live", 0) >= 1, exposed[:2000]
    assert "grading_http_request_duration_seconds_bucket" in exposed
    assert re.search(r"^grading_approvals_pending [0-9.]+$", exposed, re.M)
    assert len(processes(tmp_path)) >= 2  # both workers answered and were added up


def test_the_backup_runbook_restores_a_copy_that_verifies(
    copy: str,
    db_kind: str,
    tmp_path: Path,
    request: Any,
) -> None:
    if db_kind != "postgresql":
        pytest.skip("the runbook is for the production database, PostgreSQL")
    dump = tmp_path / "grading.dump"
    backup = subprocess.run(
        [str(ROOT / "deploy/backup.sh"), str(dump)],
        env={**os.environ, "DATABASE_URL": copy},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert backup.returncode == 0, backup.stderr
    assert dump.stat().st_size > 10_000
    source = make_engine(copy).url
    restored = source.set(database=f"{source.database}_restored")
    target = restored.render_as_string(hide_password=False)
    try:
        done = subprocess.run(
            [str(ROOT / "deploy/restore.sh"), str(dump), target],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ready: " in done.stdout and "intact:" in done.stdout
    finally:
        admin = _pg_admin_engine(request.config.getoption("--pg-url"))
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restored.database}" WITH (FORCE)'))
        admin.dispose()


def test_gunicorns_own_refusals_are_problem_json(copy: str) -> None:
    """A request line or headers too long never reach the app: gunicorn answers them, and with
    deploy/gunicorn.conf.py in problem+json like the service."""
    with gunicorn(copy, {"WEB_CONCURRENCY": "1"}) as base:
        port = int(base.rsplit(":", 1)[1])
        for path, headers, status, kind in (
            ("/api/v1/gradings?" + "x" * 9000, {}, 414, "uri-too-long"),
            ("/api/v1/health/live", {"X-Big": "y" * 9000}, 431, "header-fields-too-large"),
        ):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers=headers)
            answer = conn.getresponse()
            body = json.loads(answer.read())
            conn.close()
            assert answer.status == status, body
            assert answer.getheader("Content-Type") == "application/problem+json"
            assert body["type"] == f"/problems/{kind}" and body["status"] == status


def test_the_side_by_side_benchmark_runs_each_checkout_as_the_peers_run_the_project(
    tmp_path: Path,
) -> None:
    """bench/peers_ab.py: the harness's own `service` target, once per checkout, next to
    fsmlog; nothing else of the target changed."""
    harness = tmp_path / "peers"
    harness.mkdir()
    (harness / "targets.toml").write_text(
        "# One [[target]] per server\n"
        '[[target]]\nname = "bare_flask"\ndir = "bare_flask"\n'
        '[[target]]\nname = "fsmlog"\ndir = "fsmlog"\ndb = "peers_fsmlog"\n'
        '[[target]]\nname = "service"\ndir = "$PEERS_PROJECT"\ndb = "peers_service"\n'
        'setup = ["x {work}/service.token"]\ntoken_file = "{work}/service.token"\n'
        'path = "/api/v1/gradings/{id}/transitions"\n',
        encoding="utf-8",
    )
    written = peers_ab.config(harness, {"old": Path("/a"), "new": Path("/b")})
    targets = tomllib.loads(written)["target"]
    assert [t["name"] for t in targets] == ["fsmlog", "old", "new"]
    assert targets[0]["dir"] == str(harness / "fsmlog")
    assert [(t["dir"], t["db"], t["token_file"]) for t in targets[1:]] == [
        ("/a", "peers_old", "{work}/old.token"),
        ("/b", "peers_new", "{work}/new.token"),
    ]
    assert targets[1]["path"] == targets[2]["path"] == "/api/v1/gradings/{id}/transitions"
