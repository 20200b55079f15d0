"""`make bench`: audited transitions per second through HTTP (gunicorn, 2 and 4 workers) next to
a bare endpoint doing one INSERT + commit on the same stack, and `audit verify` events per second
next to a raw SELECT + sha256 of the same rows. PostgreSQL only; prints a table.

    BENCH_PG_URL   server to use (default postgresql+psycopg://postgres@127.0.0.1:5432/test)
    BENCH_GRADINGS gradings to spread the load over (default 400)
    BENCH_REQUESTS requests per measurement (default 2000)
    BENCH_CLIENTS  concurrent client threads (default 8)
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service import migrate  # noqa: E402
from service.accounts import operations as accounts  # noqa: E402
from service.accounts.models import Role  # noqa: E402
from service.audit.models import AuditEvent  # noqa: E402
from service.audit.verify import verify  # noqa: E402
from service.campaigns import operations as campaigns  # noqa: E402
from service.config import Settings  # noqa: E402
from service.context import Actor  # noqa: E402
from service.db import make_engine, normalize_url  # noqa: E402
from service.events import outbox  # noqa: E402
from service.events.models import OutboxEvent  # noqa: E402
from service.gradings import enrolment, records  # noqa: E402
from service.gradings.models import Grading  # noqa: E402
from service.lifecycle.workflow import GRADING_WORKFLOW  # noqa: E402
from service.organizations import operations as orgs  # noqa: E402
from service.organizations.models import Organization  # noqa: E402
from service.standards import operations as standards  # noqa: E402
from service.standards.models import LevelScheme  # noqa: E402

PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GRADINGS = int(os.environ.get("BENCH_GRADINGS", "400"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def fresh_database(name: str) -> str:
    admin = create_engine(normalize_url(PG), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    admin.dispose()
    return url


def bench_campaign(session: Session, actor: Actor, committee: Organization) -> tuple[int, int]:
    """A one-indicator village standard and a campaign of `committee` (not opened): their ids."""
    standard = standards.create_standard(
        session,
        actor,
        {
            "domain": "village",
            "name": "七项指标",
            "total_points": Decimal(100),
            "indicators": [{"code": "all", "name": "综合", "max_points": Decimal(100)}],
        },
    )
    scheme = session.scalars(select(LevelScheme).where(LevelScheme.code == "four_levels")).one()
    campaign = campaigns.create_campaign(
        session, actor, committee, {"name": "bench", "year": 2026, "level_scheme_id": scheme.id}
    )
    session.commit()
    return campaign.id, standard.id


def seed(url: str) -> tuple[str, list[int]]:
    """A county with GRADINGS branches in an open campaign, each past its survey."""
    engine = make_engine(url)
    actor = Actor.system("bench")
    with Session(engine, expire_on_commit=False) as s:
        root = orgs.create_organization(
            s, actor, None, {"code": "R", "name": "市委组织部", "kind": "committee"}
        )
        county = orgs.create_organization(
            s, actor, root, {"code": "C", "name": "县委", "kind": "committee"}
        )
        for n in range(GRADINGS):
            orgs.create_organization(
                s,
                actor,
                county,
                {
                    "code": f"C-{n:05d}",
                    "name": f"{n}村党支部",
                    "kind": "branch",
                    "domain": "village",
                },
            )
        standard = standards.create_standard(
            s,
            actor,
            {
                "domain": "village",
                "name": "七项指标",
                "total_points": Decimal(100),
                "indicators": [
                    {"code": f"i{k}", "name": f"指标{k}", "max_points": Decimal(p)}
                    for k, p in enumerate([15, 10, 10, 10, 10, 20, 25])
                ],
            },
        )
        scheme = s.scalars(select(LevelScheme).where(LevelScheme.code == "four_levels")).one()
        from datetime import date

        campaign = campaigns.create_campaign(
            s,
            actor,
            county,
            {
                "name": "bench",
                "year": 2026,
                "level_scheme_id": scheme.id,
                "standards": [{"domain": "village", "standard_id": standard.id}],
                "phases": [{"phase": "survey", "due_on": date(2026, 12, 31)}],
                "sources": [{"source": "superior", "weight": Decimal(100)}],
            },
        )
        enrolment.open_campaign(s, actor, campaign)
        gradings = s.scalars(select(Grading).order_by(Grading.id)).all()
        for grading in gradings:
            records.write(s, actor, grading, "survey_entry", {"households": 1})
        reviewer = accounts.create_account(
            s, actor, username="bench.reviewer", display_name="r", organization=county
        )
        accounts.grant_role(s, actor, reviewer, Role.REVIEWER, county)
        _, token = accounts.issue_token(
            s, actor, reviewer, name="bench", lifetime=timedelta(days=1)
        )
        s.execute(text("CREATE TABLE bench_bare (id bigserial PRIMARY KEY, payload text NOT NULL)"))
        s.commit()
        ids = [g.id for g in gradings]
    engine.dispose()
    return token, ids


def ballot_session(
    url: str, grading_ids: list[int], issued: int
) -> tuple[list[str], list[dict[str, object]]]:
    """An open ballot session over `grading_ids` with `issued` codes; returns codes and answers."""
    from service.ballots import operations as ballots
    from service.ballots.models import BallotCode
    from service.campaigns.models import Campaign
    from service.organizations.models import Organization

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        gradings = [s.get_one(Grading, gid) for gid in grading_ids]
        for grading in gradings:  # through the engine, without the guards: a bench setting up
            if grading.state == "survey":
                GRADING_WORKFLOW.apply(grading, "open_self_rating")
            if grading.state == "self_rating":
                GRADING_WORKFLOW.apply(grading, "submit_self_rating")
        pairs = [(g, s.get_one(Organization, g.organization_id)) for g in gradings]
        per_branch = -(-issued // len(pairs))  # a roll (应到) the codes are issued to
        for _, org in pairs:
            roll = {"full_members": per_branch, "probationary_members": 0}
            orgs.update_organization(s, Actor.system("bench"), org, roll)
        campaign = s.get_one(Campaign, gradings[0].campaign_id)
        session = ballots.open_session(
            s,
            Actor.system("bench"),
            campaign,
            pairs,
            {"title": "bench", "categories": [{"code": "members", "issued": issued}]},
            box_secret=Settings.from_env().box_secret,
        )
        s.commit()
        codes = list(s.scalars(select(BallotCode.code).where(BallotCode.session_id == session.id)))
    engine.dispose()
    answers: list[dict[str, object]] = [{"grading_id": gid, "level": "good"} for gid in grading_ids]
    return codes, answers


@contextmanager
def gunicorn(app: str, workers: int, port: int, url: str, **extra_env: str) -> Iterator[None]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "DEVELOPMENT": "1"}
    env |= extra_env
    log = open(f"/tmp/bench-gunicorn-{port}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            GUNICORN,
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            app,
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/v1/health")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def load(
    port: int, requests: list[tuple[str, str, dict[str, str]]]
) -> tuple[float, dict[int, int]]:
    """Send the requests from CLIENTS threads (each its own keep-alive connection)."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [requests[i::CLIENTS] for i in range(CLIENTS)]

    def worker(chunk: list[tuple[str, str, dict[str, str]]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for path, body, headers in chunk:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.getheader("Connection") == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, statuses


def transition_requests(
    token: str, ids: list[int], count: int, phase: dict[int, bool]
) -> list[tuple[str, str, dict[str, str]]]:
    """Each grading toggles survey ⇄ self_rating; one thread owns each grading, so no conflicts."""
    out = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    per_client: list[list[int]] = [ids[i::CLIENTS] for i in range(CLIENTS)]
    cursors = [0] * CLIENTS
    for n in range(count):
        client = n % CLIENTS
        mine = per_client[client]
        gid = mine[cursors[client] % len(mine)]
        cursors[client] += 1
        forward = not phase.get(gid, False)
        phase[gid] = forward
        body = (
            {"transition": "open_self_rating"}
            if forward
            else {"transition": "return_to_survey", "reason": "bench"}
        )
        out.append((f"/api/v1/gradings/{gid}/transitions", json.dumps(body), headers))
    # request n belongs to client n % CLIENTS: load() gives client i exactly requests[i::CLIENTS]
    return out


def ballot_requests(
    sessions: list[tuple[list[str], list[dict[str, object]]]], count: int
) -> list[tuple[str, str, dict[str, str]]]:
    """`count` ballots, taken from the sessions in turn (each session's codes used once)."""
    out = []
    for n in range(count):
        codes, answers = sessions[n % len(sessions)]
        body = json.dumps({"code": codes.pop(), "answers": answers})
        out.append(("/api/v1/ballots", body, {"Content-Type": "application/json"}))
    return out


def ballots(url: str, ids: list[int]) -> list[tuple[str, float, dict[int, int]]]:
    """Accepted ballots per second, each rating 20 branches: one session, and ten at once.
    The per-client limit is lifted (every bench client is 127.0.0.1): this measures the box."""
    per_run = REQUESTS + 200
    one = [ballot_session(url, ids[:20], 2 * per_run)]
    ten = [
        ballot_session(url, ids[20 * k : 20 * k + 20], 2 * per_run // 10 + 1) for k in range(1, 11)
    ]
    rows = []
    for label, sessions in (("one session", one), ("ten sessions at once", ten)):
        for workers in (2, 4):
            with gunicorn("service.wsgi:app", workers, 8103, url, BALLOT_LIMIT="100000000"):
                requests = ballot_requests(sessions, per_run)
                load(8103, requests[:200])
                elapsed, statuses = load(8103, requests[200:])
            rate = statuses.get(201, 0) / elapsed
            rows.append((f"accepted ballot, {label}, -w {workers}", rate, statuses))
    return rows


def main() -> None:
    url = fresh_database("grading_bench")
    migrate.upgrade(url)
    token, ids = seed(url)
    print(
        f"machine: {os.cpu_count()} cores; {len(ids)} gradings; {REQUESTS} requests per run; "
        f"{CLIENTS} client threads on the same machine\n"
    )
    rows = []
    phase: dict[int, bool] = {}
    for workers in (2, 4):
        with gunicorn("service.wsgi:app", workers, 8101, url):
            load(8101, transition_requests(token, ids, 200, phase))  # warm-up
            elapsed, statuses = load(8101, transition_requests(token, ids, REQUESTS, phase))
        ok = statuses.get(200, 0)
        rows.append((f"audited transition, gunicorn -w {workers}", ok / elapsed, statuses))
        with gunicorn("bench.bare_app:app", workers, 8102, url):
            bare = [("/bare", "{}", {"Content-Type": "application/json"})] * REQUESTS
            load(8102, bare[:200])
            elapsed, statuses = load(8102, bare)
        rows.append(
            (
                f"bare INSERT + commit, gunicorn -w {workers}",
                statuses.get(200, 0) / elapsed,
                statuses,
            )
        )
    rows += ballots(url, ids)
    for name, rate, statuses in rows:
        print(f"{name:<42} {rate:8.1f} req/s   statuses {statuses}")

    engine = make_engine(url)
    with Session(engine) as s:
        events = s.scalar(select(text("count(*)")).select_from(AuditEvent.__table__))
        start = time.perf_counter()
        report = verify(s)
        verify_s = time.perf_counter() - start
        start = time.perf_counter()
        n = 0
        for row in s.execute(select(AuditEvent.__table__)).yield_per(2000):
            hashlib.sha256(repr(tuple(row)).encode()).hexdigest()
            n += 1
        raw_s = time.perf_counter() - start
    engine.dispose()
    print(
        f"\naudit verify: {report.events} events in {verify_s:.2f} s = "
        f"{report.events / verify_s:,.0f} events/s "
        f"({'intact' if report.intact else 'DAMAGED'}; {report.chains} chains)"
    )
    print(f"raw SELECT + sha256 of the same {n} rows: {raw_s:.2f} s = {n / raw_s:,.0f} rows/s")
    assert events == report.events
    with Session(engine) as s:
        written = s.scalar(select(func.count()).select_from(OutboxEvent))
        moved = s.scalar(select(func.count()).where(OutboxEvent.type == "grading.state_changed"))
    engine.dispose()
    print(
        f"outbox: {written} portal events written in the same transactions "
        f"({moved} grading.state_changed: one per transition)"
    )


if __name__ == "__main__":
    outbox.install()  # as the app does: portal events beside audit events
    main()
