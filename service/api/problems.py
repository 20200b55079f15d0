"""RFC 9457 problem details: every error leaves the service as application/problem+json."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from service.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> (title, what it means for a client). Served at /problems/<slug>.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "malformed-request": (
        "Malformed request",
        "The body is not valid UTF-8 JSON, or a header is malformed.",
    ),
    "validation-error": (
        "The request has invalid fields",
        "`errors` maps each field to its problems.",
    ),
    "unsupported-media-type": ("Unsupported media type", "Send JSON as application/json."),
    "payload-too-large": ("Payload too large", "The body is larger than the configured limit."),
    "unauthorized": ("Authentication required", "Send `Authorization: Bearer <token>`."),
    "token-unknown": ("Unknown token", "The token was never issued (or was mistyped)."),
    "token-expired": ("Token expired", "Ask an administrator for a new token."),
    "token-revoked": ("Token revoked", "The token was revoked; ask for a new one."),
    "account-inactive": ("Account deactivated", "The token's account is deactivated."),
    "forbidden": (
        "Not allowed for your role",
        "You can see the resource but your role may not do this.",
    ),
    "not-found": ("Not found", "No such resource, or it is outside your organizations."),
    "method-not-allowed": ("Method not allowed", "See the Allow header."),
    "conflict": ("Conflicts with the current state", "Re-read the resource and try again."),
    "duplicate": ("Already exists", "A natural key (code, username) is taken."),
    "tree-cycle": ("Cycle in the organization tree", "An organization cannot move under itself."),
    "has-active-children": ("Has active sub-organizations", "Move or close them first."),
    "organization-inactive": (
        "Organization not active",
        "Merged or dissolved organizations stay so.",
    ),
    "import-rejected": (
        "The file was not imported",
        "`errors` lists each bad row and column; nothing was written.",
    ),
    "standard-frozen": ("Standard version frozen", "A campaign used it; publish a new version."),
    "campaign-frozen": (
        "Campaign configuration frozen",
        "The campaign is open; file an amendment.",
    ),
    "campaign-not-open": ("Campaign not open", "Only an open campaign does this."),
    "missing-standard": ("No standard for a 领域", "Every 领域 in scope needs a standard."),
    "transition-blocked": ("The transition's conditions do not hold", "`reasons` says why."),
    "transition-not-allowed": ("Wrong state for this transition", "It starts from another state."),
    "idempotency-key-reused": (
        "Idempotency-Key reused",
        "The key belongs to another request; use a new key.",
    ),
    "approval-pending": (
        "An approval is pending",
        "Wait for the supervisor's decision, or have it rejected.",
    ),
    "approval-decided": ("Approval decided already", "Approved or rejected requests are final."),
    "four-eyes": ("Four eyes", "A supervisor cannot approve or reject their own request."),
    "precondition-failed": (
        "Version mismatch",
        "The If-Match version is stale; re-read and retry.",
    ),
    "database-unavailable": ("Database unavailable", "The service cannot reach its database."),
    "promotion-refused": ("Promotion refused", "`reasons` lists the conditions that do not hold."),
    "item-state": ("Wrong item state", "Items go open → in progress → submitted → closed."),
    "helpers-required": ("Helpers required", "Assign a paired leader and a liaison first."),
    "rate-limited": ("Too many requests", "Wait for the seconds in Retry-After."),
    "not-in-publicity": (
        "Not under publicity",
        "Complaints are filed while a grading is publicly noticed.",
    ),
    "complaint-state": (
        "Wrong complaint state",
        "Assign before answering; answered complaints are final.",
    ),
    "bad-request": ("Bad request", "The request cannot be processed as sent."),
    "stage-not-open": ("Not in this stage", "The grading is in another stage; `state` says which."),
    "score-incomplete": (
        "Score incomplete",
        "`missing` lists the rating sources not yet available.",
    ),
    "ballot-code-rejected": (
        "Ballot code rejected",
        "`reason`: unknown (check for typos), used or closed.",
    ),
    "ballot-session-state": ("Ballot session state", "Sessions go open → closed → counted."),
    "quorum-not-met": ("Quorum not met", "Too few ballots came back; `required` says how many."),
    "plan-approved": ("Plan approved", "An approved plan takes no new items."),
    "plan-empty": ("Plan empty", "A rectification plan needs at least one item."),
    "plan-not-approved": ("Plan not approved", "Items are worked on once the plan is approved."),
    "internal-error": (
        "Internal error",
        "A fault of the service; the request id helps to find it.",
    ),
}


def problem(
    status: int, slug: str, title: str, detail: str, *, errors: Any = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="grading"'
    return response


def _http_slug(status: int) -> str:
    return {
        400: "malformed-request",
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        409: "conflict",
        412: "precondition-failed",
        413: "payload-too-large",
        415: "unsupported-media-type",
    }.get(status, "malformed-request" if status < 500 else "internal-error")


def install(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        response = problem(
            exc.status, exc.type, exc.title, exc.detail, errors=exc.errors, **exc.extra
        )
        if exc.status == 429:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields = ", ".join(sorted(str(k) for k in errors))
        return problem(
            422,
            "validation-error",
            "The request has invalid fields",
            f"invalid fields: {fields}",
            errors=errors,
        )

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> Response:
        return problem(
            412,
            "precondition-failed",
            "Version mismatch",
            "the resource changed while this request was changing it; read it again and retry",
        )

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Response:
        log.warning("integrity error answered 409: %s", exc.orig)
        return problem(
            409,
            "conflict",
            "Conflicts with the current state",
            "a concurrent request changed the same data first; read it again and retry",
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        slug = _http_slug(status)
        detail = exc.description or exc.name
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            detail = f"the request body is larger than {limit} bytes"
        response = problem(status, slug, PROBLEM_TYPES.get(slug, (exc.name, ""))[0], detail)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem(
            500,
            "internal-error",
            "Internal error",
            "the service failed; the request id identifies this failure in the logs",
        )
