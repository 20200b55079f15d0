"""Who is asking: the bearer token (an API token or, with OIDC, a JWT), On-Behalf-Of for a
portal, and a token whose check rides in the handler's first statement (PendingToken)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, g, request
from sqlalchemy.orm import Session

from service.accounts import oidc
from service.accounts.access import Principal
from service.accounts.operations import act_for, hash_token, principal_for_token
from service.context import Actor
from service.errors import (
    MalformedRequest,
    Unauthorized,
)

NOBODY = Actor(account_id=None, username="anonymous")  # a pending caller's: Ctx.actor settles first


@dataclass
class PendingToken:
    """A bearer API token not yet checked: its hash for a statement that checks it on the way
    (scope's transition load), `resolve` for the usual lookup."""

    session: Session
    token: str
    token_hash: str

    def resolve(self) -> Principal:
        return principal_for_token(self.session, self.token)


def pending_token(db: Session) -> PendingToken | None:
    """A plain API token whose check may ride in the handler's first statement (PostgreSQL;
    not a JWT, not on behalf of someone, not with an Idempotency-Key — those are looked up as
    usual, first)."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    headers = request.headers
    if "On-Behalf-Of" in headers or "Idempotency-Key" in headers:
        return None
    m = TOKEN_RE.match(headers.get("Authorization", "").strip())
    if m is None:
        return None
    token = m.group(1)
    providers = current_app.extensions["grading.settings"].oidc_providers
    if providers and oidc.looks_like_jwt(token):
        return None
    return PendingToken(db, token, hash_token(token))


def unauthorized_first(pending: PendingToken, db: Session) -> None:
    """A request that fails before its pending token was checked: check it now, so that a
    caller who is not one gets 401 — as ever, before any other answer."""
    try:
        pending.resolve()
    except Unauthorized:
        raise
    except Exception:
        pass  # the token could not be checked (the database?): the first error stands
    finally:
        db.rollback()


TOKEN_RE = re.compile(r"^Bearer ([A-Za-z0-9_\-\.~+/]+=*)$")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,99}$")  # as accounts are named


def authenticate(db: Session) -> Principal:
    header = request.headers.get("Authorization")
    if not header:
        raise Unauthorized("send Authorization: Bearer <token>")
    m = TOKEN_RE.match(header.strip())
    if not m:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    token = m.group(1)
    providers = current_app.extensions["grading.settings"].oidc_providers
    if providers and oidc.looks_like_jwt(token):
        caller = oidc.principal_for_jwt(db, token, providers)
    else:
        caller = principal_for_token(db, token)
    person = request.headers.get("On-Behalf-Of")
    if person is None:
        return caller
    if not USERNAME_RE.match(person):
        raise MalformedRequest("On-Behalf-Of names an account by its username (2–100 characters)")
    return act_for(db, caller, person)


def actor_of(principal: Principal | None) -> Actor:
    return Actor(
        account_id=principal.account_id if principal else None,
        username=principal.username if principal else "anonymous",
        role=principal.main_role() if principal else None,
        token_id=principal.token_id if principal else None,
        client_ip=request.remote_addr,
        request_id=g.get("request_id"),
        via=principal.via if principal else None,
    )
