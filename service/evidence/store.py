"""Where evidence files are kept: a directory (EVIDENCE_DIR; shared by every process that
serves the API), each file under its SHA-256 — written once through a temporary name and a
rename, read back only if it still hashes to its name."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class Store:
    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Keep `data`; its SHA-256 (hex), which names it. The same content is kept once."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and self.get(digest) is not None:
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes | None:
        """The file's bytes, or None when it is missing or no longer hashes to its name."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None
