"""A witness: what an independent office (e.g. the discipline inspection commission) runs from
cron on its own machine. It fetches the log's latest checkpoint, checks the log's signature and
that the log extends the last checkpoint it accepted (a consistency proof), cosigns it with its
own key and sends the cosignature back. A log that went back or forked is refused, loudly.

With `full`, it also audits what the checkpoint stands for before cosigning: it downloads the
whole trail (NDJSON, with an inspector's token at the root), re-hashes every event, walks every
chain, rebuilds the Merkle root of the signed size and asks the service's own verify (which
replays the tables against the trail). An event edited, removed or reordered since it was
signed, or a table that no longer says what the trail says, is refused although no new
checkpoint was signed.

Its state is a directory of its own: `witness.pem` (its key, made on first run), `log.vkey`
(the log's verifier key, pinned on first run unless given) and `accepted.note`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.audit import merkle, notes
from service.audit.canonical import GENESIS, fields_hash


class Refused(Exception):
    """The log is not one the witness may cosign: it went back, forked or is not signed."""


class CannotCheck(Exception):
    """The witness could not look (the service unreachable, no token, a token without the
    scope, a witness not registered): nothing is known about the log — not damage."""


def trouble(exc: BaseException, url: str) -> str:
    """One line for what stopped the witness from checking."""
    if isinstance(exc, urllib.error.HTTPError):
        said = {
            401: "the service refused the token (401): set WITNESS_TOKEN to an inspector's token",
            403: "the token may not read the whole log (403): it must be an inspector's at "
            "the root",
            404: f"{url} answered 404: is this the grading service's address?",
        }
        return said.get(exc.code, f"{url} answered {exc.code} {exc.reason}")
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach {url}: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return f"{url} did not answer within the timeout"
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return f"{url} answered something that is not the grading service's JSON"
    return f"{url}: {exc}"


@dataclass(frozen=True)
class Outcome:
    size: int
    previous: int | None
    cosigned: bool


def _key(state: Path) -> Ed25519PrivateKey:
    path = state / "witness.pem"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)
    return loaded


def verifier_key_of(state: Path, name: str) -> str:
    """The witness's verifier key (its key made on first use): what an admin at the root
    registers, and an operator may pin in AUDIT_WITNESSES."""
    state.mkdir(parents=True, exist_ok=True)
    return notes.verifier_key(name, _key(state).public_key())


def _request(url: str, token: str | None) -> urllib.request.Request:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return request


def _get(url: str, token: str | None) -> bytes:
    with urllib.request.urlopen(_request(url, token), timeout=30) as response:
        body: bytes = response.read()
        return body


def audit_export(lines: Iterable[bytes], size: int, root: bytes) -> list[str]:
    """What is wrong with an NDJSON export of the whole trail, held to a signed tree head:
    events whose content does not match their hash, broken chains, missing leaves, another
    root. Streams: memory is one leaf hash per event and one head per chain."""
    problems: list[str] = []
    heads: dict[str, tuple[int, str]] = {}
    leaves: dict[int, bytes] = {}
    for raw in lines:
        if not raw.strip():
            continue
        event = json.loads(raw)
        fields = dict(event, occurred_at=datetime.fromisoformat(event["occurred_at"]))
        if fields_hash(fields) != event["hash"]:
            problems.append(f"event {event['id']}: its content does not match its hash")
        seq, previous = heads.get(event["chain_key"], (0, GENESIS))
        if event["chain_seq"] != seq + 1 or event["prev_hash"] != previous:
            problems.append(
                f"event {event['id']}: #{event['chain_seq']} of {event['chain_key']} does not "
                f"follow #{seq}"
            )
        heads[event["chain_key"]] = (event["chain_seq"], event["hash"])
        if event.get("leaf_index") is not None:
            leaves[event["leaf_index"]] = merkle.leaf_hash(bytes.fromhex(event["hash"]))
    missing = [i for i in range(size) if i not in leaves]
    if missing:
        problems.append(
            f"leaf {missing[0]} ({len(missing)} in all) of the signed log is gone (or the "
            "token is not an inspector's at the root, and sees only part of the trail)"
        )
    elif merkle.root_of([leaves[i] for i in range(size)]) != root:
        problems.append(f"the first {size} events do not hash to the signed root")
    return problems


def _full_audit(base_url: str, token: str | None, head: notes.Checkpoint) -> None:
    if not token:
        raise CannotCheck("a full audit needs an inspector's token (--token or WITNESS_TOKEN)")
    url = f"{base_url}/api/v1/audit/events?format=ndjson"
    with urllib.request.urlopen(_request(url, token), timeout=300) as response:
        problems = audit_export(response, head.size, head.root)
    report = json.loads(_get(f"{base_url}/api/v1/audit/verify", token))
    if not report["intact"]:
        problems.append(f"the service's own verify: {report['summary']}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise Refused(f"DAMAGED: {'; '.join(problems[:3])}{more}")


def run(
    state: Path,
    base_url: str,
    name: str,
    token: str | None,
    log_key: str | None = None,
    *,
    full: bool = False,
) -> Outcome:
    state.mkdir(parents=True, exist_ok=True)
    pinned = state / "log.vkey"
    if log_key:
        pinned.write_text(log_key.strip() + "\n", encoding="utf-8")
    elif not pinned.exists():
        found = json.loads(_get(f"{base_url}/api/v1/audit/public-key", None))
        pinned.write_text(found["verifier_key"] + "\n", encoding="utf-8")
    origin, log_public = notes.parse_verifier_key(pinned.read_text(encoding="utf-8"))
    note = _get(f"{base_url}/api/v1/audit/checkpoints/latest", None).decode()
    text, lines = notes.split_note(note)
    signed_part = f"{text}\n{lines[0]}\n"  # the log's own line; witnesses' lines follow it
    try:
        head = notes.read_checkpoint(note, origin, log_public)
    except notes.BadNote as exc:
        raise Refused(f"the latest checkpoint does not verify: {exc}") from exc
    accepted_path = state / "accepted.note"
    previous = None
    if accepted_path.exists():
        before = notes.read_checkpoint(
            accepted_path.read_text(encoding="utf-8"), origin, log_public
        )
        previous = before.size
        if head.size < before.size:
            raise Refused(
                f"ROLLED BACK: the log shows {head.size} events; it signed {before.size} before"
            )
        if head.size == before.size and head.root != before.root:
            raise Refused(f"FORKED: two different logs of {head.size} events were signed")
        if head.size > before.size:
            proof = json.loads(
                _get(
                    f"{base_url}/api/v1/audit/consistency?from={before.size}&to={head.size}",
                    token,
                )
            )
            path = [bytes.fromhex(p) for p in proof["path"]]
            if not merkle.verify_consistency(before.size, head.size, path, before.root, head.root):
                raise Refused(
                    f"FORKED: the log of {head.size} does not extend the log of {before.size} "
                    "this witness accepted"
                )
    if full:
        _full_audit(base_url, token, head)
    key = _key(state)
    line = notes.cosign(signed_part, name, key, int(time.time()))
    body = json.dumps(
        {"witness": name, "verifier_key": notes.verifier_key(name, key.public_key()), "line": line}
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/api/v1/audit/checkpoints/{head.size}/cosignatures",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30):
            cosigned = True
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # 409: this witness cosigned this checkpoint already
            hint = (
                " — is this witness registered? An admin at the root registers "
                f"{notes.verifier_key(name, key.public_key())} (POST /api/v1/audit/witnesses) "
                "and a second approves it"
                if exc.code == 422
                else ""
            )
            raise CannotCheck(
                f"the log refused the cosignature: {exc.code} {exc.read()[:300]!r}{hint}"
            ) from exc
        cosigned = False
    accepted_path.write_text(signed_part, encoding="utf-8")
    return Outcome(head.size, previous, cosigned)
