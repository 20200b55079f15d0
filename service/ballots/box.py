"""The sealed ballot box: each session's X25519 key pair, ballots sealed to its public key, and
the fixed-length encoding of a ballot (so a ciphertext's length says nothing of its choices).

A sealed ballot is `ephemeral public key (32 bytes) ‖ ChaCha20-Poly1305(ballot)`: a fresh
X25519 key per ballot, HKDF-SHA256 over the shared secret (salted with both public keys) gives a
one-time key, the session id is authenticated data (a ballot cannot be moved to another box).
The session's private key is stored wrapped (ChaCha20-Poly1305) under a key derived from the
server's BALLOT_BOX_SECRET, which is not in the database (docs/decisions/0017).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from service.ballots.codes import ALPHABET

FORMAT = 1
_NONCE = b"\x00" * 12  # every sealing key is used once
_SEAL_INFO = b"grading ballot box v1: seal"
_WRAP_INFO = b"grading ballot box v1: wrap the session key"


class BoxKeyUnavailable(Exception):
    """The box cannot be opened: its key was wrapped under another BALLOT_BOX_SECRET."""


def _hkdf(secret: bytes, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def _aad(session_id: int) -> bytes:
    return b"ballot-session:" + str(session_id).encode()


@dataclass(frozen=True)
class BoxKeys:
    public: bytes  # 32 bytes, raw X25519
    wrapped_private: bytes  # nonce (12) ‖ ChaCha20-Poly1305(raw private key)


def new_keys(server_secret: str, session_id: int) -> BoxKeys:
    private = X25519PrivateKey.generate()
    nonce = os.urandom(12)
    wrap_key = _hkdf(server_secret.encode(), None, _WRAP_INFO)
    wrapped = ChaCha20Poly1305(wrap_key).encrypt(
        nonce, private.private_bytes_raw(), _aad(session_id)
    )
    return BoxKeys(private.public_key().public_bytes_raw(), nonce + wrapped)


def unwrap(server_secret: str, session_id: int, wrapped: bytes) -> X25519PrivateKey:
    wrap_key = _hkdf(server_secret.encode(), None, _WRAP_INFO)
    try:
        raw = ChaCha20Poly1305(wrap_key).decrypt(wrapped[:12], wrapped[12:], _aad(session_id))
    except InvalidTag as exc:
        raise BoxKeyUnavailable(
            f"the key of ballot session {session_id} cannot be unwrapped"
        ) from exc
    return X25519PrivateKey.from_private_bytes(raw)


def unwrap_any(ring: Sequence[str], session_id: int, wrapped: bytes) -> X25519PrivateKey:
    """The box's key, by the first secret of the ring (BALLOT_BOX_SECRET, then
    BALLOT_BOX_SECRET_PREVIOUS…) that unwraps it."""
    for server_secret in ring:
        try:
            return unwrap(server_secret, session_id, wrapped)
        except BoxKeyUnavailable:
            continue
    raise BoxKeyUnavailable(f"the key of ballot session {session_id} cannot be unwrapped")


def rewrap(ring: Sequence[str], session_id: int, wrapped: bytes) -> bytes:
    """The box's key wrapped again under the ring's current secret (after a rotation)."""
    private = unwrap_any(ring, session_id, wrapped)
    nonce = os.urandom(12)
    wrap_key = _hkdf(ring[0].encode(), None, _WRAP_INFO)
    return nonce + ChaCha20Poly1305(wrap_key).encrypt(
        nonce, private.private_bytes_raw(), _aad(session_id)
    )


def seal(public: bytes, session_id: int, plaintext: bytes) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
    key = _hkdf(shared, ephemeral_public + public, _SEAL_INFO)
    return ephemeral_public + ChaCha20Poly1305(key).encrypt(_NONCE, plaintext, _aad(session_id))


def open_sealed(private: X25519PrivateKey, session_id: int, sealed: bytes) -> bytes:
    ephemeral_public, ciphertext = sealed[:32], sealed[32:]
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    public = private.public_key().public_bytes_raw()
    key = _hkdf(shared, ephemeral_public + public, _SEAL_INFO)
    return ChaCha20Poly1305(key).decrypt(_NONCE, ciphertext, _aad(session_id))


def digest(sealed: bytes) -> str:
    return hashlib.sha256(sealed).hexdigest()


def receipt(sealed_digest: str) -> str:
    """The first 50 bits of the sealed ballot's SHA-256, in Crockford base32, read aloud in two
    groups of five: e.g. `7KQ2M-XB4RT`."""
    value = int(sealed_digest[:13], 16) >> 2  # 52 bits -> 50
    chars = "".join(ALPHABET[(value >> (5 * n)) & 31] for n in reversed(range(10)))
    return f"{chars[:5]}-{chars[5:]}"


def box_digest(sealed_digests: Sequence[str]) -> str:
    """What the counting event commits to: SHA-256 over the sorted ballot digests, one a line."""
    return hashlib.sha256("\n".join(sorted(sealed_digests)).encode()).hexdigest()


# --- the plaintext: a fixed length for every ballot of a session --------------------------


@dataclass(frozen=True)
class Layout:
    """What a session's ballots answer, in a fixed order: for each grading either a choice among
    `choices` (one byte) or a score per indicator (centi-points, four bytes each)."""

    categories: tuple[str, ...]
    gradings: tuple[int, ...]
    choices: tuple[str, ...] = ()  # asks == "level"
    indicators: tuple[tuple[str, ...], ...] = ()  # asks == "indicators": per grading


Answer = str | dict[str, Decimal]  # a choice, or scores per indicator


def encode(layout: Layout, category: str, answers: dict[int, Answer]) -> bytes:
    parts = [struct.pack(">BB", FORMAT, layout.categories.index(category))]
    for n, grading_id in enumerate(layout.gradings):
        answer = answers[grading_id]
        if layout.choices:
            assert isinstance(answer, str)
            parts.append(struct.pack(">B", layout.choices.index(answer)))
        else:
            assert isinstance(answer, dict)
            for code in layout.indicators[n]:
                parts.append(struct.pack(">I", int(answer[code] * 100)))
    return b"".join(parts)


def decode(layout: Layout, plaintext: bytes) -> tuple[str, dict[int, Answer]]:
    version, category = struct.unpack_from(">BB", plaintext, 0)
    if version != FORMAT:
        raise ValueError(f"ballot format {version} is not known")
    offset, answers = 2, {}
    for n, grading_id in enumerate(layout.gradings):
        if layout.choices:
            (index,) = struct.unpack_from(">B", plaintext, offset)
            answers[grading_id] = layout.choices[index]
            offset += 1
        else:
            scores: dict[str, Decimal] = {}
            for code in layout.indicators[n]:
                (centi,) = struct.unpack_from(">I", plaintext, offset)
                scores[code] = Decimal(centi) / 100
                offset += 4
            answers[grading_id] = scores
    if offset != len(plaintext):
        raise ValueError("the ballot does not fit its session")
    return layout.categories[category], answers


# --- the answer to a retried ballot ---------------------------------------------------------
# A voter whose answer was lost retries with the same Idempotency-Key and must learn that the
# first ballot was accepted, and its receipt. The receipt is kept on the used code, sealed with
# a key derived from the Idempotency-Key (never stored) and the code: whoever reads the
# database knows the code but not the key, so cannot tie the code to its receipt — to the
# ballot. No time, no counter (docs/decisions/0017).

_RETRY_INFO = b"grading ballot retry v1"


def _retry_key(idempotency_key: str, code: str) -> bytes:
    return _hkdf(idempotency_key.encode(), code.encode(), _RETRY_INFO)


def answers_digest(answers: Sequence[object]) -> str:
    """The answers as sent, canonically: a retry must send the same ballot."""
    text = json.dumps(answers, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def seal_retry(idempotency_key: str, code: str, receipt_text: str, sent_digest: str) -> bytes:
    nonce = os.urandom(12)
    plain = f"{receipt_text}|{sent_digest}".encode()
    return nonce + ChaCha20Poly1305(_retry_key(idempotency_key, code)).encrypt(nonce, plain, None)


def open_retry(idempotency_key: str, code: str, sealed_retry: bytes) -> tuple[str, str] | None:
    """(receipt, answers digest) if this key sealed it; None for any other key."""
    try:
        plain = ChaCha20Poly1305(_retry_key(idempotency_key, code)).decrypt(
            sealed_retry[:12], sealed_retry[12:], None
        )
    except InvalidTag:
        return None
    receipt_text, _, sent_digest = plain.decode().partition("|")
    return receipt_text, sent_digest
