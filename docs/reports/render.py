"""`make report-pictures`: the papers the demo county prints, as a clerk would print them.

Builds the demo in a temporary SQLite database (with its staged examples: 青石镇 under
publicity, the school's ballot meeting open), grades 凤凰镇's 21 branches (sheets scored on the
reference standard, levels 5 好 / 11 较好 / 4 一般 / 1 较差, under publicity: provisional), and
prints — every page turned into a PNG with poppler's `pdftoppm`, the pictures in the README:

* the 汇总表 and the 明细表 (in its parts) as xlsx, printed to PDF by LibreOffice;
* the ballot meeting's card sheets, the PDF the teller prints (two pages);
* the 公示 notice page, printed to PDF by headless Chromium as a browser prints it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

from service import calendar, demo, demo_examples, migrate  # noqa: E402
from service.app import create_app  # noqa: E402
from service.ballots import cards  # noqa: E402
from service.ballots.models import BallotCode, BallotSession  # noqa: E402
from service.campaigns.models import Campaign  # noqa: E402
from service.config import Settings  # noqa: E402
from service.context import Actor  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.gradings import records  # noqa: E402
from service.gradings.models import Grading  # noqa: E402
from service.lifecycle.workflow import GRADING_WORKFLOW  # noqa: E402
from service.organizations.models import Organization  # noqa: E402
from service.reports import formats, queries  # noqa: E402
from service.standards.models import Standard  # noqa: E402

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
    campaign = db.scalars(select(Campaign).order_by(Campaign.id)).first()
    assert campaign is not None
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
        grading.publicity_starts_on = calendar.today()
        grading.publicity_ends_on, grading.publicity_ends_estimated = calendar.notice_ends(
            grading.publicity_starts_on, campaign.publicity_working_days
        )
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


def pages(pdf: Path, png: Path, resolution: int = 110) -> list[Path]:
    """Every page of a PDF as PNG: png.png for one page, png-1.png, png-2.png… for more."""
    count = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], check=True, capture_output=True, text=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    for old in png.parent.glob(f"{png.name}*.png"):
        old.unlink()
    if count == 1:
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(resolution), "-singlefile", str(pdf), str(png)],
            check=True,
        )
        return [png.with_suffix(".png")]
    made = []
    for n in range(1, count + 1):
        target = png.parent / f"{png.name}-{n}"
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(resolution),
                "-f",
                str(n),
                "-l",
                str(n),
                "-singlefile",
                str(pdf),
                str(target),
            ],
            check=True,
        )
        made.append(target.with_suffix(".png"))
    return made


def render(xlsx: Path, png: Path, workdir: Path) -> list[Path]:
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
    return pages(workdir / f"{xlsx.stem}.pdf", png)


def print_page(url: str, pdf: Path, workdir: Path) -> None:
    """A page printed as a browser prints it (its print stylesheet, A4)."""
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={workdir}/chromium",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            url,
        ],
        check=True,
        capture_output=True,
    )


def main() -> None:
    for tool in ("soffice", "pdftoppm", "pdfinfo", "chromium"):
        if shutil.which(tool) is None:
            sys.exit(
                f"{tool} is missing: apt-get install libreoffice-calc-nogui poppler-utils chromium"
            )
    out = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work}/render.db"
        migrate.upgrade(url)
        settings = Settings.from_env(
            database_url=url, public_base_url="https://dangjian.example.gov.cn"
        )
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as db:
            demo.load(db, year=2026)
            demo_examples.stage(db, box_secret=settings.box_secret)
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
            session = db.scalars(select(BallotSession)).one()
            codes = db.scalars(
                select(BallotCode)
                .where(BallotCode.session_id == session.id)
                .order_by(BallotCode.id)
            ).all()
            (work / "cards.pdf").write_bytes(
                cards.pdf(
                    session, list(codes), settings.public_base_url or "", cards.find_font(None)
                )
            )
            campaign_id = campaign.id
        engine.dispose()
        made: list[Path] = []
        for kind, data in files.items():
            xlsx = work / f"{kind}.xlsx"
            xlsx.write_bytes(data)
            made += render(xlsx, out / kind, work)
        made += pages(work / "cards.pdf", out / "cards", resolution=80)
        server = make_server("127.0.0.1", 0, create_app(settings))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            print_page(
                f"http://127.0.0.1:{server.port}/notice/{campaign_id}", work / "notice.pdf", work
            )
        finally:
            server.shutdown()
        made += pages(work / "notice.pdf", out / "notice", resolution=80)
        for path in made:
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
