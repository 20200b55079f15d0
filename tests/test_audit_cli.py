"""`python -m service audit verify` exits 0 when the trail is intact and 1 when it is not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from service import migrate
from service.db import make_engine, normalize_url

ROOT = Path(__file__).resolve().parents[1]


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def _as_superuser(url: str, db_kind: str, statements: list[str]) -> None:
    """Tamper the way a database superuser could: with the append-only triggers off."""
    if db_kind == "postgresql":
        engine: Engine = create_engine(normalize_url(url))
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                conn.execute(text(statement))
        engine.dispose()
        return
    engine = make_engine(url)
    with engine.begin() as conn:
        triggers = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'audit_events'"
            )
        ).all()
        for name, _ in triggers:
            conn.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            conn.execute(text(statement))
        for _, sql in triggers:
            conn.execute(text(sql))
    engine.dispose()


def test_verify_exits_0_then_1_naming_the_event_and_the_damage(
    fresh_database_url: Any, db_kind: str, tmp_path: Path
) -> None:
    url = fresh_database_url("auditcli")
    migrate.upgrade(url)
    assert _cli(url, "demo", "--quiet").returncode == 0
    intact = _cli(url, "audit", "verify")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.startswith("intact:")

    saved = tmp_path / "checkpoint.json"
    assert _cli(url, "audit", "checkpoint", "--out", str(saved)).returncode == 0
    assert _cli(url, "audit", "verify", "--checkpoint", str(saved)).returncode == 0

    # Roll one chain back behind the checkpoint, rewinding its head too.
    engine = make_engine(url)
    with engine.connect() as conn:
        key, last_id, seq = conn.execute(
            text(
                "SELECT chain_key, id, chain_seq FROM audit_events WHERE chain_key = 'org:1' "
                "ORDER BY chain_seq DESC LIMIT 1"
            )
        ).one()
        prev_hash = conn.execute(
            text("SELECT hash FROM audit_events WHERE chain_key = :k AND chain_seq = :s"),
            {"k": key, "s": seq - 1},
        ).scalar_one()
    engine.dispose()
    _as_superuser(
        url,
        db_kind,
        [
            f"DELETE FROM audit_events WHERE id = {last_id}",
            f"UPDATE audit_chain_heads SET seq = {seq - 1}, hash = '{prev_hash}' "
            f"WHERE chain_key = '{key}'",
        ],
    )
    rolled = _cli(url, "audit", "verify", "--checkpoint", str(saved))
    assert rolled.returncode == 1
    assert "rolled-back" in rolled.stdout and key in rolled.stdout

    _as_superuser(url, db_kind, ["UPDATE audit_events SET reason = 'quietly changed' WHERE id = 3"])
    modified = _cli(url, "audit", "verify")
    assert modified.returncode == 1
    assert "modified at event 3" in modified.stdout
