"""The command line and the demo data a new user sees with `make run`."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import demo, migrate
from service.app import create_app
from service.campaigns.leading_groups import LeadingGroup
from service.campaigns.models import Campaign
from service.config import Settings
from service.db import make_engine
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.reports.formats import KIND_LABELS
from tests.conftest import cli_completed, cli_in_process
from tests.site import DemoSite, bearer

ROOT = Path(__file__).resolve().parents[1]


def _cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def _in_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The same command run in this process (the tests that start the real program: upgrade and
    demo, serve)."""
    url = (env or {}).get("DATABASE_URL", "sqlite:///:memory:")
    return cli_completed(url, *args)


def test_help_lists_the_commands() -> None:
    result = _in_process("--help")
    assert result.returncode == 0
    for command in ("db", "demo", "serve", "bootstrap", "token", "openapi", "workflow"):
        assert command in result.stdout


def test_workflow_diagram_prints_mermaid() -> None:
    result = _in_process("workflow", "diagram", "campaign")
    assert result.returncode == 0
    assert result.stdout.startswith("stateDiagram-v2")
    assert "draft --> open: open 启动" in result.stdout


def test_db_upgrade_then_demo_once_then_bootstrap_refused(
    fresh_database_url: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    env = {**os.environ, "DATABASE_URL": fresh_database_url("cli")}
    assert _cli("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    first = _cli("demo", "--if-empty", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "baihe.secretary" in first.stdout and "gr_" in first.stdout
    # the rest in this process (CliRunner, same directory): the real program ran above
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Any:
        return cli_in_process(env["DATABASE_URL"], *args)

    again = run("demo")
    assert again.exit_code == 1 and "loads only once" in again.stderr
    tokens_shown_again = run("demo", "--if-empty")
    assert tokens_shown_again.exit_code == 0 and "baihe.secretary" in tokens_shown_again.stdout
    refused = run("bootstrap", "--code", "X", "--name", "X", "--admin", "x")
    assert refused.exit_code == 1 and "root organization exists" in refused.stderr
    token = run("token", "--username", "county.inspector", "--days", "3")
    assert token.exit_code == 0 and token.stdout.startswith("gr_")


def test_the_demo_data_looks_like_the_seed_documents(fresh_database_url: Any) -> None:
    url = fresh_database_url("demo")
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        people = demo.load(db, year=2026)
        _check_demo(db, people)
    engine.dispose()


def _check_demo(db: Session, people: list[demo.DemoAccount]) -> None:
    town = db.scalars(select(Organization).where(Organization.code == "YC-XL-FH")).one()
    branches = db.scalars(select(Organization).where(Organization.parent_id == town.id)).all()
    by_domain: dict[str, int] = {}
    for branch in branches:
        by_domain[branch.domain or ""] = by_domain.get(branch.domain or "", 0) + 1
    assert len(branches) == 21
    assert by_domain == {"village": 15, "organ": 2, "institution": 2, "private_enterprise": 2}
    school = db.scalars(select(Organization).where(Organization.code == "YC-XL-SZ3-01")).one()
    assert school.domain == "school"
    campaign = db.scalars(select(Campaign).where(Campaign.name.like("2026年兴隆县%"))).one()
    assert campaign.status == "open"
    graded = db.scalar(
        select(func.count()).select_from(Grading).where(Grading.campaign_id == campaign.id)
    )
    assert (
        graded == 21 + 3 + 2 + 1
    )  # the townships' 21 and 3, the school's two, the hospital's 基层党委
    group = db.scalars(select(LeadingGroup).where(LeadingGroup.campaign_id == campaign.id)).one()
    assert (group.organization_id, group.version) == (town.id, 1)  # 凤凰镇's 领导小组
    assert {p.role.value for p in people} == {
        "admin",
        "supervisor",
        "reviewer",
        "teller",
        "inspector",
        "secretary",
    }


def test_the_readme_shows_the_current_lifecycle_diagram() -> None:
    diagram = _in_process("workflow", "diagram", "grading").stdout.strip()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{diagram}\n```" in readme


def test_report_writes_the_same_files_from_the_command_line(demo_copy: str, tmp_path: Path) -> None:
    import os

    env = {**os.environ, "DATABASE_URL": demo_copy}  # the demo, as `db upgrade; demo` left it
    out = tmp_path / "summary.xlsx"
    result = _in_process(
        "report",
        "summary",
        "--campaign",
        "1",
        "--provisional",
        "--out",
        str(out),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    from openpyxl import load_workbook

    sheet = load_workbook(out).active
    assert sheet is not None and sheet["A2"].value == "单位"
    assert str(sheet["A1"].value).endswith("年基层党组织分类定级汇总表")
    assert "临时" in sheet.oddFooter.left.text  # --provisional
    csv_out = tmp_path / "detail.csv"
    assert (
        _in_process(
            "report",
            "detail",
            "--campaign",
            "1",
            "--format",
            "csv",
            "--out",
            str(csv_out),
            env=env,
        ).returncode
        == 0
    )
    header = csv_out.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("\ufeff单位,党组织名称")
    # the demo's villages refine 工作业绩 into sub-items: each gets a column after it
    assert "工作业绩(上级),工作业绩·发展村级集体经济(上级)" in header
    missing = _in_process("report", "summary", "--campaign", "99", "--out", str(out), env=env)
    assert missing.returncode == 1 and "no campaign 99" in missing.stderr


def test_the_five_reports_from_the_command_line_are_the_ones_served_over_http(
    demo_copy: str, tmp_path: Path
) -> None:
    # the commands run in this process; the test above runs the real program
    token = cli_in_process(demo_copy, "token", "--username", "county.inspector").stdout.strip()
    app = create_app(Settings.from_env(database_url=demo_copy))
    client = app.test_client()
    for kind, label in KIND_LABELS.items():
        out = tmp_path / f"{kind}.xlsx"
        # the demo's levels are still under publicity: counted when provisional ones are asked
        args = ["report", kind, "--campaign", "1", "--provisional", "--out", str(out)]
        result = cli_in_process(demo_copy, *args)
        assert result.exit_code == 0, (kind, result.stderr)
        book = load_workbook(out)
        sheet = book.worksheets[0]
        # the 明细表 comes in parts (一), (二)… that a clerk can read on A4
        title = str(sheet["A1"].value).split("（", 1)[0] if kind == "detail" else sheet["A1"].value
        assert str(title).endswith(label), (kind, sheet["A1"].value)
        # the same report through HTTP, cell for cell
        answer = client.get(
            f"/api/v1/campaigns/1/reports/{kind}?format=xlsx&provisional=true",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, (kind, answer.get_data(as_text=True)[:300])
        served = load_workbook(io.BytesIO(answer.get_data()))
        assert served.sheetnames == book.sheetnames
        for mine, theirs in zip(book.worksheets, served.worksheets, strict=True):
            assert list(mine.iter_rows(values_only=True)) == list(
                theirs.iter_rows(values_only=True)
            )
        header = next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
        assert header[0] and all(isinstance(h, str) for h in header if h), (kind, header)
        rows = [row for row in sheet.iter_rows(min_row=3, values_only=True) if any(row)]
        # every demo branch is graded and in progress; none of them is 较差: the lists say 无
        if kind in ("summary", "detail", "progress", "movement", "problems", "ranking"):
            assert rows and rows[0][0] != "无", (kind, rows[:2])
        else:
            assert [row[0] for row in rows] == ["无"], (kind, rows)
    app.extensions["grading.engine"].dispose()


def test_serve_on_a_taken_port_says_so_in_one_line_before_any_banner(tmp_path: Path) -> None:
    import os
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/empty.db", "DEVELOPMENT": "1"}
        (tmp_path / "empty.db").touch()
        done = _cli("serve", "--port", str(port), "--no-worker", env=env, cwd=tmp_path)
    finally:
        taken.close()
    assert done.returncode == 1
    assert "serving on" not in done.stdout  # the banner waits for the bound socket
    assert done.stderr.strip().startswith(f"Error: cannot serve on 127.0.0.1:{port}")
    assert f"make run PORT={port + 1}" in done.stderr and done.stderr.count("\n") == 1


def test_demo_tokens_are_kept_per_database() -> None:
    from service.__main__ import TOKENS_FILE, tokens_file

    default = tokens_file(Settings.from_env(database_url=Settings.database_url))
    here = tokens_file(Settings.from_env(database_url="sqlite:////tmp/grading-a.db"))
    there = tokens_file(Settings.from_env(database_url="postgresql://db/grading"))
    assert default == TOKENS_FILE and len({default, here, there}) == 3
    assert here.parent == there.parent == TOKENS_FILE.parent


def test_the_demo_shows_a_leading_group_and_a_township_reporting_upward(
    demo_site: DemoSite,
) -> None:
    app = demo_site.app()
    client = app.test_client()
    headers = bearer(demo_site, "county.inspector")
    campaign = demo_site.ids["campaign"]
    groups = client.get(f"/api/v1/campaigns/{campaign}/leading-groups", headers=headers)
    formed = {i["organization_name"]: i["formed"] for i in groups.get_json()["items"]}
    assert formed["凤凰镇党委"] is True and formed["青石镇党委"] is False
    reported = client.get(
        f"/api/v1/campaigns/{campaign}/report-submissions?kind=grading_tables", headers=headers
    ).get_json()
    status = {i["organization"]: i["status"] for i in reported["items"]}
    assert status["青石镇党委"] in ("submitted", "late") and status["凤凰镇党委"] != "submitted"
    # 每个支部安排了指导组进行指导: 凤凰镇's first village, during the survey
    listed = client.get(f"/api/v1/campaigns/{campaign}/gradings?limit=100", headers=headers)
    [first] = [g for g in listed.get_json()["items"] if g["organization_code"] == "YC-XL-FH-V01"]
    guided = client.get(f"/api/v1/gradings/{first['id']}/inspection", headers=headers)
    assert [v["purpose"] for v in guided.get_json()["visits"]] == ["调查摸底"]
    # its 明细表 enters the deduction item by item (扣分项目明细登记)
    detail = client.get(
        f"/api/v1/campaigns/{campaign}/reports/detail?provisional=true", headers=headers
    ).get_json()["items"]
    key = "assessment:adjustment.incidents"
    deducted = {r["name"]: r[key] for r in detail if key in r}
    assert deducted == {"沙坪村党支部": "2.00"}, deducted
    app.extensions["grading.engine"].dispose()


def test_the_demo_shows_last_years_campaign_and_what_a_level_brings_after_it(
    demo_site: DemoSite,
) -> None:
    """青石镇's own campaign of last year: levels that stand, and the records after them."""
    app = demo_site.app()
    client = app.test_client()
    headers = bearer(demo_site, "county.inspector")
    campaigns = client.get("/api/v1/campaigns", headers=headers).get_json()["items"]
    last = next(c for c in campaigns if "青石镇" in c["name"])
    gradings = client.get(f"/api/v1/campaigns/{last['id']}/gradings", headers=headers).get_json()
    by_code = {g["organization_code"]: g for g in gradings["items"]}
    weak = by_code["YC-XL-QS-V03"]
    assert weak["state"] == "rectification" and weak["level"] == "poor"
    levels = client.get(
        f"/api/v1/organizations/{weak['organization_id']}/levels", headers=headers
    ).get_json()
    assert "poor" in [c.get("level") for c in levels["items"]]
    base = f"/api/v1/gradings/{weak['id']}"
    for tail in ("weak-measures", "strategy", "life-meeting"):
        assert client.get(f"{base}/{tail}", headers=headers).status_code == 200, tail
    looked_in = client.get(f"{base}/inspection", headers=headers).get_json()
    assert [v["purpose"] for v in looked_in["visits"]] == ["整改提高"]  # 指导检查组 visits
    middle = by_code["YC-XL-QS-V02"]["id"]
    report = client.get(f"/api/v1/gradings/{middle}/self-check-report", headers=headers)
    assert report.get_json()["data"]["regraded_level"] == "average"  # 自查, 重新定级
    kept = by_code["YC-XL-QS-V01"]
    assert kept["state"] == "re_review"
    checked = client.get(
        f"/api/v1/gradings/{kept['id']}/records/re_check/main/versions", headers=headers
    ).get_json()["items"]
    assert checked[-1]["data"]["outcome"] == "confirmed"  # the work group's 复查
    exemplary = client.get(f"/api/v1/gradings/{kept['id']}/exemplary", headers=headers)
    assert "党员联系户" in exemplary.get_json()["data"]["experience"]  # 典型经验
    public = client.get(f"/plans/{weak['id']}", headers={"Accept": "text/html"})
    assert public.status_code == 200 and "整改" in public.get_data(as_text=True)
    # this year's 进步情况表 of the county measures them on last year's footing
    moved = client.get(
        f"/api/v1/campaigns/{demo_site.ids['campaign']}/reports/movement?provisional=true",
        headers=headers,
    ).get_json()
    on_footing = {i["name"]: i["movement_label"] for i in moved["items"] if i["previous_level"]}
    assert on_footing == {"石门村党支部": "保持", "高岭村党支部": "进步", "沙坪村党支部": "进步"}
    [township] = [u for u in moved["by_unit"] if u["unit"] == "青石镇党委"]
    assert (township["up"], township["same"], township["none_went_down"]) == (2, 1, True)
    app.extensions["grading.engine"].dispose()
