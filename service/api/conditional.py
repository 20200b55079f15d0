"""Conditional requests: ETags are versions; If-Match on writes (required when
REQUIRE_IF_MATCH is set), If-None-Match on reads."""

from __future__ import annotations

from flask import current_app, request

from service.errors import (
    PreconditionFailed,
    PreconditionRequired,
)


def if_match() -> frozenset[int] | None:
    """The versions the If-Match header names (ETags are versions); None when absent or *."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for tag in header.split(","):
        value = tag.strip().removeprefix("W/").strip('"')
        if value.isdigit() and len(value) <= 9:
            versions.add(int(value))
    return frozenset(versions)


def check_if_match(current_version: int) -> None:
    """Honour If-Match when the client sends it: 412 unless it names the current version."""
    PreconditionFailed.check(current_version, if_match())


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def require_if_match(method: str) -> None:
    """A write that takes If-Match, when this service requires it (REQUIRE_IF_MATCH): 428
    without the header."""
    if (
        current_app.extensions["grading.settings"].require_if_match
        and request.headers.get("If-Match") is None
    ):
        raise PreconditionRequired(
            f"{method} {request.path} needs If-Match with the ETag you read "
            "(this service requires it on writes)"
        )
