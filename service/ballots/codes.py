"""One-time ballot codes: 10 characters of Crockford's base32 (50 bits), typed as XXXXX-XXXXX.

Unguessable (2^50 ≈ 10^15 codes against a few thousand issued) and forgiving when typed: case,
spaces and dashes do not matter, and O/I/L are read as 0/1/1.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TYPO = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{10}$")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalize(typed: str) -> str | None:
    """The canonical form of a typed code, or None when it cannot be one."""
    compact = re.sub(r"[\s\-]", "", typed).upper().translate(TYPO)
    if not SHAPE.match(compact):
        return None
    return f"{compact[:5]}-{compact[5:]}"
