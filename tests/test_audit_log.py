"""The Merkle log over the audit trail: integration, signed tree heads (C2SP checkpoints),
inclusion and consistency proofs over HTTP, witnesses' cosignatures."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts import operations as accounts
from service.accounts.models import Role
from service.audit import log, merkle, notes, signing
from service.audit.models import AuditEvent, LogLeaf, LogNode
from service.audit.operations import record
from service.context import Actor
from tests.conftest import Api, assert_problem
from tests.witnesses import register_in

ORIGIN = "grading-service/audit-log"
WITNESS = "jiwei.xinglong.example/witness"


def _events_root(db: Session) -> bytes:
    hashes = db.scalars(select(AuditEvent.hash).order_by(AuditEvent.id)).all()
    return merkle.root_of([log.leaf_of(h) for h in hashes])


def _note(api: Api) -> str:
    response = api.client.get("/api/v1/audit/checkpoints/latest")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def _key(api: Api) -> Ed25519PrivateKey:
    key: Ed25519PrivateKey = api.client.application.extensions["grading.signing_key"]
    return key


def _sign(api: Api) -> dict[str, Any]:
    response = api.post("/api/v1/audit/checkpoints", who="inspector")
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_every_event_gets_a_leaf_and_the_tree_is_the_events_tree(db: Session) -> None:
    head = log.integrate(db)
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    assert head.size == events == db.scalar(select(func.count()).select_from(LogLeaf))
    assert head.root == _events_root(db) == log.stored_root(db, head.size)
    for n in range(3):
        record(db, Actor.system("t"), "test.note", "test", n, organization_id=None)
    again = log.integrate(db)
    assert again.size == head.size + 3 and again.root == _events_root(db)
    assert log.integrate(db) == again  # nothing new: nothing changes


def test_integration_in_small_batches_stores_each_subtree_once(db: Session) -> None:
    for n in range(37):
        record(db, Actor.system("t"), "test.note", "test", n, organization_id=None)
    first = log.integrate(db, batch=5, limit=13)
    assert first.size == 13
    full = log.integrate(db, batch=7)
    assert full.root == _events_root(db)
    stored = db.scalar(select(func.count()).select_from(LogNode))
    # a tree of n leaves has one complete subtree per set bit of each prefix: n - popcount(n)
    assert stored == full.size - bin(full.size).count("1")


def test_a_checkpoint_is_a_signed_note_whose_size_does_not_grow_with_organizations(
    api: Api, db: Session
) -> None:
    first = _sign(api)
    checkpoint = notes.read_checkpoint(first["note"], ORIGIN, _key(api).public_key())
    assert checkpoint.size == first["tree_size"] and checkpoint.root.hex() == first["root_hash"]
    assert _note(api) == first["note"]
    for org in range(400):  # 400 more chains: the chain heads grow, the note does not
        record(db, Actor.system("t"), "test.note", "test", org, organization_id=100_000 + org)
    db.commit()
    second = _sign(api)
    assert len(second["payload"]) > len(first["payload"]) + 400 * 60
    assert abs(len(second["note"]) - len(first["note"])) <= 2  # only the size's digits
    key = api.get("/api/v1/audit/public-key", who=None).get_json()["verifier_key"]
    assert notes.parse_verifier_key(key)[0] == ORIGIN


def test_an_event_is_proven_in_the_log_against_a_signed_tree_head(api: Api, db: Session) -> None:
    event = db.get_one(
        AuditEvent, record(db, Actor.system("t"), "test.note", "test", 1, organization_id=None)
    )
    db.commit()
    signed = _sign(api)
    head = notes.read_checkpoint(signed["note"], ORIGIN, _key(api).public_key())
    proof = api.get(
        f"/api/v1/audit/events/{event.id}/proof?tree_size={head.size}", who="inspector"
    ).get_json()
    assert merkle.verify_inclusion(
        merkle.leaf_hash(bytes.fromhex(event.hash)),
        proof["leaf_index"],
        head.size,
        [bytes.fromhex(p) for p in proof["path"]],
        head.root,
    )
    assert_problem(
        api.get(
            f"/api/v1/audit/events/{event.id}/proof?tree_size={head.size + 5}", who="inspector"
        ),
        422,
        "validation-error",
    )
    assert_problem(
        api.get("/api/v1/audit/events/99999999/proof", who="inspector"), 404, "not-found"
    )
    later = record(db, Actor.system("t"), "test.note", "test", 2, organization_id=None)
    db.commit()
    assert_problem(
        api.get(f"/api/v1/audit/events/{later}/proof", who="inspector"), 404, "not-found"
    )  # not integrated yet


def test_todays_log_is_proven_to_extend_yesterdays(api: Api, db: Session) -> None:
    yesterday = notes.read_checkpoint(_sign(api)["note"], ORIGIN, _key(api).public_key())
    for n in range(20):
        record(db, Actor.system("t"), "test.note", "test", n, organization_id=None)
    db.commit()
    today = notes.read_checkpoint(_sign(api)["note"], ORIGIN, _key(api).public_key())
    proof = api.get(
        f"/api/v1/audit/consistency?from={yesterday.size}&to={today.size}", who="inspector"
    ).get_json()
    path = [bytes.fromhex(p) for p in proof["path"]]
    assert merkle.verify_consistency(yesterday.size, today.size, path, yesterday.root, today.root)
    assert_problem(
        api.get(f"/api/v1/audit/consistency?from={today.size + 1}&to=1", who="inspector"),
        422,
        "validation-error",
    )


def test_a_witness_cosigns_a_checked_tree_head_once(api: Api, db: Session) -> None:
    signed = _sign(api)
    witness = Ed25519PrivateKey.from_private_bytes(b"w" * 32)
    body = {
        "witness": WITNESS,
        "verifier_key": notes.verifier_key(WITNESS, witness.public_key()),
        "line": notes.cosign(signed["note"], WITNESS, witness, 1_800_000_000),
    }
    url = f"/api/v1/audit/checkpoints/{signed['tree_size']}/cosignatures"
    unregistered = assert_problem(api.post(url, body, who="inspector"), 422, "validation-error")
    assert unregistered["errors"] == {"witness": ["not a registered witness"]}
    register_in(db, WITNESS, body["verifier_key"])
    db.commit()
    assert api.post(url, body, who="inspector").status_code == 201
    assert_problem(api.post(url, body, who="inspector"), 409, "conflict")
    latest = _note(api)
    assert latest == signed["note"] + body["line"]
    assert notes.check_cosignature(latest, body["line"], WITNESS, witness.public_key()) == (
        1_800_000_000
    )
    history = api.client.get("/api/v1/audit/checkpoints/history").get_json()["items"][0]
    assert [(c["witness"], c["verified"]) for c in history["cosigners"]] == [(WITNESS, True)]
    other = Ed25519PrivateKey.from_private_bytes(b"x" * 32)
    forged = {**body, "line": notes.cosign(signed["note"], WITNESS, other, 1_800_000_000)}
    assert_problem(api.post(url, forged, who="inspector"), 422, "validation-error")
    assert_problem(
        api.post("/api/v1/audit/checkpoints/999999/cosignatures", body, who="inspector"),
        404,
        "not-found",
    )


def test_a_note_signed_by_another_key_or_changed_is_refused() -> None:
    key = signing.load_private_key(None, "one")
    other = signing.load_private_key(None, "two")
    head = notes.Checkpoint(ORIGIN, 12, bytes(32), 1_800_000_000)
    note = notes.sign_checkpoint(head, key)
    assert notes.read_checkpoint(note, ORIGIN, key.public_key()) == head
    for bad, key_used in (
        (note, other),
        (note.replace("\n12\n", "\n13\n"), key),
        (
            note.replace(
                base64.b64encode(bytes(32)).decode(), base64.b64encode(b"1" * 32).decode()
            ),
            key,
        ),
        (note.split("\n\n")[0] + "\n", key),
    ):
        try:
            notes.read_checkpoint(bad, ORIGIN, key_used.public_key())
        except notes.BadNote:
            continue
        raise AssertionError(f"accepted: {bad!r}")


def test_a_verifier_key_whose_base64_holds_a_plus_sign_is_read() -> None:
    for seed in range(64):  # some of these public keys encode with '+'
        key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        vkey = notes.verifier_key(WITNESS, key.public_key())
        name, public = notes.parse_verifier_key(vkey)
        assert name == WITNESS and notes.raw_public(public) == notes.raw_public(key.public_key())


def test_a_witness_is_registered_by_one_admin_at_the_root_and_approved_by_another(
    api: Api, db: Session
) -> None:
    actor = Actor.system("t")
    second = accounts.create_account(
        db,
        actor,
        username="root_admin_2",
        display_name="市委组织部",
        organization=api.world.org("C"),
    )
    accounts.grant_role(db, actor, second, Role.ADMIN, api.world.org("C"))
    _, api.world.tokens["root_admin_2"] = accounts.issue_token(
        db, actor, second, name="t", lifetime=timedelta(days=1)
    )
    db.commit()
    key = Ed25519PrivateKey.from_private_bytes(b"r" * 32)
    body = {"name": WITNESS, "verifier_key": notes.verifier_key(WITNESS, key.public_key())}
    assert_problem(api.post("/api/v1/audit/witnesses", body, who="admin"), 403, "forbidden")
    other = {**body, "verifier_key": notes.verifier_key("someone.else", key.public_key())}
    assert_problem(
        api.post("/api/v1/audit/witnesses", other, who="root_admin"), 422, "validation-error"
    )
    asked = api.post("/api/v1/audit/witnesses", body, who="root_admin")
    assert asked.status_code == 201 and asked.get_json()["state"] == "pending"
    assert_problem(api.post("/api/v1/audit/witnesses", body, who="root_admin"), 409, "conflict")
    witness_id = asked.get_json()["id"]
    own = api.post(f"/api/v1/audit/witnesses/{witness_id}/approve", {}, who="root_admin")
    assert_problem(own, 403, "four-eyes")
    approved = api.post(  # the lifecycle's one endpoint, as a portal drives every lifecycle
        f"/api/v1/audit/witnesses/{witness_id}/transitions",
        {"transition": "approve"},
        who="root_admin_2",
    )
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    assert_problem(
        api.post(
            f"/api/v1/audit/witnesses/{witness_id}/reject", {"reason": "r"}, who="root_admin_2"
        ),
        409,
        "approval-decided",
    )
    spare = Ed25519PrivateKey.from_private_bytes(b"s" * 32)
    unknown = {"name": "shengwei.example/witness"}
    unknown["verifier_key"] = notes.verifier_key(unknown["name"], spare.public_key())
    second_id = api.post("/api/v1/audit/witnesses", unknown, who="root_admin").get_json()["id"]
    no_reason = api.post(f"/api/v1/audit/witnesses/{second_id}/reject", {}, who="root_admin_2")
    assert_problem(no_reason, 422, "validation-error")
    rejected = api.post(
        f"/api/v1/audit/witnesses/{second_id}/reject",
        {"reason": "不是本级纪委的见证人"},
        who="root_admin_2",
    )
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    listed = api.get("/api/v1/audit/witnesses", who="inspector").get_json()["items"]
    assert [(w["name"], w["state"]) for w in listed] == [
        (WITNESS, "approved"),
        ("shengwei.example/witness", "rejected"),
    ]
    actions = {
        e["action"]
        for e in api.get("/api/v1/audit/events?limit=500", who="root_admin").get_json()["items"]
    }
    assert {"audit.witness_request", "audit.witness_approve"} <= actions
