"""`python -m service audit verify` exits 0 when the trail is intact and 1 when it is not."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import Engine, create_engine, text

from service.audit.canonical import HASHED_FIELDS, event_hash
from service.db import make_engine, normalize_url
from tests.conftest import cli_in_process

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


def _chains(url: str) -> list[list[tuple[int, int, str]]]:
    """The five longest chains, each as (id, chain_seq, hash) in order."""
    engine = make_engine(url)
    with engine.connect() as conn:
        keys = (
            conn.execute(
                text(
                    "SELECT chain_key FROM audit_events GROUP BY chain_key HAVING count(*) >= 3 "
                    "ORDER BY count(*) DESC, chain_key LIMIT 5"
                )
            )
            .scalars()
            .all()
        )
        chains = [
            [
                tuple(r)
                for r in conn.execute(
                    text(
                        "SELECT id, chain_seq, hash FROM audit_events "
                        "WHERE chain_key = :k ORDER BY chain_seq"
                    ),
                    {"k": key},
                )
            ]
            for key in keys
        ]
    engine.dispose()
    assert len(chains) == 5
    return chains  # type: ignore[return-value]


def _forged_after(url: str, last_id: int) -> str:
    """An INSERT of a forged event with a correct hash, appended after event `last_id`."""
    engine = make_engine(url)
    with engine.connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM audit_events WHERE id = :id"), {"id": last_id})
            .mappings()
            .one()
        )
    engine.dispose()
    fields = {name: None for name in HASHED_FIELDS}
    fields.update(
        chain_key=row["chain_key"],
        chain_seq=row["chain_seq"] + 1,
        prev_hash=row["hash"],
        occurred_at=datetime.now(UTC),
        actor_username="ghost",
        action="grading.transition",
        entity_type="grading",
        entity_id="1",
        reason="forged",
    )
    digest = event_hash(SimpleNamespace(**fields))
    when = fields["occurred_at"].strftime("%Y-%m-%d %H:%M:%S.%f")
    return (
        "INSERT INTO audit_events (chain_key, chain_seq, prev_hash, hash, occurred_at, "
        "actor_username, action, entity_type, entity_id, reason) VALUES "
        f"('{fields['chain_key']}', {fields['chain_seq']}, '{row['hash']}', '{digest}', "
        f"'{when}', 'ghost', 'grading.transition', 'grading', '1', 'forged')"
    )


def test_verify_exits_0_when_intact_and_1_naming_each_kind_of_damage(
    demo_copy: str, db_kind: str, tmp_path: Path
) -> None:
    url = demo_copy  # the demo, as `db upgrade; demo` left it
    intact = _cli(url, "audit", "verify")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.startswith("intact:")
    saved = tmp_path / "checkpoint.json"
    assert cli_in_process(url, "audit", "checkpoint", "--out", str(saved)).exit_code == 0
    assert cli_in_process(url, "audit", "verify", "--checkpoint", str(saved)).exit_code == 0

    rolled, modified, deleted, forged, swapped = _chains(url)
    (last_id, last_seq, _), (_, _, prev_hash) = rolled[-1], rolled[-2]
    key_of = "(SELECT chain_key FROM audit_events WHERE id = {})".format
    _as_superuser(
        url,
        db_kind,
        [
            # behind the checkpoint: drop a chain's last event and rewind its head
            f"UPDATE audit_chain_heads SET seq = {last_seq - 1}, hash = '{prev_hash}' "
            f"WHERE chain_key = {key_of(last_id)}",
            f"DELETE FROM audit_events WHERE id = {last_id}",
            f"UPDATE audit_events SET reason = 'quietly changed' WHERE id = {modified[1][0]}",
            f"DELETE FROM audit_events WHERE id = {deleted[1][0]}",
            _forged_after(url, forged[-1][0]),
            f"UPDATE audit_events SET chain_seq = -1 WHERE id = {swapped[0][0]}",
            f"UPDATE audit_events SET chain_seq = 1 WHERE id = {swapped[1][0]}",
            f"UPDATE audit_events SET chain_seq = 2 WHERE id = {swapped[0][0]}",
        ],
    )
    damaged = _cli(url, "audit", "verify", "--checkpoint", str(saved))
    assert damaged.returncode == 1, damaged.stdout
    out = damaged.stdout
    assert f"modified at event {modified[1][0]} " in out
    assert f"missing at event {deleted[2][0]} " in out
    assert "inserted at event " in out and "beyond the recorded head" in out
    assert f"re-ordered at event {swapped[0][0]} " in out
    assert "rolled-back at event None" in out
    without_checkpoint = cli_in_process(url, "audit", "verify")
    assert without_checkpoint.exit_code == 1
    # The checkpoint the service signed and kept is enough: no file needed to see the rollback.
    assert "rolled-back at event None" in without_checkpoint.stdout


def test_a_checkpoint_written_to_a_file_prints_nothing_and_never_makes_a_folder(
    demo_copy: str, tmp_path: Path
) -> None:
    saved = tmp_path / "checkpoint.json"
    done = cli_in_process(demo_copy, "audit", "checkpoint", "--out", str(saved))
    assert done.exit_code == 0 and done.output == ""  # cron mails only what goes wrong
    assert saved.read_text(encoding="utf-8").startswith("{")
    typo = tmp_path / "chekpoints" / "today.json"
    refused = cli_in_process(demo_copy, "audit", "checkpoint", "--out", str(typo))
    assert refused.exit_code == 2
    assert f"the folder {typo.parent} does not exist (a typo?)" in refused.output
    assert not typo.parent.exists()
