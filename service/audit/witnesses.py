"""The witnesses the log takes cosignatures from, and what their cosignatures vouch for.

A witness is registered with its name and Ed25519 verifier key by an admin at the root and
approved by a second admin there (never the one who asked). A cosignature is taken only from an
approved witness and only if it verifies under that key (C2SP tlog-cosignature/v1): a name
cannot be squatted or a line forged with another key. `audit verify` holds every stored
cosignature to the keys it trusts — the operator's pinned keys (AUDIT_WITNESSES), or else the
approved registry — and says which witness vouches for which tree size."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit import notes
from service.audit.models import LogCheckpoint, LogCosignature, Witness
from service.audit.operations import record
from service.audit.witness_workflow import WITNESS_WORKFLOW
from service.context import Actor
from service.db import utcnow
from service.errors import Conflict, NotFound, SelfApproval, ValidationFailed
from service.workflows.states import ApprovalState

Keys = Mapping[str, Ed25519PublicKey]  # witness name -> its key


def _snapshot(witness: Witness) -> dict[str, object]:
    return {"name": witness.name, "verifier_key": witness.verifier_key, "state": witness.state}


def request(session: Session, actor: Actor, name: str, verifier_key: str, root_id: int) -> Witness:
    """Ask for a witness to be registered (pending until a second admin approves)."""
    try:
        key_name, _ = notes.parse_verifier_key(verifier_key)
    except notes.BadNote as exc:
        raise ValidationFailed(str(exc), errors={"verifier_key": [str(exc)]}) from exc
    if key_name != name:
        raise ValidationFailed(
            "the verifier key names another witness",
            errors={"verifier_key": [f"the key is {key_name!r}'s, not {name!r}'s"]},
        )
    live = session.scalar(
        select(Witness.id).where(Witness.name == name, Witness.state != ApprovalState.REJECTED)
    )
    if live is not None:
        raise Conflict(f"witness {name} is registered or asked for already (#{live})")
    witness = Witness(
        name=name,
        verifier_key=verifier_key.strip(),
        state=ApprovalState.PENDING,
        requested_by=actor.username,
        requested_by_account_id=actor.account_id,
    )
    session.add(witness)
    session.flush()
    record(
        session,
        actor,
        "audit.witness_request",
        "audit_witness",
        witness.id,
        organization_id=root_id,
        after=_snapshot(witness),
    )
    return witness


def decide(
    session: Session,
    actor: Actor,
    witness: Witness,
    approve: bool,
    root_id: int,
    reason: str | None = None,
) -> Witness:
    """Approve or reject, as a second admin: never the one who asked (403 four-eyes)."""
    session.refresh(witness, with_for_update=True)
    step = "approve" if approve else "reject"
    WITNESS_WORKFLOW.check(witness, step, reason=reason)
    if witness.requested_by_account_id is not None and (
        witness.requested_by_account_id == actor.account_id
    ):
        raise SelfApproval("a witness is approved by another admin than the one who asked")
    before = _snapshot(witness)
    WITNESS_WORKFLOW.apply(witness, step)
    witness.decided_at, witness.decided_by, witness.reason = utcnow(), actor.username, reason
    session.flush()
    record(
        session,
        actor,
        f"audit.witness_{step}",
        "audit_witness",
        witness.id,
        organization_id=root_id,
        before=before,
        after=_snapshot(witness),
        reason=reason,
    )
    return witness


def cosign(
    session: Session,
    actor: Actor,
    tree_size: int,
    name: str,
    line: str,
    verifier_key: str | None,
    organization_id: int | None,
) -> LogCosignature:
    """A registered, approved witness's cosignature on the checkpoint of `tree_size`: kept only
    when it verifies under the witness's registered key (a name cannot be taken by anyone else's
    key), once per witness and checkpoint."""
    checkpoint = session.scalars(
        select(LogCheckpoint)
        .where(LogCheckpoint.tree_size == tree_size)
        .order_by(LogCheckpoint.id.desc())
    ).first()
    if checkpoint is None:
        raise NotFound(f"no checkpoint of tree size {tree_size}")
    found = session.scalars(
        select(Witness).where(Witness.name == name, Witness.state == ApprovalState.APPROVED)
    ).first()
    if found is None:
        raise ValidationFailed(
            f"{name} is not a registered witness: an admin at the root registers it with its "
            "verifier key (POST /api/v1/audit/witnesses) and a second approves it",
            errors={"witness": ["not a registered witness"]},
        )
    sent = (verifier_key or "").strip()
    if sent and sent != found.verifier_key:
        raise ValidationFailed(
            "the verifier key is not the one registered for this witness",
            errors={"verifier_key": ["not the registered key"]},
        )
    try:
        _, key = notes.parse_verifier_key(found.verifier_key)
        notes.check_cosignature(checkpoint.note, line, name, key)
    except notes.BadNote as exc:
        raise ValidationFailed(
            f"{exc}: a cosignature must verify under {name}'s registered key",
            errors={"line": [str(exc)]},
        ) from exc
    exists = session.scalar(
        select(LogCosignature.id).where(
            LogCosignature.checkpoint_id == checkpoint.id, LogCosignature.witness == name
        )
    )
    if exists:
        raise Conflict(f"{name} has cosigned this checkpoint already")
    row = LogCosignature(
        checkpoint_id=checkpoint.id,
        witness=name,
        public_key=found.verifier_key,
        line=line.strip() + "\n",
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "audit.cosign",
        "audit_log_checkpoint",
        checkpoint.id,
        organization_id=organization_id,
        after={"tree_size": tree_size, "witness": name},
    )
    return row


def registered(session: Session) -> dict[str, Ed25519PublicKey]:
    """The approved witnesses' keys, by name."""
    found = {}
    for witness in session.scalars(
        select(Witness).where(Witness.state == ApprovalState.APPROVED).order_by(Witness.id)
    ):
        name, key = notes.parse_verifier_key(witness.verifier_key)
        found[name] = key
    return found


def pinned(verifier_keys: Iterable[str]) -> dict[str, Ed25519PublicKey]:
    """Keys the operator pins (AUDIT_WITNESSES): verifier keys, by their names."""
    found = {}
    for text in verifier_keys:
        name, key = notes.parse_verifier_key(text)
        found[name] = key
    return found


@dataclass
class Vouching:
    """What the stored cosignatures say, held to trusted keys: the largest tree size each
    witness vouches for, the checkpoints they vouch for, and the lines that do not verify."""

    by_witness: dict[str, int] = field(default_factory=dict)
    checkpoints: dict[int, list[str]] = field(default_factory=dict)  # checkpoint id -> names
    forged: list[str] = field(default_factory=list)


def vouching(session: Session, keys: Keys) -> Vouching:
    found = Vouching()
    rows = session.execute(
        select(LogCosignature, LogCheckpoint)
        .join(LogCheckpoint, LogCheckpoint.id == LogCosignature.checkpoint_id)
        .order_by(LogCosignature.id)
    )
    for cosignature, checkpoint in rows:
        key = keys.get(cosignature.witness)
        where = f"{cosignature.witness}'s cosignature of the tree head of {checkpoint.tree_size}"
        if key is None:
            found.forged.append(f"{where}: the witness is not one the log trusts")
            continue
        try:
            notes.check_cosignature(checkpoint.note, cosignature.line, cosignature.witness, key)
        except notes.BadNote as exc:
            found.forged.append(f"{where}: {exc}")
            continue
        found.checkpoints.setdefault(checkpoint.id, []).append(cosignature.witness)
        found.by_witness[cosignature.witness] = max(
            checkpoint.tree_size, found.by_witness.get(cosignature.witness, 0)
        )
    return found


def cosignatures_of(session: Session, checkpoint_ids: list[int]) -> dict[int, list[LogCosignature]]:
    """Each checkpoint's cosignatures, in the order they came."""
    found: dict[int, list[LogCosignature]] = {}
    for row in session.scalars(
        select(LogCosignature)
        .where(LogCosignature.checkpoint_id.in_(checkpoint_ids))
        .order_by(LogCosignature.id)
    ):
        found.setdefault(row.checkpoint_id, []).append(row)
    return found


def listed(session: Session) -> list[Witness]:
    return list(session.scalars(select(Witness).order_by(Witness.id)))


def get(session: Session, witness_id: int) -> Witness:
    found = session.get(Witness, witness_id)
    if found is None:
        raise NotFound(f"witness {witness_id} was not found")
    return found
