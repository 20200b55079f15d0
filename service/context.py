"""Who is acting: carried from the request (or CLI) into every operation and audit event."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    account_id: int | None
    username: str
    role: str | None = None
    token_id: int | None = None
    client_ip: str | None = None
    request_id: str | None = None
    via: str | None = None  # the portal's account when it acts for this person (On-Behalf-Of)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(account_id=None, username=name, role="system")
