"""Every error a client can be answered with: one class per problem type.

Each class carries its slug (the `type` of the RFC 9457 problem, served at /problems/<slug>),
its HTTP status, its title and what it means for a client. service.api turns a raised error into
problem+json, and the catalogue (/problems, openapi.yaml's x-problem-types) is read from these
classes, so a title cannot drift from what the service answers.
"""

from __future__ import annotations

from typing import Any, ClassVar

CATALOGUE: dict[str, type[DomainError]] = {}


class DomainError(Exception):
    status: ClassVar[int] = 400
    type: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    description: ClassVar[str] = "The request cannot be processed as sent."

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" not in cls.__dict__:
            return  # shares its parent's problem type (e.g. a narrower Python class)
        if cls.type in CATALOGUE:
            raise TypeError(f"problem type {cls.type!r} is declared twice")
        missing = {"title", "description"} - set(cls.__dict__)
        if missing:
            raise TypeError(f"{cls.__name__} declares a problem type without {missing}")
        CATALOGUE[cls.type] = cls

    def __init__(self, detail: str, *, errors: Any = None, **extra: Any) -> None:
        reserved = {"type", "title", "status", "detail"} & set(extra)
        if reserved:  # the class says these; raise the class of the problem you mean
            raise TypeError(f"{type(self).__name__} got {', '.join(sorted(reserved))}")
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


CATALOGUE[DomainError.type] = DomainError


# --- the request itself -------------------------------------------------------------------


class MalformedRequest(DomainError):
    status = 400
    type = "malformed-request"
    title = "Malformed request"
    description = "The body is not valid UTF-8 JSON, or a header is malformed."


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule; `errors` maps field -> messages."""

    status = 422
    type = "validation-error"
    title = "The request has invalid fields"
    description = "`errors` maps each field to its problems."


class UnsupportedMediaType(DomainError):
    status = 415
    type = "unsupported-media-type"
    title = "Unsupported media type"
    description = "Send JSON as application/json."


class PayloadTooLarge(DomainError):
    status = 413
    type = "payload-too-large"
    title = "Payload too large"
    description = "The body is larger than the configured limit."


class UriTooLong(DomainError):
    status = 414
    type = "uri-too-long"
    title = "URI too long"
    description = "The request line is longer than the server reads (gunicorn: 4094 bytes)."


class HeaderFieldsTooLarge(DomainError):
    status = 431
    type = "header-fields-too-large"
    title = "Request header fields too large"
    description = "A header, or the headers together, are larger than the server reads."


class MethodNotAllowed(DomainError):
    status = 405
    type = "method-not-allowed"
    title = "Method not allowed"
    description = "See the Allow header."


class PreconditionFailed(DomainError):
    status = 412
    type = "precondition-failed"
    title = "Version mismatch"
    description = "The If-Match version is stale; re-read and retry."

    @classmethod
    def check(cls, current: int, expected: frozenset[int] | None) -> None:
        """Refuse unless the client's If-Match (the versions it names; None: not sent) holds."""
        if expected is not None and current not in expected:
            named = ", ".join(f'"{v}"' for v in sorted(expected)) or "no version"
            raise cls(
                f"the resource is at version {current}; If-Match named {named}",
                current_version=current,
            )


class PreconditionRequired(DomainError):
    status = 428
    type = "precondition-required"
    title = "If-Match required"
    description = (
        "This service requires If-Match on writes (REQUIRE_IF_MATCH): send the ETag you read."
    )


class SecretNotReplayed(DomainError):
    status = 409
    type = "secret-not-replayed"
    title = "The first answer held a secret"
    description = (
        "A retry with this Idempotency-Key: the first request succeeded, but its answer held a "
        "secret shown once (a token, a webhook secret), which is never stored. Read what was "
        "created (Location, or the list) instead."
    )


class IdempotencyKeyReused(DomainError):
    status = 422
    type = "idempotency-key-reused"
    title = "Idempotency-Key reused"
    description = "The key belongs to another request; use a new key."


class TooManyRequests(DomainError):
    status = 429
    type = "rate-limited"
    title = "Too many requests"
    description = "Wait for the seconds in Retry-After."


# --- who is asking ------------------------------------------------------------------------


class Unauthorized(DomainError):
    status = 401
    type = "unauthorized"
    title = "Authentication required"
    description = "Send `Authorization: Bearer <token>`."


class TokenUnknown(Unauthorized):
    type = "token-unknown"
    title = "Unknown token"
    description = "The token was never issued (or was mistyped)."


class TokenExpired(Unauthorized):
    type = "token-expired"
    title = "Token expired"
    description = "Ask an administrator for a new token."


class TokenRevoked(Unauthorized):
    type = "token-revoked"
    title = "Token revoked"
    description = "The token was revoked; ask for a new one."


class AccountInactive(Unauthorized):
    type = "account-inactive"
    title = "Account deactivated"
    description = "The token's account is deactivated."


class Forbidden(DomainError):
    status = 403
    type = "forbidden"
    title = "Not allowed for your role"
    description = "You can see the resource but your role may not do this."


class SelfApproval(Forbidden):
    type = "four-eyes"
    title = "Four eyes"
    description = "A supervisor cannot approve or reject their own request."


class NotFound(DomainError):
    status = 404
    type = "not-found"
    title = "Not found"
    description = "No such resource, or it is outside your organizations."


# --- the state of things ------------------------------------------------------------------


class Conflict(DomainError):
    status = 409
    type = "conflict"
    title = "Conflicts with the current state"
    description = "Re-read the resource and try again."


class Duplicate(Conflict):
    type = "duplicate"
    title = "Already exists"
    description = "A natural key (code, username) is taken."


class TreeCycle(ValidationFailed):
    type = "tree-cycle"
    title = "Cycle in the organization tree"
    description = "An organization cannot move under itself."


class HasActiveChildren(Conflict):
    type = "has-active-children"
    title = "Has active sub-organizations"
    description = "Move or close them first."


class OrganizationInactive(Conflict):
    type = "organization-inactive"
    title = "Organization not active"
    description = "Merged or dissolved organizations stay so."


class ImportRejected(DomainError):
    status = 422
    type = "import-rejected"
    title = "The file was not imported"
    description = "`errors` lists each bad row and column; nothing was written."


class StandardFrozen(Conflict):
    type = "standard-frozen"
    title = "Standard version frozen"
    description = "A campaign used it; publish a new version."


class CampaignFrozen(Conflict):
    type = "campaign-frozen"
    title = "Campaign configuration frozen"
    description = "The campaign is open; file an amendment."


class CampaignNotOpen(Conflict):
    type = "campaign-not-open"
    title = "Campaign not open"
    description = "Only an open campaign does this."


class MissingStandard(Conflict):
    type = "missing-standard"
    title = "No standard for a 领域"
    description = "Every 领域 in scope needs a standard."


class TransitionBlocked(Conflict):
    type = "transition-blocked"
    title = "The transition's conditions do not hold"
    description = "`reasons` says why."


class TransitionNotAllowed(Conflict):
    type = "transition-not-allowed"
    title = "Wrong state for this transition"
    description = "It starts from another state."


class StageNotOpen(Conflict):
    type = "stage-not-open"
    title = "Not in this stage"
    description = "The grading is in another stage; `state` says which."


class ApprovalPending(Conflict):
    type = "approval-pending"
    title = "An approval is pending"
    description = "Wait for the supervisor's decision, or have it rejected."


class ApprovalDecided(Conflict):
    type = "approval-decided"
    title = "Approval decided already"
    description = "Approved or rejected requests are final."


class ScoreIncomplete(Conflict):
    type = "score-incomplete"
    title = "Score incomplete"
    description = "`missing` lists the rating sources not yet available."


class CodeRejected(Conflict):
    type = "ballot-code-rejected"
    title = "Ballot code rejected"
    description = "`reason`: unknown (check for typos), used or closed."


class BallotSessionWrongState(Conflict):
    type = "ballot-session-state"
    title = "Ballot session state"
    description = "Sessions go open → closed → counted."


class BallotBoxLocked(Conflict):
    type = "ballot-box-locked"
    title = "Ballot box cannot be opened"
    description = (
        "The session's key was sealed under another BALLOT_BOX_SECRET: restore it, or a "
        "supervisor voids the session with a reason and the meeting is held again."
    )


class QuorumNotMet(Conflict):
    type = "quorum-not-met"
    title = "Quorum not met"
    description = "Too few ballots came back; `required` says how many."


class NotInPublicity(Conflict):
    type = "not-in-publicity"
    title = "Not under publicity"
    description = "Complaints are filed while a grading is publicly noticed."


class ComplaintWrongState(Conflict):
    type = "complaint-state"
    title = "Wrong complaint state"
    description = "Assign before answering; answered complaints are final."


class PlanApproved(Conflict):
    type = "plan-approved"
    title = "Plan approved"
    description = "An approved plan takes no new items."


class PlanFull(Conflict):
    type = "plan-full"
    title = "Plan full"
    description = "A rectification plan holds at most 100 items; merge related ones."


class PlanEmpty(Conflict):
    type = "plan-empty"
    title = "Plan empty"
    description = "A rectification plan needs at least one item."


class PlanNotApproved(Conflict):
    type = "plan-not-approved"
    title = "Plan not approved"
    description = "Items are worked on once the plan is approved."


class HelpersRequired(Conflict):
    type = "helpers-required"
    title = "Helpers required"
    description = "Assign a paired leader and a liaison first."


class ItemWrongState(Conflict):
    type = "item-state"
    title = "Wrong item state"
    description = "Items go open → in progress → submitted → closed."


class NotPromotable(Conflict):
    type = "promotion-refused"
    title = "Promotion refused"
    description = "`reasons` lists the conditions that do not hold."


# --- the service itself -------------------------------------------------------------------


class InternalError(DomainError):
    status = 500
    type = "internal-error"
    title = "Internal error"
    description = "A fault of the service; the request id helps to find it."


class DatabaseUnavailable(DomainError):
    status = 503
    type = "database-unavailable"
    title = "Database unavailable"
    description = "The service cannot reach its database."


class CalendarUnknown(DomainError):
    status = 503
    type = "calendar-unknown"
    title = "Working days unknown for that year"
    description = (
        "The working-day calendar (chinesecalendar) does not cover the year; the service needs "
        "an update. Nothing was written."
    )


class StateWriteRefused(RuntimeError):
    """A programming error, not a client's: a lifecycle's state column was written directly."""
