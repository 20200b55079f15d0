#!/usr/bin/env python3
"""Check an export of the grading service's audit trail offline, without the service.

    python tools/verify_audit.py EXPORT.ndjson CHECKPOINT.note --key VERIFIER_KEY [--whole] \
        [--proof PROOF.json ...] [--previous OLDER.note --consistency PROOF.json]
    python tools/verify_audit.py EXPORT.ndjson CHECKPOINT.note --key VERIFIER_KEY \
        --gradings GRADINGS.json ...
    python tools/verify_audit.py --evidence EVIDENCE.json --key VERIFIER_KEY

EXPORT.ndjson is `GET /api/v1/audit/events?format=ndjson` (one event per line, with its
`leaf_index`); CHECKPOINT.note is `GET /api/v1/audit/checkpoints/latest`; VERIFIER_KEY is the
`verifier_key` of `GET /api/v1/audit/public-key` (keep it from a source you trust). The tool
checks, and says which check failed:

1. the checkpoint's signature (C2SP signed note, Ed25519);
2. every event's hash (SHA-256 of its canonical JSON) and every chain's links;
3. when the export holds the whole log up to the checkpoint's size (`--whole` insists on it): the
   Merkle root of RFC 6962 over the leaves SHA-256(0x00 ‖ event hash), in leaf order, equals
   the signed root;
4. each inclusion proof given (GET /api/v1/audit/events/{id}/proof) leads from its event to the
   signed root; a consistency proof (GET /api/v1/audit/consistency) shows the checkpoint
   extends the older one;
5. with `--witness WITNESS_KEY` (repeatable, the witnesses' verifier keys, kept from a source you
   trust): the checkpoint carries a cosignature of each (C2SP tlog-cosignature/v1) that
   verifies under that key — a line in a witness's name made with another key is a forgery.

GRADINGS.json is a page of `GET /api/v1/campaigns/{id}/gradings` (repeatable): each grading's
state, level and version there must be what the export's events tell (its enrolment, every
transition, every promotion) — a level changed in the table without an event shows here.

EVIDENCE.json is `GET /api/v1/gradings/{id}/evidence`: one grading's events, each with its
inclusion proof, and the checkpoint they were proven against. The tool checks the checkpoint's
signature with VERIFIER_KEY (not with the key the file names), every event's hash, and every
proof; events newer than the checkpoint are listed as pending.

Exit 0 when everything holds, 1 otherwise. Standard library and `cryptography` only: nothing
of the service is imported, so the checks can be read (and rewritten in another language) from
this file and docs/audit-trail.md alone.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
HASHED = (
    "chain_key", "chain_seq", "prev_hash", "occurred_at", "actor_account_id", "actor_username",
    "actor_role", "token_id", "client_ip", "request_id", "action", "entity_type", "entity_id",
    "organization_id", "before", "after", "reason",
)  # fmt: skip
OPTIONAL = ("via",)  # hashed only when set (the portal that acted for the actor)


class Failed(Exception):
    pass


# --- hashes -----------------------------------------------------------------------------------


def event_hash(event: dict) -> str:
    fields = {name: event.get(name) for name in HASHED}
    fields |= {name: event[name] for name in OPTIONAL if event.get(name) is not None}
    moment = datetime.fromisoformat(str(fields["occurred_at"]).replace("Z", "+00:00"))
    fields["occurred_at"] = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaves: list[bytes]) -> bytes:
    """MTH (RFC 6962 §2.1), with a stack of complete subtrees: O(n) time, O(log n) memory."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    stack: list[tuple[int, bytes]] = []  # (width, hash)
    for item in leaves:
        width, digest = 1, item
        while stack and stack[-1][0] == width:
            left = stack.pop()[1]
            width, digest = width * 2, node(left, digest)
        stack.append((width, digest))
    digest = stack.pop()[1]
    while stack:
        digest = node(stack.pop()[1], digest)
    return digest


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, proof: list[bytes], first: bytes, second: bytes) -> bool:
    """RFC 9162 §2.1.4.2."""
    if m == n:
        return not proof and first == second
    if not 0 < m < n or not proof:
        return False
    path = [first, *proof] if m & (m - 1) == 0 else list(proof)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first and sr == second


# --- the signed checkpoint --------------------------------------------------------------------


def read_key(vkey: str) -> tuple[str, Ed25519PublicKey, bytes]:
    name, hash_hex, encoded = vkey.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise Failed("the verifier key is not an Ed25519 signed-note key")
    stamp = hashlib.sha256(name.encode() + b"\n\x01" + raw[1:]).digest()[:4]
    if stamp.hex() != hash_hex:
        raise Failed("the verifier key's hash does not match its name and key")
    return name, Ed25519PublicKey.from_public_bytes(raw[1:]), stamp


def check_cosignatures(note: str, vkeys: list[str]) -> tuple[list[str], list[str]]:
    """Each witness's cosignature line in the note, held to its key: (vouching, problems)."""
    text, _, signatures = note.partition("\n\n")
    message_text = text + "\n"
    vouching, problems = [], []
    for vkey in vkeys:
        name, key, _ = read_key(vkey)
        raw = b"\x01" + key.public_bytes_raw()
        stamp = hashlib.sha256(name.encode() + b"\n\x04" + raw[1:]).digest()[:4]
        lines = [
            line.split(" ")
            for line in signatures.splitlines()
            if line.startswith("\u2014 " + name + " ")
        ]
        good = False
        for parts in lines:
            blob = base64.b64decode(parts[2])
            if len(blob) != 76 or blob[:4] != stamp:
                problems.append(f"a cosignature in {name}'s name was made with another key")
                continue
            moment = int.from_bytes(blob[4:12], "big")
            signed = f"cosignature/v1\ntime {moment}\n".encode() + message_text.encode()
            try:
                key.verify(blob[12:], signed)
            except InvalidSignature:
                problems.append(f"{name}'s cosignature does not verify")
                continue
            good = True
        if good:
            vouching.append(name)
        elif not lines:
            problems.append(f"the checkpoint carries no cosignature of {name}")
    return vouching, problems


def read_checkpoint(note: str, vkey: str) -> tuple[int, bytes]:
    name, key, stamp = read_key(vkey)
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    lines = text.splitlines()
    if len(lines) < 3 or lines[0] != name:
        raise Failed(f"the checkpoint is not one of {name}")
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == "\u2014" and parts[1] == name:
            blob = base64.b64decode(parts[2])
            if blob[:4] != stamp:
                continue
            try:
                key.verify(blob[4:], text.encode())
            except InvalidSignature as exc:
                raise Failed("the checkpoint's signature does not verify") from exc
            return int(lines[1]), base64.b64decode(lines[2])
    raise Failed("the checkpoint is not signed by the given key")


# --- the export -------------------------------------------------------------------------------


def check_events(events: list[dict]) -> list[str]:
    problems = []
    chains: dict[str, list[dict]] = {}
    for event in events:
        if event_hash(event) != event["hash"]:
            problems.append(f"event {event['id']}: its content does not match its hash")
        chains.setdefault(event["chain_key"], []).append(event)
    for key, chain in sorted(chains.items()):
        chain.sort(key=lambda e: e["chain_seq"])
        previous, seq = GENESIS, 1
        for event in chain:
            if event["chain_seq"] != seq or event["prev_hash"] != previous:
                problems.append(
                    f"chain {key}: event {event['id']} (#{event['chain_seq']}) does not follow "
                    f"#{seq - 1}"
                )
                break
            previous, seq = event["hash"], seq + 1
    return problems


def check_tree(events: list[dict], size: int, root: bytes, whole: bool) -> list[str]:
    placed = {e["leaf_index"]: e for e in events if e.get("leaf_index") is not None}
    absent = [i for i in range(size) if i not in placed]
    if absent and whole:
        return [f"leaf {absent[0]} (and {len(absent) - 1} more) of the signed log is not in the "
                "export: its event was removed"]  # fmt: skip
    if absent:
        return ["partial"]
    leaves = [leaf(bytes.fromhex(placed[i]["hash"])) for i in range(size)]
    if root_of(leaves) != root:
        return [f"the Merkle root of the first {size} leaves is not the signed root"]
    return []


STORY = ("grading.enroll", "grading.transition", "grading.promote")


def check_gradings(events: list[dict], listings: list[dict]) -> list[str]:
    """Each listed grading's state, level and version against the story the events tell."""
    told: dict[int, dict] = {}
    for event in sorted(events, key=lambda e: e["id"]):
        if event["entity_type"] != "grading" or event["action"] not in STORY:
            continue
        after = event["after"] or {}
        names = ("level", "version") if event["action"] == "grading.promote" else (
            "state", "level", "version")  # fmt: skip
        facts = told.setdefault(int(event["entity_id"]), {})
        found = {n: after[n] for n in names if n in after}
        if event["action"] == "grading.promote" and "version" not in found and "version" in facts:
            found["version"] = facts["version"] + 1  # an older promotion did not say it
        facts.update(found, event=event["id"])
    problems = []
    for grading in listings:
        facts = told.get(grading["id"])
        if facts is None:
            problems.append(f"grading {grading['id']} is listed but no event enrolled it")
            continue
        for name in ("state", "level", "version"):
            if name in facts and name in grading and grading[name] != facts[name]:
                problems.append(
                    f"grading {grading['id']}: the listing says {name} {grading[name]!r}, the "
                    f"events {facts[name]!r} (the last is event {facts['event']})"
                )
    return problems


def check_evidence(name: str, vkey: str) -> int:
    """One grading's events, each proven in the signed checkpoint the file carries."""
    with open(name, encoding="utf-8") as handle:
        evidence = json.load(handle)
    if not evidence.get("checkpoint"):
        raise Failed("the evidence carries no checkpoint: ask for it after the next checkpoint")
    size, root = read_checkpoint(evidence["checkpoint"], vkey)
    problems, proven, pending = [], 0, []
    for event in evidence["events"]:
        if event_hash(event) != event["hash"]:
            problems.append(f"event {event['id']}: its content does not match its hash")
            continue
        proof = event.get("inclusion")
        if proof is None:
            pending.append(event["id"])
            continue
        path = [bytes.fromhex(p) for p in proof["path"]]
        digest = leaf(bytes.fromhex(event["hash"]))
        if proof["tree_size"] != size or not verify_inclusion(
            digest, proof["leaf_index"], size, path, root
        ):
            problems.append(f"event {event['id']} is not proven in the checkpoint of {size}")
            continue
        proven += 1
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems:
        return 1
    waiting = f"; {len(pending)} newer than it (pending): {pending}" if pending else ""
    print(f"intact: {proven} events of grading {evidence.get('grading_id')} are in the signed "
          f"checkpoint of {size} events{waiting}")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", nargs="?")
    parser.add_argument("checkpoint", nargs="?")
    parser.add_argument("--evidence", help="a grading's evidence (JSON), checked on its own")
    parser.add_argument(
        "--gradings",
        action="append",
        default=[],
        help="a page of GET /api/v1/campaigns/{id}/gradings to hold to the events (repeatable)",
    )
    parser.add_argument("--key", required=True, help="the log's signed-note verifier key")
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        help="a witness's verifier key: its cosignature of the checkpoint must verify (repeatable)",
    )
    parser.add_argument("--proof", action="append", default=[], help="an inclusion proof (JSON)")
    parser.add_argument("--previous", help="an older checkpoint the log must extend")
    parser.add_argument("--consistency", help="the consistency proof from --previous (JSON)")
    parser.add_argument(
        "--whole",
        action="store_true",
        help="the export is the whole log (an export by the root's inspector): every leaf up to "
        "the checkpoint's size must be in it",
    )
    args = parser.parse_args(argv)
    if args.evidence:
        try:
            return check_evidence(args.evidence, args.key)
        except (Failed, OSError, ValueError, KeyError, TypeError) as exc:
            print(f"FAILED: {exc}")
            return 1
    if not (args.export and args.checkpoint):
        parser.error("give EXPORT and CHECKPOINT, or --evidence")
    problems: list[str] = []
    try:
        with open(args.checkpoint, encoding="utf-8") as handle:
            note = handle.read()
        size, root = read_checkpoint(note, args.key)
        vouching, cosigning = check_cosignatures(note, args.witness)
        problems += cosigning
        with open(args.export, encoding="utf-8") as handle:
            events = [json.loads(line) for line in handle if line.strip()]
        by_id = {e["id"]: e for e in events}
        problems += check_events(events)
        tree = check_tree(events, size, root, args.whole)
        whole = tree != ["partial"]
        problems += [] if tree == ["partial"] else tree
        for name in args.proof:
            with open(name, encoding="utf-8") as handle:
                proof = json.load(handle)
            event = by_id.get(proof["event_id"])
            expected = leaf(bytes.fromhex(event["hash"])) if event else None
            ok = (
                expected is not None
                and proof["tree_size"] == size
                and verify_inclusion(
                    expected,
                    proof["leaf_index"],
                    size,
                    [bytes.fromhex(p) for p in proof["path"]],
                    root,
                )
            )
            if not ok:
                problems.append(f"{name}: event {proof['event_id']} is not proven in the log")
        for name in args.gradings:
            with open(name, encoding="utf-8") as handle:
                listed = json.load(handle)
            problems += check_gradings(events, listed.get("items", listed))
        if args.previous:
            with open(args.previous, encoding="utf-8") as handle:
                old_size, old_root = read_checkpoint(handle.read(), args.key)
            proof_path: list[bytes] = []
            if args.consistency:
                with open(args.consistency, encoding="utf-8") as handle:
                    proof_path = [bytes.fromhex(p) for p in json.load(handle)["path"]]
            if not verify_consistency(old_size, size, proof_path, old_root, root):
                problems.append(f"the log of {size} does not extend the older log of {old_size}")
    except (Failed, OSError, ValueError, KeyError) as exc:
        print(f"FAILED: {exc}")
        return 1
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems:
        return 1
    scope = "the Merkle root" if whole else "the proofs given (the export is not the whole log)"
    print(f"intact: {len(events)} events, their chains and {scope} agree with the checkpoint "
          f"of {size} events")  # fmt: skip
    if args.gradings:
        print(f"the gradings listed in {len(args.gradings)} file(s) are what the events tell")
    for name in vouching:
        print(f"witness {name} vouches for the checkpoint of {size} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
