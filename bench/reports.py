"""Report benchmark (part of `make bench`): a province-sized tree on PostgreSQL, then the summary
report next to a raw SQL GROUP BY over the same data, and the xlsx detail export of 50,000 rows
(time and peak Python memory).

    BENCH_ORGS   organizations to generate (default 200000)
"""

from __future__ import annotations

import itertools
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import bench_campaign, fresh_database  # noqa: E402
from service import migrate  # noqa: E402
from service.campaigns.models import Campaign  # noqa: E402
from service.context import Actor  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.events import outbox  # noqa: E402
from service.gradings.models import Grading  # noqa: E402
from service.organizations.models import Organization  # noqa: E402
from service.reports import formats, queries  # noqa: E402

ORGS = int(os.environ.get("BENCH_ORGS", "200000"))
LEVELS = ["good", "fairly_good", "fairly_good", "average", "average", "poor"]


def generate(url: str) -> tuple[int, int]:
    """root → 20 counties → townships of ~200 branches; every branch graded and rated."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    counties, per_township = 20, 200
    townships = max(1, (ORGS - 1 - counties) // (per_township + 1))
    rows, next_id = [], 1

    def org(parent_path: str, kind: str, depth: int, domain: str | None = None) -> str:
        nonlocal next_id
        oid = next_id
        next_id += 1
        path = f"{parent_path}{oid}/"
        rows.append(
            {
                "id": oid,
                "code": f"B{oid}",
                "name": f"组织{oid}",
                "kind": kind,
                "domain": domain,
                "member_count": 20,
                "status": "active",
                "parent_id": int(parent_path.strip("/").split("/")[-1])
                if parent_path != "/"
                else None,
                "path": path,
                "depth": depth,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "coordination_area": f"协作区{oid % 7}",
            }
        )
        return path

    root = org("/", "committee", 0)
    county_paths = [org(root, "committee", 1) for _ in range(counties)]
    branch_ids = []
    for t in range(townships):
        town = org(county_paths[t % counties], "committee", 2)
        for _ in range(per_township):
            org(town, "branch", 3, "village")
            branch_ids.append(next_id - 1)
    with engine.begin() as conn:
        for i in range(0, len(rows), 10000):
            conn.execute(insert(Organization.__table__), rows[i : i + 10000])
        conn.execute(
            text("SELECT setval('organizations_id_seq', (SELECT max(id) FROM organizations))")
        )
    with Session(engine) as session:
        root = session.get_one(Organization, 1)
        campaign_id, standard_id = bench_campaign(session, Actor.system("bench"), root)
    with engine.begin() as conn:
        for i in range(0, len(branch_ids), 10000):
            conn.execute(
                insert(Grading.__table__),
                [
                    {
                        "campaign_id": campaign_id,
                        "organization_id": b,
                        "standard_id": standard_id,
                        "state": "rated",
                        "level": LEVELS[b % len(LEVELS)],
                        "version": 1,
                        "enrolled_at": now,
                        "state_entered_at": now,
                    }
                    for b in branch_ids[i : i + 10000]
                ],
            )
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return len(rows), len(branch_ids)


def main() -> None:
    url = fresh_database("grading_bench_reports")
    migrate.upgrade(url)
    start = time.perf_counter()
    orgs, gradings = generate(url)
    print(
        f"\nreports: generated {orgs:,} organizations and {gradings:,} rated gradings "
        f"in {time.perf_counter() - start:.1f} s"
    )
    engine = make_engine(url)
    with Session(engine) as session:
        campaign = session.get_one(Campaign, 1)
        root = session.get_one(Organization, 1)
        raw_sql = text(
            "SELECT o.parent_id, g.level, count(*) FROM gradings g "
            "JOIN organizations o ON o.id = g.organization_id GROUP BY 1, 2"
        )
        # Each once to warm the caches (the table pages, the statement compiled), then the best
        # of three: the first run of whichever goes first is not what a user meets.
        report = queries.summary(session, campaign, root, False)
        raw = session.execute(raw_sql).all()
        summary_s = raw_s = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            report = queries.summary(session, campaign, root, False)
            summary_s = min(summary_s, time.perf_counter() - start)
            start = time.perf_counter()
            raw = session.execute(raw_sql).all()
            raw_s = min(raw_s, time.perf_counter() - start)
        assert report["total"]["total"] == gradings
        print(
            f"summary report (units {len(report['rows'])}, 领域, 协作区): {summary_s:.2f} s; "
            f"raw SQL GROUP BY over the same rows ({len(raw)} groups): {raw_s:.2f} s "
            f"({summary_s / raw_s:.1f}×; best of 3 after a warm-up)"
        )
        county = session.scalars(select(Organization).where(Organization.depth == 1)).first()
        assert county is not None
        columns = queries.detail_columns(session, campaign)
        keys = [k for k, _ in columns]
        header = [h for _, h in columns]

        def rows() -> object:
            return (
                [r.get(k) for k in keys]
                for r in itertools.islice(
                    queries.detail_rows(session, campaign, root, False), 50_000
                )
            )

        start = time.perf_counter()
        data = formats.xlsx_bytes("bench", header, rows(), sheet_name="明细表", footer="bench")  # type: ignore[arg-type]
        xlsx_s = time.perf_counter() - start
        tracemalloc.start()  # a second pass, traced (tracing slows it down, so it is not timed)
        formats.xlsx_bytes("bench", header, rows(), sheet_name="明细表", footer="bench")  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"xlsx detail export, 50,000 rows: {xlsx_s:.2f} s, {len(data) / 1e6:.1f} MB file, "
            f"peak Python memory {peak / 1e6:.1f} MB"
        )
    engine.dispose()


if __name__ == "__main__":
    outbox.install()  # as the app does: portal events beside audit events
    main()
