"""Ed25519 signing of checkpoints (the `cryptography` library).

The private key comes from AUDIT_SIGNING_KEY: a PEM (PKCS#8) Ed25519 private key, or a file path
to one. Without it (development), a key is derived from SECRET_KEY, which is documented as not
fit for production.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def parse_private_key(pem: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from its PEM text; ValueError saying what it is instead."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"is not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"must be an Ed25519 key, not {type(key).__name__}")
    return key


def load_private_key(pem_or_path: str | None, secret_key: str) -> Ed25519PrivateKey:
    """The key that signs checkpoints (checked at start: service.config); without one, a
    development key derived from SECRET_KEY."""
    if pem_or_path:
        data = pem_or_path
        if not data.lstrip().startswith("-----BEGIN") and os.path.exists(data):
            with open(data, encoding="utf-8") as handle:
                data = handle.read()
        try:
            return parse_private_key(data)
        except ValueError as exc:
            raise SystemExit(f"configuration: AUDIT_SIGNING_KEY {exc}") from exc
    seed = hashlib.sha256(b"grading-audit-dev-key:" + secret_key.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(private_key: Ed25519PrivateKey, payload: bytes) -> str:
    return base64.b64encode(private_key.sign(payload)).decode()


def verify_signature(public_key_pem: str, payload: bytes, signature: str) -> bool:
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(base64.b64decode(signature), payload)
        return True
    except (InvalidSignature, ValueError):
        return False
