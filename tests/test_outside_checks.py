"""Outside checks an insider cannot forge or skip (docs/decisions/0034).

Each attack is done as a database superuser could (triggers off, every hash recomputed, the
Merkle tables rebuilt, the stored checkpoints deleted and signed again with the server's own
key): the nightly `audit verify`, run as the README says, catches it against what the insider
cannot make — a checkpoint file kept off the machine, or a witness's cosignature — or refuses to
call a log intact that nothing outside vouches for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, text

from service.app import create_app
from service.audit import notes, witness
from service.config import Settings
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

WITNESS = "jiwei.xinglong.example/witness"


@pytest.fixture
def copy(demo_copy: str) -> str:
    """A scenario's own copy of the signed demo."""
    return demo_copy


def nightly(url: str, kept: Path | None = None, minutes: str = "10") -> Any:
    """`audit verify` as the README's cron runs it (with the env file's settings)."""
    env = {"AUDIT_CHECKPOINT_MINUTES": minutes}
    if kept is not None:
        env["AUDIT_CHECKPOINT_DIR"] = str(kept)
    return cli_in_process(url, "audit", "verify", env=env)


def keep_a_checkpoint(url: str, kept: Path, name: str = "kept") -> Path:
    """The README's cron: `audit checkpoint --out` into a directory kept off the machine."""
    kept.mkdir(exist_ok=True)
    path = kept / f"{name}.json"
    done = cli_in_process(url, "audit", "checkpoint", "--out", str(path))
    assert done.exit_code == 0, done.output
    return path


def forget_and_resign(conn: Connection, url: str) -> None:
    """The insider's cover: every stored checkpoint and cosignature gone, then the rewritten
    log signed again with the server's key (which the service holds)."""
    for table in ("audit_log_cosignatures", "audit_log_checkpoints", "audit_checkpoints"):
        conn.execute(text(f"DELETE FROM {table}"))


def resign(url: str) -> None:
    assert cli_in_process(url, "audit", "checkpoint").exit_code == 0


def test_a_rewrite_signed_again_with_the_servers_key_is_caught_by_a_kept_checkpoint(
    copy: str,
    db_kind: str,
    tmp_path: Path,
) -> None:
    kept = tmp_path / "kept"
    keep_a_checkpoint(url=copy, kept=kept)
    assert nightly(copy, kept).exit_code == 0
    with superuser(copy, db_kind) as conn:
        rewrite_chain(conn)
        rebuild_merkle_tables(conn)
        forget_and_resign(conn, copy)
    resign(copy)
    caught = nightly(copy, kept)
    assert caught.exit_code == 1 and "DAMAGED" in caught.output, caught.output
    assert "forked" in caught.output or "modified" in caught.output


def test_a_log_that_nothing_outside_vouches_for_is_not_called_intact(
    copy: str,
    db_kind: str,
) -> None:
    """No kept file, no witness: once events are older than the checkpoint interval allows, the
    rewrite cannot be told from the truth — so verify says so instead of 'intact'."""
    with superuser(copy, db_kind) as conn:
        rewrite_chain(conn)
        rebuild_merkle_tables(conn)
        forget_and_resign(conn, copy)
    resign(copy)
    told = nightly(copy, minutes="0")
    assert told.exit_code == 1 and told.output.startswith("UNANCHORED"), told.output
    assert "no checkpoint a trusted witness cosigned" in told.output


def swap_chains(conn: Connection) -> None:
    """Two organizations' chains trade places, every hash recomputed, the heads moved."""
    keys = (
        conn.execute(
            text(
                "SELECT chain_key FROM audit_events WHERE chain_key LIKE 'org:%' "
                "GROUP BY chain_key HAVING count(*) >= 2 ORDER BY chain_key LIMIT 2"
            )
        )
        .scalars()
        .all()
    )
    first, second = keys
    for old, new in ((first, "swap"), (second, first), ("swap", second)):
        rows = (
            conn.execute(
                text("SELECT * FROM audit_events WHERE chain_key = :k ORDER BY chain_seq"),
                {"k": old},
            )
            .mappings()
            .all()
        )
        previous = "0" * 64
        for row in rows:
            _, digest = rehashed(row, chain_key=new, prev_hash=previous)
            conn.execute(
                text(
                    "UPDATE audit_events SET chain_key = :k, prev_hash = :p, hash = :h "
                    "WHERE id = :id"
                ),
                {"k": new, "p": previous, "h": digest, "id": row["id"]},
            )
            previous = digest
        if new != "swap":
            conn.execute(
                text("UPDATE audit_chain_heads SET hash = :h, seq = :s WHERE chain_key = :k"),
                {"h": previous, "s": len(rows), "k": new},
            )


def test_swapping_two_organizations_chains_is_caught_by_a_kept_checkpoint(
    copy: str,
    db_kind: str,
    tmp_path: Path,
) -> None:
    kept = tmp_path / "kept"
    keep_a_checkpoint(copy, kept)
    with superuser(copy, db_kind) as conn:
        swap_chains(conn)
        rebuild_merkle_tables(conn)
        forget_and_resign(conn, copy)
    resign(copy)
    caught = nightly(copy, kept)
    assert caught.exit_code == 1 and "DAMAGED" in caught.output, caught.output


def cut_tail(conn: Connection, count: int) -> None:
    """The newest events gone (and the Merkle tables rebuilt without them)."""
    newest = (
        conn.execute(text(f"SELECT id, chain_key FROM audit_events ORDER BY id DESC LIMIT {count}"))
        .mappings()
        .all()
    )
    for row in newest:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": row["id"]})
    for key in {row["chain_key"] for row in newest}:
        last = conn.execute(
            text(
                "SELECT chain_seq, hash FROM audit_events WHERE chain_key = :k "
                "ORDER BY chain_seq DESC LIMIT 1"
            ),
            {"k": key},
        ).first()
        seq, digest = (last[0], last[1]) if last else (0, "0" * 64)
        conn.execute(
            text("UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE chain_key = :k"),
            {"s": seq, "h": digest, "k": key},
        )
    rebuild_merkle_tables(conn)


def test_a_cut_tail_is_caught_by_the_kept_checkpoint_and_refused_by_the_witness(
    copy: str,
    db_kind: str,
    tmp_path: Path,
) -> None:
    """The worker signs at least every AUDIT_CHECKPOINT_MINUTES while events arrive, so the
    newest events are in a tree head the file and the witness saw; cutting them shrinks the log
    below both."""
    register(copy, WITNESS, tmp_path / "witness")
    token_for(copy, "admin")  # more events …
    kept = tmp_path / "kept"
    keep_a_checkpoint(copy, kept)  # … signed within minutes
    app = create_app(Settings.from_env(database_url=copy))
    token = root_inspector_token(copy)
    with served(app) as base:
        accepted = witness.run(tmp_path / "witness", base, WITNESS, token)
        assert accepted.cosigned
        with superuser(copy, db_kind) as conn:
            cut_tail(conn, 8)  # the newest events the tree head the witness cosigned holds
            forget_and_resign(conn, copy)
        resign(copy)
        try:
            witness.run(tmp_path / "witness", base, WITNESS, token)
        except witness.Refused as exc:
            assert "ROLLED BACK" in str(exc)
        else:
            raise AssertionError("the witness cosigned a log that shrank")
    app.extensions["grading.engine"].dispose()
    caught = nightly(copy, kept)
    assert caught.exit_code == 1 and "rolled-back" in caught.output, caught.output


def test_a_cosignature_in_a_witness_name_with_another_key_is_refused_and_caught(
    copy: str,
    db_kind: str,
    tmp_path: Path,
) -> None:
    vkey = register(copy, WITNESS, tmp_path / "witness")
    app = create_app(Settings.from_env(database_url=copy))
    client = app.test_client()
    note = client.get("/api/v1/audit/checkpoints/latest").get_data(as_text=True)
    size = int(note.splitlines()[1])
    impostor = Ed25519PrivateKey.from_private_bytes(b"i" * 32)
    forged = notes.cosign(note, WITNESS, impostor, 1_800_000_000)
    headers = {"Authorization": f"Bearer {token_for(copy, 'county.inspector')}"}
    url = f"/api/v1/audit/checkpoints/{size}/cosignatures"
    for body in (
        {"witness": WITNESS, "line": forged},
        {
            "witness": WITNESS,
            "line": forged,
            "verifier_key": notes.verifier_key(WITNESS, impostor.public_key()),
        },
    ):
        refused = client.post(url, json=body, headers=headers)
        assert refused.status_code == 422, refused.get_json()
    app.extensions["grading.engine"].dispose()
    # the real witness still cosigns (its name was not taken) …
    app = create_app(Settings.from_env(database_url=copy))
    with served(app) as base:
        assert witness.run(tmp_path / "witness", base, WITNESS, root_inspector_token(copy))
    app.extensions["grading.engine"].dispose()
    assert nightly(copy).exit_code == 0
    # … and a forged line slipped into the table by the superuser is caught
    with superuser(copy, db_kind) as conn:
        checkpoint = conn.execute(text("SELECT max(id) FROM audit_log_checkpoints")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO audit_log_cosignatures (checkpoint_id, witness, public_key, line, "
                "created_at, created_by) VALUES (:c, 'shengwei.example/witness', :k, :l, "
                "CURRENT_TIMESTAMP, 'x')"
            ),
            {
                "c": checkpoint,
                "k": vkey,
                "l": notes.cosign(note, "shengwei.example/witness", impostor, 1_800_000_000),
            },
        )
    caught = nightly(copy)
    assert caught.exit_code == 1 and "forged" in caught.output, caught.output


def test_the_offline_verifier_checks_the_witnesses_cosignatures(
    copy: str,
    tmp_path: Path,
) -> None:
    vkey = register(copy, WITNESS, tmp_path / "witness")
    app = create_app(Settings.from_env(database_url=copy))
    with served(app) as base:
        witness.run(tmp_path / "witness", base, WITNESS, root_inspector_token(copy))
    client = app.test_client()
    note = client.get("/api/v1/audit/checkpoints/latest").get_data(as_text=True)
    key = client.get("/api/v1/audit/public-key").get_json()["verifier_key"]
    events = client.get(
        "/api/v1/audit/events?format=ndjson",
        headers={"Authorization": f"Bearer {token_for(copy, 'admin')}"},
    ).get_data(as_text=True)
    app.extensions["grading.engine"].dispose()
    (tmp_path / "events.ndjson").write_text(events, encoding="utf-8")
    (tmp_path / "checkpoint.note").write_text(note, encoding="utf-8")
    args = [str(tmp_path / "events.ndjson"), str(tmp_path / "checkpoint.note"), "--key", key]
    done = subprocess.run(
        [sys.executable, "tools/verify_audit.py", *args, "--witness", vkey],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"witness {WITNESS} vouches for the checkpoint of" in done.stdout
    other = notes.verifier_key(
        "shengwei.example/witness", Ed25519PrivateKey.from_private_bytes(b"o" * 32).public_key()
    )
    assert verify_audit.main([*args, "--witness", other]) == 1  # it never cosigned
    impostor = Ed25519PrivateKey.from_private_bytes(b"i" * 32)
    forged = note + notes.cosign(note, "shengwei.example/witness", impostor, 1_800_000_000)
    (tmp_path / "forged.note").write_text(forged, encoding="utf-8")
    forged_args = [str(tmp_path / "events.ndjson"), str(tmp_path / "forged.note"), "--key", key]
    assert verify_audit.main([*forged_args, "--witness", other]) == 1
