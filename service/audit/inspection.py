"""What `audit verify` holds the trail to, by default: every checkpoint the service has signed
and kept (the Merkle log's tree heads and the latest chain-heads checkpoint), plus any the
inspector saved. A log shorter than, or different from, anything it once signed is caught
without the inspector having kept a file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit import checkpoints, notes, signing, state
from service.audit.models import Checkpoint, LogCheckpoint
from service.audit.verify import (
    Damage,
    Report,
    SignedHead,
    check_against_checkpoint,
    verify,
    verify_log,
)


@dataclass(frozen=True)
class Saved:
    """A checkpoint an inspector kept: a signed note, the JSON of POST /audit/checkpoints
    (chain heads, and the note), or both."""

    name: str
    text: str


def _heads_of_note(note: str, origin: str, key: Ed25519PrivateKey, source: str) -> SignedHead:
    checkpoint = notes.read_checkpoint(note, origin, key.public_key())
    return SignedHead(source, checkpoint.size, checkpoint.root)


def check(
    session: Session,
    key: Ed25519PrivateKey,
    origin: str,
    saved: Iterable[Saved] = (),
    chain_keys: Iterable[str] | None = None,
    *,
    with_state: bool = True,
) -> Report:
    """The chains (of `chain_keys`, default all), the Merkle log against every signed head, and
    (`with_state`) the tables replayed against the trail."""
    if chain_keys is not None:
        chain_keys = list(chain_keys)
    report = verify(session, chain_keys)
    pem = signing.public_pem(key.public_key())
    heads: list[SignedHead] = []
    for row in session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.id)):
        source = f"checkpoint #{row.id} (tree size {row.tree_size})"
        try:
            heads.append(_heads_of_note(row.note, origin, key, source))
        except notes.BadNote as exc:
            report.damage.append(
                Damage("forged", "merkle", None, row.tree_size, f"{source}: {exc}")
            )
    latest_chains = session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc())).first()
    if latest_chains is not None:
        try:
            chain_heads = checkpoints.read_saved(checkpoints.export(latest_chains, pem), pem)
            report.damage.extend(_scoped(check_against_checkpoint(report, chain_heads), chain_keys))
        except checkpoints.BadCheckpoint as exc:
            report.damage.append(Damage("forged", "chains", None, None, str(exc)))
    for item in saved:
        heads_found, chains_found = _read_saved(item, origin, key, pem)
        heads.extend(heads_found)
        if chains_found is not None:
            report.damage.extend(check_against_checkpoint(report, chains_found))
    report.damage.extend(verify_log(session, heads))
    if with_state:
        report.damage.extend(_scoped(state.diverged(session), chain_keys))
    return report


def _scoped(found: list[Damage], chain_keys: Iterable[str] | None) -> list[Damage]:
    if chain_keys is None:
        return found
    keys = set(chain_keys)
    return [d for d in found if d.chain_key in keys]


def _read_saved(
    item: Saved, origin: str, key: Ed25519PrivateKey, pem: str
) -> tuple[list[SignedHead], dict[str, list[object]] | None]:
    source = f"the saved checkpoint {item.name}"
    if not item.text.lstrip().startswith("{"):
        return [_heads_of_note(item.text, origin, key, source)], None
    try:
        saved = json.loads(item.text)
    except json.JSONDecodeError as exc:
        raise checkpoints.BadCheckpoint(f"{item.name} is neither a note nor JSON") from exc
    heads = [_heads_of_note(saved["note"], origin, key, source)] if saved.get("note") else []
    chains = checkpoints.read_saved(saved, pem) if "payload" in saved else None
    return heads, chains
