"""Signed checkpoints: the heads of every chain at one moment, signed with Ed25519."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit import log, notes, signing
from service.audit.canonical import canonical_json, timestamp
from service.audit.models import ChainHead, Checkpoint
from service.audit.operations import record
from service.context import Actor
from service.db import utcnow


def create_checkpoint(session: Session, actor: Actor, private_key: Ed25519PrivateKey) -> Checkpoint:
    heads = {
        h.chain_key: [h.seq, h.hash]
        for h in session.scalars(select(ChainHead).order_by(ChainHead.chain_key))
    }
    public = private_key.public_key()
    now = utcnow()
    body = {"created_at": timestamp(now), "key_id": signing.key_id(public), "heads": heads}
    payload = canonical_json(body)
    checkpoint = Checkpoint(
        created_at=now,
        created_by=actor.username,
        key_id=body["key_id"],
        payload=payload.decode("utf-8"),
        signature=signing.sign(private_key, payload),
    )
    session.add(checkpoint)
    session.flush()
    record(
        session,
        actor,
        "audit.checkpoint",
        "audit_checkpoint",
        checkpoint.id,
        after={"chains": len(heads), "key_id": checkpoint.key_id},
    )
    return checkpoint


def sign_all(session: Session, actor: Actor, key: Ed25519PrivateKey, origin: str) -> dict[str, Any]:
    """Sign the chains' heads and the Merkle log's tree head at once; what an inspector saves:
    the chain heads (grows with the organizations) and the note (constant size)."""
    chains = create_checkpoint(session, actor, key)
    tree = log.sign(session, key, origin)
    exported = export(chains, signing.public_pem(key.public_key()))
    return {
        **exported,
        "tree_size": tree.tree_size,
        "root_hash": tree.root_hash,
        "note": tree.note,
        "verifier_key": notes.verifier_key(origin, key.public_key()),
    }


def export(checkpoint: Checkpoint, public_key_pem: str) -> dict[str, Any]:
    """What an inspector saves: enough to verify the signature and the heads later."""
    return {
        "id": checkpoint.id,
        "payload": checkpoint.payload,
        "signature": checkpoint.signature,
        "key_id": checkpoint.key_id,
        "public_key": public_key_pem,
    }


class BadCheckpoint(Exception):
    pass


def read_saved(saved: dict[str, Any], trusted_public_pem: str) -> dict[str, list[Any]]:
    """Check a saved checkpoint's signature against the trusted key; return its heads."""
    try:
        payload = saved["payload"].encode("utf-8")
        signature = saved["signature"]
    except (KeyError, AttributeError) as exc:
        raise BadCheckpoint("not a checkpoint file (payload and signature expected)") from exc
    if not signing.verify_signature(trusted_public_pem, payload, signature):
        raise BadCheckpoint(
            "the checkpoint's signature does not verify with the service's public key"
        )
    heads: dict[str, list[Any]] = json.loads(payload)["heads"]
    return heads


def newest(session: Session, limit: int = 100) -> list[Checkpoint]:
    """The checkpoint files written, newest first."""
    return list(session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(limit)))
