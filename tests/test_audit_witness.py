"""`python -m service audit witness` (run in this process: tests/test_audit_cli.py starts the
real program): an independent office checks the log over HTTP, cosigns
each checkpoint that extends the last one it accepted, and refuses (exit 2) a log that went back
or forked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from service.app import create_app
from service.audit import log
from service.config import Settings
from tests.browser import served
from tests.conftest import cli_completed as _cli
from tests.conftest import cli_in_process
from tests.tampering import (
    rebuild_merkle_tables,
    rewrite_chain,
    root_inspector_token,
    superuser,
    token_for,
)
from tests.witnesses import register

WITNESS = "jiwei.xinglong.example/witness"


@pytest.fixture
def site(copy: str) -> Iterator[tuple[str, str]]:
    app = create_app(Settings.from_env(database_url=copy))
    with served(app) as base:
        yield copy, base
    app.extensions["grading.engine"].dispose()


def witness(base: str, url: str, state: Path) -> tuple[int, str]:
    register(url, WITNESS, state)
    token = token_for(url, "county.inspector")
    done = _cli(
        url, "audit", "witness", base, "--state", str(state), "--name", WITNESS, "--token", token
    )
    return done.returncode, done.stdout + done.stderr


def more_events_and_a_checkpoint(url: str) -> None:
    token_for(url, "admin")  # an audited write
    assert _cli(url, "audit", "checkpoint").returncode == 0


def test_a_witness_cosigns_each_checkpoint_that_extends_the_last(
    site: tuple[str, str], tmp_path: Path
) -> None:
    url, base = site
    code, out = witness(base, url, tmp_path)
    assert code == 0 and "cosigned the checkpoint of" in out and "(first)" in out, out
    more_events_and_a_checkpoint(url)
    code, out = witness(base, url, tmp_path)
    assert code == 0 and "(extends " in out, out
    again, out = witness(base, url, tmp_path)
    assert again == 0 and "already cosigned" in out
    latest = _cli(url, "audit", "verify")
    assert latest.returncode == 0, latest.stdout + latest.stderr
    assert (tmp_path / "accepted.note").read_text().startswith("grading-service/audit-log\n")


def test_a_witness_refuses_a_forked_log(
    site: tuple[str, str], db_kind: str, tmp_path: Path
) -> None:
    url, base = site
    first = witness(base, url, tmp_path)
    assert first[0] == 0, first[1]
    with superuser(url, db_kind) as conn:
        rewrite_chain(conn)
        rebuild_merkle_tables(conn)
    more_events_and_a_checkpoint(url)  # the service signs the rewritten log
    code, out = witness(base, url, tmp_path)
    assert code == 2 and "FORKED" in out, out


def test_a_witness_refuses_a_log_that_went_back(
    site: tuple[str, str], db_kind: str, tmp_path: Path
) -> None:
    url, base = site
    more_events_and_a_checkpoint(url)
    first = witness(base, url, tmp_path)
    assert first[0] == 0, first[1]
    with superuser(url, db_kind) as conn:
        for table in ("audit_events", "audit_chain_heads", "audit_log_leaves", "audit_log_nodes"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(
            text(f"UPDATE audit_log_tip SET size = 0, root = '{log.merkle.EMPTY_ROOT.hex()}'")
        )
    assert _cli(url, "audit", "checkpoint").returncode == 0  # a fresh, short log, signed
    code, out = witness(base, url, tmp_path)
    assert code == 2 and "ROLLED BACK" in out, out


def test_a_full_audit_cosigns_an_intact_log_and_needs_the_whole_trail(
    site: tuple[str, str], tmp_path: Path
) -> None:
    url, base = site
    register(url, WITNESS, tmp_path)
    county = token_for(url, "county.inspector")  # sees the county's part of the trail only
    partial = _cli(url, "audit", "witness", base, "--state", str(tmp_path), "--name", WITNESS,
                   "--token", county, "--full")  # fmt: skip
    assert partial.returncode == 2 and "of the signed log is gone" in partial.stderr
    root = root_inspector_token(url)
    whole = _cli(url, "audit", "witness", base, "--state", str(tmp_path), "--name", WITNESS,
                 "--token", root, "--full")  # fmt: skip
    assert whole.returncode == 0 and "cosigned the checkpoint of" in whole.stdout, whole.stderr


def test_a_witness_that_cannot_look_says_why_in_one_line_and_never_calls_it_damage(
    site: tuple[str, str], tmp_path: Path
) -> None:
    url, base = site
    register(url, WITNESS, tmp_path / "w")

    def attempt(target: str, *extra: str) -> tuple[int, str]:
        args = ["audit", "witness", target, "--state", str(tmp_path / "w"), "--name", WITNESS]
        done = cli_in_process(url, *args, *extra)
        return done.exit_code, done.stderr

    nowhere = attempt("http://127.0.0.1:1")  # nothing listens on port 1
    assert nowhere[0] == 1 and nowhere[1].startswith("witness could not check: cannot reach")
    bad_token = attempt(base, "--token", "gr_not-a-token", "--full")
    assert bad_token[0] == 1 and "(401)" in bad_token[1]
    no_token = attempt(base, "--full")
    assert no_token[0] == 1 and "needs an inspector's token" in no_token[1]
    for _, said in (nowhere, bad_token, no_token):
        assert said.count("\n") == 1 and "Traceback" not in said and "DAMAGED" not in said
