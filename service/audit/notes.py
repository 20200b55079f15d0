"""Signed notes (C2SP signed-note), transparency-log checkpoints (C2SP tlog-checkpoint) and
witness cosignatures (C2SP tlog-cosignature v1), with Ed25519 from `cryptography`.

A checkpoint's note text is

    <origin>\\n<tree size>\\n<base64 root hash>\\n<time: seconds since 1970, UTC>\\n

(the fourth line is an extension line: tooling that does not know it ignores it), followed by a
blank line and one signature line per signer:

    — <key name> <base64(4-byte key hash ‖ 64-byte Ed25519 signature of the text)>

The key hash of an Ed25519 key is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key);
its verifier key is "<name>+<8 hex digits of the key hash>+<base64(0x01 ‖ public key)>". A witness
cosignature line carries base64(key hash ‖ 8-byte big-endian time ‖ signature), the key hash
taken with 0x04 instead of 0x01, over "cosignature/v1\\ntime <time>\\n" ‖ the checkpoint text.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DASH = "\u2014"  # — (the signature line's em dash)
ED25519, COSIGNATURE_V1 = b"\x01", b"\x04"


class BadNote(ValueError):
    pass


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_hash(name: str, kind: bytes, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + kind + public).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    public = raw_public(key)
    return (
        f"{name}+{key_hash(name, ED25519, public).hex()}+"
        + base64.b64encode(ED25519 + public).decode()
    )


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    try:
        name, hash_hex, encoded = vkey.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise BadNote("a verifier key is name+hash+base64 key") from exc
    if raw[:1] != ED25519 or len(raw) != 33 or key_hash(name, ED25519, raw[1:]).hex() != hash_hex:
        raise BadNote("the verifier key is not an Ed25519 key of that name")
    return name, Ed25519PublicKey.from_public_bytes(raw[1:])


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: int

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n{self.time}\n"


def sign_checkpoint(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    """The signed note: the checkpoint's text, a blank line, the log's signature line."""
    text = checkpoint.text()
    signature = key.sign(text.encode())
    stamp = key_hash(checkpoint.origin, ED25519, raw_public(key.public_key()))
    line = f"{DASH} {checkpoint.origin} {base64.b64encode(stamp + signature).decode()}\n"
    return f"{text}\n{line}"


def split_note(note: str) -> tuple[str, list[str]]:
    text, sep, signatures = note.partition("\n\n")
    if not sep or not text or not signatures.endswith("\n"):
        raise BadNote("a signed note is its text, a blank line and signature lines")
    return text + "\n", signatures.splitlines()


def read_checkpoint(note: str, origin: str, key: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint, once the log's own signature line verifies (any other lines, such as
    witnesses', are left to `cosigners`)."""
    text, lines = split_note(note)
    body = text.splitlines()
    if len(body) < 3 or body[0] != origin:
        raise BadNote(f"not a checkpoint of {origin}")
    try:
        size = int(body[1])
        root = base64.b64decode(body[2], validate=True)
        time = int(body[3]) if len(body) > 3 else 0
    except ValueError as exc:
        raise BadNote("the checkpoint's size, root or time is malformed") from exc
    if size < 0 or len(root) != 32 or str(size) != body[1]:
        raise BadNote("the checkpoint's size or root is malformed")
    stamp = key_hash(origin, ED25519, raw_public(key))
    for line in lines:
        name, blob = _signature_line(line)
        if name != origin or blob[:4] != stamp:
            continue
        try:
            key.verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise BadNote("the log's signature does not verify") from exc
        return Checkpoint(origin, size, root, time)
    raise BadNote("the note carries no signature of the log's key")


def _signature_line(line: str) -> tuple[str, bytes]:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != DASH:
        raise BadNote(f"not a signature line: {line[:40]!r}")
    try:
        return parts[1], base64.b64decode(parts[2], validate=True)
    except ValueError as exc:
        raise BadNote("a signature line's signature is not base64") from exc


def cosignature_message(text: str, time: int) -> bytes:
    return f"cosignature/v1\ntime {time}\n".encode() + text.encode()


def cosign(note: str, name: str, key: Ed25519PrivateKey, time: int) -> str:
    """A witness's signature line for the checkpoint in `note`."""
    text, _ = split_note(note)
    signature = key.sign(cosignature_message(text, time))
    stamp = key_hash(name, COSIGNATURE_V1, raw_public(key.public_key()))
    blob = stamp + struct.pack(">Q", time) + signature
    return f"{DASH} {name} {base64.b64encode(blob).decode()}\n"


def check_cosignature(note: str, line: str, name: str, key: Ed25519PublicKey) -> int:
    """The time a witness's cosignature line gives, once it verifies for this checkpoint."""
    text, _ = split_note(note)
    signer, blob = _signature_line(line.strip())
    if signer != name or len(blob) != 4 + 8 + 64:
        raise BadNote("not a cosignature of that witness")
    if blob[:4] != key_hash(name, COSIGNATURE_V1, raw_public(key)):
        raise BadNote("the cosignature was made with another key")
    (time,) = struct.unpack(">Q", blob[4:12])
    try:
        key.verify(blob[12:], cosignature_message(text, time))
    except InvalidSignature as exc:
        raise BadNote("the cosignature does not verify") from exc
    return int(time)
