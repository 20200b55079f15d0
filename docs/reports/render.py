"""`make report-pictures`: the demo county's 汇总表 and 明细表 as a clerk would print them.

Builds the demo in a temporary SQLite database, grades 凤凰镇's 21 branches (sheets scored on
the reference standard, levels 5 好 / 11 较好 / 4 一般 / 1 较差, under publicity: provisional),
writes both reports as xlsx, prints them to PDF with LibreOffice (`soffice --headless`) and
turns the first page of each into a PNG with poppler's `pdftoppm` — the pictures in the README.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from service import demo, migrate  # noqa: E402
from service.campaigns.models import Campaign  # noqa: E402
from service.context import Actor  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.gradings.models import Grading  # noqa: E402
from service.organizations.models import Organization  # noqa: E402
from service.records import operations as records  # noqa: E402
from service.reports import formats, queries  # noqa: E402
from service.standards.models import Standard  # noqa: E402
from service.workflows.grading import GRADING_WORKFLOW  # noqa: E402

LEVELS = ["good"] * 5 + ["fairly_good"] * 11 + ["average"] * 4 + ["poor"]
SHARE = {"good": Decimal("0.93"), "fairly_good": Decimal("0.85"), "average": Decimal("0.72")}


def _sheet(standard: Standard, share: Decimal) -> dict[str, object]:
    scores = []
    for indicator in standard.indicators:
        score = (indicator.max_points * share).quantize(Decimal("0.01"))
        entry: dict[str, object] = {"indicator": indicator.code, "score": score}
        if indicator.sub_items:
            parts = [(s.max_points * share).quantize(Decimal("0.01")) for s in indicator.sub_items]
            entry = {
                "indicator": indicator.code,
                "sub_items": [
                    {"code": s.code, "score": p}
                    for s, p in zip(indicator.sub_items, parts, strict=True)
                ],
            }
            score = sum(parts, Decimal(0))
        scores.append((entry, score))
    total = sum((s for _, s in scores), Decimal(0))
    return {
        "scores": [e for e, _ in scores],
        "adjustments": [],
        "totals": {"indicators": total, "bonus": 0, "deduction": 0, "total": total},
    }


def grade_the_township(db: Session) -> Campaign:
    actor = Actor.system("render")
    campaign = db.scalars(select(Campaign)).one()
    town = db.scalars(select(Organization).where(Organization.code == "YC-XL-FH")).one()
    gradings = db.scalars(
        select(Grading)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Organization.parent_id == town.id)
        .order_by(Organization.path)
    ).all()
    for grading, level in zip(gradings, LEVELS, strict=True):
        standard = db.get_one(Standard, grading.standard_id)
        share = SHARE.get(level, Decimal("0.55"))
        for name in ("open_self_rating", "submit_self_rating", "close_evaluation"):
            GRADING_WORKFLOW.apply(grading, name)  # a picture's data, not a test of the guards
        for record_type in ("self_rating", "assessment"):
            records.write(db, actor, grading, record_type, _sheet(standard, share))
        GRADING_WORKFLOW.apply(grading, "decide")
        grading.level = level
        composite = (Decimal(100) * share).quantize(Decimal("0.01"))
        records.write(
            db,
            actor,
            grading,
            "decision",
            {"level": level, "computed_level": level, "composite": composite},
        )
    db.commit()
    return campaign


def render(xlsx: Path, png: Path, workdir: Path) -> None:
    subprocess.run(
        [
            "soffice",
            "--headless",
            f"-env:UserInstallation=file://{workdir}/profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(workdir),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
    )
    pdf = workdir / f"{xlsx.stem}.pdf"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(png)],
        check=True,
    )


def main() -> None:
    for tool in ("soffice", "pdftoppm"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install libreoffice-calc-nogui poppler-utils")
    out = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work}/render.db"
        migrate.upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as db:
            demo.load(db, year=2026)
            db.commit()
            campaign = grade_the_township(db)
            county = db.get_one(Organization, campaign.organization_id)
            summary = queries.summary(db, campaign, county, provisional=True)
            header, rows = formats.summary_table(summary)
            files = {
                "summary": formats.report_xlsx(
                    "summary", campaign, county, header, rows, provisional=True
                )
            }
            columns = queries.detail_columns(db, campaign)
            detail = [
                [row.get(k) for k, _ in columns]
                for row in queries.detail_rows(db, campaign, county, provisional=True)
            ]
            files["detail"] = formats.report_xlsx(
                "detail", campaign, county, [h for _, h in columns], detail, provisional=True
            )
        engine.dispose()
        for kind, data in files.items():
            xlsx = work / f"{kind}.xlsx"
            xlsx.write_bytes(data)
            render(xlsx, out / kind, work)
            print(f"wrote {out / kind}.png")


if __name__ == "__main__":
    main()
