"""Merkle-log benchmark (part of `make bench`), on PostgreSQL: BENCH_EVENTS audit events (default
1,000,000) spread over BENCH_CHAINS chains (default 200,000, a province's organizations) are
written with correct chain hashes, then

- integrating them into the Merkle log (events/s),
- an inclusion proof and a consistency proof (ms, the median of 200),
- the checkpoint's size next to the chain-heads checkpoint's (bytes),
- verifying the whole log (chains + Merkle, events/s) next to a raw SELECT + SHA-256 of the
  same rows.

Every event is a transition of one of BENCH_CHAINS gradings (one per organization), and those
organizations and gradings are in their tables in the state the trail tells, so the verification
replays real stories and finds the database intact — as an inspector's would.
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import bench_campaign, fresh_database  # noqa: E402
from service import migrate  # noqa: E402
from service.audit import checkpoints, log, signing  # noqa: E402
from service.audit.canonical import GENESIS, event_hash  # noqa: E402
from service.audit.models import AuditEvent, ChainHead  # noqa: E402
from service.context import Actor  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.events import outbox  # noqa: E402
from service.gradings.models import Grading  # noqa: E402
from service.organizations import operations as orgs  # noqa: E402
from service.organizations.models import Organization  # noqa: E402
from service.verification import inspection  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
CHAINS = int(os.environ.get("BENCH_CHAINS", "200000"))
ORIGIN = "bench/audit-log"


class Row:
    """An event's hashed fields, as event_hash reads them."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


def subjects(url: str) -> None:
    """The organizations and gradings the events tell of: a root committee with BENCH_CHAINS - 1
    branches, a campaign, and grading n of organization n in the state its last event left."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        actor = Actor.system("bench")
        root = orgs.create_organization(
            session, actor, None, {"code": "ROOT", "name": "省委组织部", "kind": "committee"}
        )
        campaign_id, standard_id = bench_campaign(session, actor, root)
        root_id, root_path = root.id, root.path
    rows = [
        {
            "id": n,
            "code": f"B{n}",
            "name": f"组织{n}",
            "kind": "branch",
            "domain": "village",
            "member_count": 20,
            "status": "active",
            "parent_id": root_id,
            "path": f"{root_path}{n}/",
            "depth": 1,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(root_id + 1, CHAINS + 1)
    ]
    with engine.begin() as conn:
        for i in range(0, len(rows), 10000):
            conn.execute(insert(Organization.__table__), rows[i : i + 10000])
        conn.execute(
            text("SELECT setval('organizations_id_seq', (SELECT max(id) FROM organizations))")
        )
        for i in range(1, CHAINS + 1, 10000):
            conn.execute(
                insert(Grading.__table__),
                [
                    {
                        "id": n,
                        "campaign_id": campaign_id,
                        "organization_id": n,
                        "standard_id": standard_id,
                        "state": "self_rating",
                        "version": 1,
                        "enrolled_at": now,
                        "state_entered_at": now,
                    }
                    for n in range(i, min(i + 10000, CHAINS + 1))
                ],
            )
        conn.execute(text("SELECT setval('gradings_id_seq', (SELECT max(id) FROM gradings))"))
    engine.dispose()


def generate(url: str) -> None:
    """EVENTS transitions over the CHAINS organizations' chains, continuing each chain from its
    head (the set-up's own events are on the root's chain)."""
    engine = make_engine(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[dict[str, object]] = []
    with Session(engine) as session:
        heads: dict[str, tuple[int, str]] = {
            k: (seq, h)
            for k, seq, h in session.execute(
                select(ChainHead.chain_key, ChainHead.seq, ChainHead.hash)
            )
        }
        existing = set(heads)
        for n in range(EVENTS):
            key = f"org:{n % CHAINS + 1}"
            seq, prev = heads.get(key, (0, GENESIS))
            fields = {
                "chain_key": key,
                "chain_seq": seq + 1,
                "prev_hash": prev,
                "occurred_at": start + timedelta(seconds=n),
                "actor_account_id": None,
                "actor_username": "bench",
                "actor_role": "system",
                "token_id": None,
                "client_ip": None,
                "request_id": None,
                "action": "grading.transition",
                "entity_type": "grading",
                "entity_id": str(n % CHAINS + 1),
                "organization_id": n % CHAINS + 1,
                "before": {"state": "survey"},
                "after": {"state": "self_rating"},
                "reason": None,
            }
            digest = event_hash(Row(**fields))
            heads[key] = (seq + 1, digest)
            batch.append({**fields, "hash": digest})
            if len(batch) == 20000:
                session.execute(insert(AuditEvent), batch)
                session.commit()
                batch = []
        if batch:
            session.execute(insert(AuditEvent), batch)
        session.execute(
            insert(ChainHead),
            [
                {"chain_key": k, "seq": s, "hash": h}
                for k, (s, h) in heads.items()
                if k not in existing
            ],
        )
        for k in existing:
            seq, digest = heads[k]
            session.execute(
                update(ChainHead).where(ChainHead.chain_key == k).values(seq=seq, hash=digest)
            )
        session.commit()
    engine.dispose()


def main() -> None:
    url = fresh_database("grading_bench_log")
    migrate.upgrade(url)
    started = time.perf_counter()
    subjects(url)
    generate(url)
    print(
        f"generated {EVENTS:,} events in {CHAINS:,} chains in {time.perf_counter() - started:.1f} s"
    )
    engine = make_engine(url)
    key = signing.load_private_key(None, "bench")
    with Session(engine) as session:
        started = time.perf_counter()
        head = log.integrate(session)
        session.commit()
        took = time.perf_counter() - started
        print(f"integrated {head.size:,} events in {took:.1f} s = {head.size / took:,.0f} events/s")
        rng = random.Random(1)
        inclusion, consistency = [], []
        ids = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        for _ in range(200):
            t = time.perf_counter()
            log.inclusion(session, rng.choice(ids), head.size)
            inclusion.append((time.perf_counter() - t) * 1000)
            first = rng.randrange(1, head.size)
            t = time.perf_counter()
            log.consistency(session, first, head.size)
            consistency.append((time.perf_counter() - t) * 1000)
        print(
            f"inclusion proof: {statistics.median(inclusion):.2f} ms; consistency proof: "
            f"{statistics.median(consistency):.2f} ms (medians of 200, tree of {head.size:,})"
        )
        exported = checkpoints.sign_all(session, Actor.system("bench"), key, ORIGIN)
        session.commit()
        print(
            f"checkpoint: the signed note is {len(exported['note'].encode()):,} bytes; the "
            f"chain heads of {CHAINS:,} organizations are "
            f"{len(exported['payload'].encode()):,} bytes"
        )
        started = time.perf_counter()
        report = inspection.check(session, key, ORIGIN)
        took = time.perf_counter() - started
        print(
            f"verify (chains + Merkle log + checkpoints): {report.events:,} events in {took:.1f} s "
            f"= {report.events / took:,.0f} events/s; {report.summary()[:60]}"
        )
        started = time.perf_counter()
        rows = 0
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(
                text("SELECT * FROM audit_events")
            )
            for row in result:
                hashlib.sha256(repr(tuple(row)).encode()).digest()
                rows += 1
        took = time.perf_counter() - started
        print(
            f"raw SELECT + SHA-256 of the same rows: {rows:,} in {took:.1f} s = "
            f"{rows / took:,.0f} rows/s"
        )
    engine.dispose()


if __name__ == "__main__":
    outbox.install()  # as the app does: portal events beside audit events
    main()
