"""Domain errors. service.api turns each into an RFC 9457 problem+json response."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        type: str | None = None,
        title: str | None = None,
        errors: Any = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if type is not None:
            self.type = type
        if title is not None:
            self.title = title
        self.errors = errors
        self.extra = extra


class Unauthorized(DomainError):
    status = 401
    type = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    type = "forbidden"
    title = "Not allowed for your role"


class NotFound(DomainError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    type = "conflict"
    title = "Conflicts with the current state"


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule; `errors` maps field -> messages."""

    status = 422
    type = "validation-error"
    title = "The request has invalid fields"
