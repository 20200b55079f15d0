"""A database superuser rewrites history where hashes alone cannot tell: consistently (every
hash recomputed, the chain's head moved), the Merkle tables rebuilt to match, or the whole log
truncated. Plain `audit verify` catches each against the checkpoint the service signed and kept,
and the offline verifier (tools/verify_audit.py) against the checkpoint an inspector saved."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from service.app import create_app
from service.audit import log, witness
from service.audit.canonical import HASHED_FIELDS
from service.audit.roles import APPEND_ONLY
from service.config import Settings
from service.db import make_engine
from tests.browser import served
from tests.conftest import cli_in_process
from tests.tampering import (
    rebuild_merkle_tables,
    rehashed,
    rewrite_chain,
    root_inspector_token,
    superuser,
    token_for,
)
from tests.witnesses import register
from tools import verify_audit


def verify(url: str, *files: str) -> subprocess.CompletedProcess[str]:
    """`audit verify` run in this process (test_audit_cli runs the real command)."""
    args = ["audit", "verify", *(a for f in files for a in ("--checkpoint", f))]
    done = cli_in_process(url, *args)
    return subprocess.CompletedProcess(args, done.exit_code, done.stdout, done.stderr)


def export(url: str, tmp: Path) -> tuple[Path, Path, str]:
    """What an inspector keeps: the NDJSON export, the latest signed note, the verifier key."""
    app = create_app(Settings.from_env(database_url=url))
    token = token_for(url, "admin")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    events = client.get("/api/v1/audit/events?format=ndjson", headers=headers).get_data(
        as_text=True
    )
    note = client.get("/api/v1/audit/checkpoints/latest").get_data(as_text=True)
    key = client.get("/api/v1/audit/public-key").get_json()["verifier_key"]
    app.extensions["grading.engine"].dispose()
    (tmp / "events.ndjson").write_text(events, encoding="utf-8")
    (tmp / "checkpoint.note").write_text(note, encoding="utf-8")
    return tmp / "events.ndjson", tmp / "checkpoint.note", key


@contextmanager
def witnessed(url: str, tmp: Path) -> Iterator[Callable[[], str]]:
    """A witness doing full audits (the whole trail, the service's own verify) accepts the log
    as it is now; the block gets a function that runs it again and returns why it refused
    ("" if it did not)."""
    app = create_app(Settings.from_env(database_url=url))
    token = root_inspector_token(url)
    register(url, "jiwei.example/witness", tmp / "witness")
    with served(app) as base:
        witness.run(tmp / "witness", base, "jiwei.example/witness", token, full=True)

        def again() -> str:
            try:
                witness.run(tmp / "witness", base, "jiwei.example/witness", token, full=True)
            except witness.Refused as exc:
                return str(exc)
            return ""

        yield again
    app.extensions["grading.engine"].dispose()


def gradings_listing(url: str, tmp: Path) -> Path:
    """Every grading as GET /api/v1/campaigns/{id}/gradings lists it, in one file."""
    app = create_app(Settings.from_env(database_url=url))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(url, 'admin')}"}
    items = []
    for campaign in client.get("/api/v1/campaigns", headers=headers).get_json()["items"]:
        path = f"/api/v1/campaigns/{campaign['id']}/gradings?limit=200"
        items += client.get(path, headers=headers).get_json()["items"]
    app.extensions["grading.engine"].dispose()
    (tmp / "gradings.json").write_text(json.dumps({"items": items}), encoding="utf-8")
    return tmp / "gradings.json"


def offline(events: Path, note: Path, key: str, *more: str) -> subprocess.CompletedProcess[str]:
    """tools/verify_audit.py run in this process (it imports nothing of the service)."""
    args = [str(events), str(note), "--key", key, "--whole", *more]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = verify_audit.main(args)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_an_intact_log_passes_every_check(copy: str, tmp_path: Path) -> None:
    assert verify(copy).returncode == 0
    events, note, key = export(copy, tmp_path)
    checked = offline(events, note, key, "--gradings", str(gradings_listing(copy, tmp_path)))
    assert checked.returncode == 0, checked.stdout
    assert "the Merkle root agree" in checked.stdout
    assert "the gradings listed in 1 file(s) are what the events tell" in checked.stdout


def test_a_consistent_rewrite_of_a_chain_after_the_checkpoint_is_caught(
    copy: str, db_kind: str, tmp_path: Path
) -> None:
    saved = export(copy, tmp_path)  # the inspector's copy, before the rewrite
    with witnessed(copy, tmp_path) as witness_again:
        with superuser(copy, db_kind) as conn:
            event_id = rewrite_chain(conn)
        refused = witness_again()
    assert refused.startswith("DAMAGED: ") and "do not hash to the signed root" in refused, refused
    found = verify(copy)
    assert found.returncode == 1
    assert f"modified at event {event_id} (merkle" in found.stdout  # its leaf no longer fits
    assert "forked at event None (merkle" in found.stdout  # the signed root is not reached
    (tmp_path / "after").mkdir()
    events, _, key = export(copy, tmp_path / "after")
    caught = offline(events, saved[1], key)
    assert caught.returncode == 1 and "not the signed root" in caught.stdout


def test_a_rewrite_with_the_merkle_tables_rebuilt_is_still_caught_by_the_signature(
    copy: str, db_kind: str, tmp_path: Path
) -> None:
    saved = export(copy, tmp_path)
    with witnessed(copy, tmp_path) as witness_again:
        with superuser(copy, db_kind) as conn:
            rewrite_chain(conn)
            rebuild_merkle_tables(conn)
        refused = witness_again()
    assert refused.startswith("DAMAGED: ") and "do not hash to the signed root" in refused, refused
    found = verify(copy)
    assert found.returncode == 1
    assert "forked" in found.stdout and "checkpoint #1" in found.stdout
    (tmp_path / "after").mkdir()
    events, _, key = export(copy, tmp_path / "after")
    caught = offline(events, saved[1], key)
    assert caught.returncode == 1 and "not the signed root" in caught.stdout


def test_truncating_the_whole_log_is_a_rollback(copy: str, db_kind: str, tmp_path: Path) -> None:
    saved = export(copy, tmp_path)
    with witnessed(copy, tmp_path) as witness_again:
        with superuser(copy, db_kind) as conn:
            for table in (
                "audit_events",
                "audit_chain_heads",
                "audit_log_leaves",
                "audit_log_nodes",
            ):
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(
                text(f"UPDATE audit_log_tip SET size = 0, root = '{log.merkle.EMPTY_ROOT.hex()}'")
            )
        refused = witness_again()
    assert refused.startswith("DAMAGED: leaf 0 (") and "of the signed log is gone" in refused
    found = verify(copy)
    assert found.returncode == 1
    assert "rolled-back" in found.stdout and "checkpoint #1" in found.stdout
    (tmp_path / "after").mkdir()
    events, _, key = export(copy, tmp_path / "after")
    caught = offline(events, saved[1], key)
    assert caught.returncode == 1 and "of the signed log is not in the export" in caught.stdout


def test_the_merkle_tables_refuse_changes_without_a_superuser(copy: str) -> None:
    engine = make_engine(copy)
    for table in ("audit_log_leaves", "audit_log_nodes", "audit_log_checkpoints"):
        assert table in APPEND_ONLY  # the production role holds only SELECT and INSERT
        with pytest.raises(Exception, match=r"append-only"), engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


def test_a_level_changed_in_its_table_without_an_event_is_state_diverged(
    copy: str, tmp_path: Path
) -> None:
    """No superuser needed: the application's own role may UPDATE gradings."""
    assert verify(copy).returncode == 0
    engine = make_engine(copy)
    with witnessed(copy, tmp_path) as witness_again, engine.begin() as conn:
        grading_id, level = conn.execute(
            text("SELECT id, level FROM gradings WHERE level IS NOT NULL ORDER BY id LIMIT 1")
        ).one()
        forged = "poor" if level != "poor" else "good"
        conn.execute(
            text("UPDATE gradings SET level = :level WHERE id = :id"),
            {"level": forged, "id": grading_id},
        )
        conn.execute(
            text("UPDATE gradings SET state = 'rated' WHERE id = :id"), {"id": grading_id + 1}
        )
        conn.commit()
        refused = witness_again()
    engine.dispose()
    assert refused.startswith("DAMAGED: the service's own verify:") and "state-diverged" in refused
    events, note, key = export(copy, tmp_path)
    caught = offline(events, note, key, "--gradings", str(gradings_listing(copy, tmp_path)))
    assert caught.returncode == 1, caught.stdout
    assert f"FAILED: grading {grading_id}: the listing says level '{forged}', the events " in (
        caught.stdout
    )
    found = verify(copy)  # plain verify replays the gradings' stories too
    assert found.returncode == 1, found.stdout
    said = f"grading {grading_id}: the table says level '{forged}', the trail '{level}'"
    assert said in found.stdout
    assert f"grading {grading_id + 1}: the table says state 'rated'" in found.stdout
    assert "state-diverged" in found.stdout


FORGERIES = {
    "record data": (
        "UPDATE record_versions SET data = :data WHERE id = (SELECT min(id) FROM record_versions)",
        {"data": '{"score": 100}'},
        "the table says data '{\"score\":100}'",
    ),
    "approval state": (
        "UPDATE approvals SET state = 'rejected' WHERE id = (SELECT min(id) FROM approvals "
        "WHERE state = 'approved')",
        {},
        "the table says state 'rejected', the trail 'approved'",
    ),
    "ballots issued": (
        "UPDATE ballot_categories SET issued = issued + 7 WHERE id = (SELECT min(id) "
        "FROM ballot_categories)",
        {},
        "the table says issued {",
    ),
    "box digest": (
        "UPDATE ballot_sessions SET box_digest = :digest WHERE id = (SELECT min(id) FROM "
        "ballot_sessions)",
        {"digest": "f" * 64},
        f"the table says box_digest '{'f' * 64}'",
    ),
    "grading version": (
        "UPDATE gradings SET version = version + 5 WHERE id = (SELECT min(id) FROM gradings)",
        {},
        "the table says version ",
    ),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_decided_fact_changed_in_its_table_is_state_diverged(
    copy: str, db_kind: str, tmp_path: Path, forgery: str
) -> None:
    """Records, approvals and ballot totals are held to the trail like the gradings' levels
    (record versions are append-only: changing one takes a superuser)."""
    sql, params, said = FORGERIES[forgery]
    with witnessed(copy, tmp_path) as witness_again:
        with superuser(copy, db_kind) as conn:
            assert conn.execute(text(sql), params).rowcount == 1
        refused = witness_again()
    assert refused.startswith("DAMAGED: the service's own verify:") and said in refused, refused
    found = verify(copy)
    assert found.returncode == 1, found.stdout
    assert "state-diverged" in found.stdout and said in found.stdout, found.stdout


def _longest_chain(conn: Connection) -> list[Any]:
    key = conn.execute(
        text("SELECT chain_key FROM audit_events GROUP BY chain_key ORDER BY count(*) DESC LIMIT 1")
    ).scalar_one()
    return list(
        conn.execute(
            text(
                "SELECT id, chain_seq, hash FROM audit_events WHERE chain_key = :k "
                "ORDER BY chain_seq"
            ),
            {"k": key},
        )
    )


def _modify(conn: Connection, chain: list[Any]) -> int:
    conn.execute(
        text("UPDATE audit_events SET reason = 'changed' WHERE id = :id"), {"id": chain[1][0]}
    )
    return int(chain[1][0])


def _delete(conn: Connection, chain: list[Any]) -> int:
    conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": chain[1][0]})
    return int(chain[2][0])


def _insert(conn: Connection, chain: list[Any]) -> int:
    """A made-up event slipped in as #2, with a hash of its own; the later events move up."""
    key = conn.execute(
        text("SELECT chain_key FROM audit_events WHERE id = :id"), {"id": chain[0][0]}
    ).scalar_one()
    for shift in (10**6, 1 - 10**6):  # two steps: (chain_key, chain_seq) stays unique
        conn.execute(
            text(
                "UPDATE audit_events SET chain_seq = chain_seq + :d "
                "WHERE chain_key = :k AND chain_seq >= :from"
            ),
            {"d": shift, "k": key, "from": 2 if shift > 0 else 10**6 + 2},
        )
    template = (
        conn.execute(text("SELECT * FROM audit_events WHERE id = :id"), {"id": chain[1][0]})
        .mappings()
        .one()
    )
    _, digest = rehashed(template, chain_seq=2, prev_hash=chain[0][2], reason="made up")
    chosen = {"chain_seq": ":seq", "prev_hash": ":prev", "reason": ":reason"}
    columns = ", ".join(chosen.get(name, name) for name in HASHED_FIELDS)
    conn.execute(
        text(
            f"INSERT INTO audit_events ({', '.join(HASHED_FIELDS)}, hash) "
            f"SELECT {columns}, :hash FROM audit_events WHERE id = :id"
        ),
        {"seq": 2, "prev": chain[0][2], "reason": "made up", "hash": digest, "id": chain[1][0]},
    )
    return int(chain[1][0])  # the first true event that no longer fits: it is #3 now


def _reorder(conn: Connection, chain: list[Any]) -> int:
    first, second = chain[0][0], chain[1][0]
    conn.execute(text("UPDATE audit_events SET chain_seq = -1 WHERE id = :id"), {"id": first})
    conn.execute(text("UPDATE audit_events SET chain_seq = 1 WHERE id = :id"), {"id": second})
    conn.execute(text("UPDATE audit_events SET chain_seq = 2 WHERE id = :id"), {"id": first})
    return int(second)


def _truncate_tail(conn: Connection, chain: list[Any]) -> int:
    (last_id, last_seq, _), (_, _, previous) = chain[-1], chain[-2]
    conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": last_id})
    conn.execute(
        text(
            "UPDATE audit_chain_heads SET seq = :seq, hash = :hash WHERE chain_key = "
            "(SELECT chain_key FROM audit_events WHERE id = :id)"
        ),
        {"seq": last_seq - 1, "hash": previous, "id": chain[-2][0]},
    )
    return int(last_id)


@pytest.mark.parametrize(
    "tamper",
    [_modify, _delete, _insert, _reorder, _truncate_tail],
    ids=lambda f: f.__name__.strip("_"),
)
def test_each_kind_of_damage_is_caught_by_verify_the_witness_and_offline(
    copy: str, db_kind: str, tmp_path: Path, tamper: Any
) -> None:
    before = export(copy, tmp_path)  # the inspector's note and key, from before
    with witnessed(copy, tmp_path) as witness_again:
        with superuser(copy, db_kind) as conn:
            event_id = tamper(conn, _longest_chain(conn))
        refused = witness_again()
    # a removed tail leaves no event to name: the witness names the leaf the signed log had
    named = "of the signed log is gone" if tamper is _truncate_tail else f"event {event_id}"
    assert refused.startswith("DAMAGED: ") and named in refused, refused
    found = verify(copy)
    assert found.returncode == 1, found.stdout
    assert f"event {event_id}" in found.stdout
    (tmp_path / "after").mkdir()
    events, _, key = export(copy, tmp_path / "after")
    caught = offline(events, before[1], key)
    assert caught.returncode == 1 and "FAILED" in caught.stdout, caught.stdout


def test_a_consistent_rewrite_that_leaves_the_chain_head_is_caught(
    copy: str, db_kind: str, tmp_path: Path
) -> None:
    saved = export(copy, tmp_path)
    with witnessed(copy, tmp_path) as witness_again:
        with superuser(copy, db_kind) as conn:
            rewrite_chain(conn, move_head=False)
        refused = witness_again()
    assert refused.startswith("DAMAGED: ") and "do not hash to the signed root" in refused, refused
    found = verify(copy)
    assert found.returncode == 1
    assert "the chain's last hash is not the one its head recorded" in found.stdout
    assert "forked" in found.stdout
    (tmp_path / "after").mkdir()
    events, _, key = export(copy, tmp_path / "after")
    caught = offline(events, saved[1], key)
    assert caught.returncode == 1 and "not the signed root" in caught.stdout
