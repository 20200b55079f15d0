"""What `audit verify` holds the trail to, by default: every checkpoint the service has signed
and kept (the Merkle log's tree heads and the latest chain-heads checkpoint), plus any the
inspector saved. A log shorter than, or different from, anything it once signed is caught
without the inspector having kept a file.

But whoever holds the database and the server's key can rewrite events, recompute every hash
and sign the checkpoints again. What they cannot make is a witness's cosignature (its key is
the witness's) or a checkpoint file the operator keeps elsewhere: those are the anchors. Every
stored cosignature must verify under a trusted witness key; with `anchor_age`, events older
than that which no anchor covers make the log unanchored — not called intact (docs/decisions/
0034)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service.audit import checkpoints, notes, signing, witnesses
from service.audit.models import AuditEvent, Checkpoint, LogCheckpoint, LogLeaf
from service.audit.verify import (
    Damage,
    Report,
    SignedHead,
    check_against_checkpoint,
    verify,
    verify_log,
)
from service.db import utcnow
from service.verification import state


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
    witness_keys: witnesses.Keys | None = None,
    anchor_age: timedelta | None = None,
    now: datetime | None = None,
) -> Report:
    """The chains (of `chain_keys`, default all), the Merkle log against every signed head, the
    witnesses' cosignatures against `witness_keys` (default: the approved registry), and
    (`with_state`) the tables replayed against the trail. With `anchor_age`: events older than
    that must be covered by an anchor — a checkpoint a trusted witness cosigned, or a saved
    one."""
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
    anchored = 0  # the largest tree size an anchor covers
    for item in saved:
        heads_found, chains_found = _read_saved(item, origin, key, pem)
        heads.extend(heads_found)
        anchored = max([anchored, *(h.size for h in heads_found)])
        if chains_found is not None:
            report.damage.extend(check_against_checkpoint(report, chains_found))
    report.damage.extend(verify_log(session, heads))
    keys = witness_keys if witness_keys is not None else witnesses.registered(session)
    vouched = witnesses.vouching(session, keys)
    report.witnessed = vouched.by_witness
    report.damage.extend(Damage("forged", "witness", None, None, line) for line in vouched.forged)
    anchored = max([anchored, *vouched.by_witness.values()])
    report.anchored = anchored
    if anchor_age is not None:
        report.damage.extend(_unanchored(session, anchored, (now or utcnow()) - anchor_age))
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


def _unanchored(session: Session, size: int, before: datetime) -> list[Damage]:
    """The oldest event no anchor covers (its leaf at or past `size`, or none yet), when it is
    older than `before`."""
    oldest = session.execute(
        select(AuditEvent.id, AuditEvent.occurred_at)
        .outerjoin(LogLeaf, LogLeaf.event_id == AuditEvent.id)
        .where(or_(LogLeaf.leaf_index.is_(None), LogLeaf.leaf_index >= size))
        .order_by(AuditEvent.id)
        .limit(1)
    ).first()
    if oldest is None or oldest[1] > before:
        return []
    count = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .outerjoin(LogLeaf, LogLeaf.event_id == AuditEvent.id)
        .where(or_(LogLeaf.leaf_index.is_(None), LogLeaf.leaf_index >= size))
    )
    where = f"past the {size} events an anchor covers" if size else "and nothing covers any"
    return [
        Damage(
            "unanchored",
            "merkle",
            oldest[0],
            None,
            f"{count} events, the oldest from {oldest[1]:%Y-%m-%d %H:%M} UTC, are {where}: no "
            "checkpoint a trusted witness cosigned and no checkpoint file kept off this machine "
            "vouches for them, so a rewrite signed again with the server's key would pass — run "
            "the witness, or keep `audit checkpoint --out` files in AUDIT_CHECKPOINT_DIR",
        )
    ]
