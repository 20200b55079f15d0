"""Single sign-on: OIDC access tokens (JWT) from the issuers in OIDC_PROVIDERS, verified with
the keys their JWKS endpoint publishes (cached for five minutes, fetched again for an unknown
key id: rotation needs no restart), mapped to an account by a claim. Opaque API tokens keep
working beside them.

    OIDC_PROVIDERS='[{"issuer": "https://id.example.gov.cn/realms/dangjian",
                      "audience": "grading-api",
                      "jwks_uri": "https://id.example.gov.cn/realms/dangjian/certs",
                      "claim": "preferred_username"}]'
"""

from __future__ import annotations

from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.accounts.models import Account
from service.accounts.operations import live_grants
from service.audit.operations import record
from service.config import OidcProvider as Provider
from service.context import Actor
from service.errors import AccountInactive, TokenExpired, TokenUnknown

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 30


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


_clients: dict[str, jwt.PyJWKClient] = {}


def _keys(provider: Provider) -> jwt.PyJWKClient:
    if provider.jwks_uri not in _clients:
        _clients[provider.jwks_uri] = jwt.PyJWKClient(
            provider.jwks_uri, cache_keys=True, lifespan=300, timeout=10
        )
    return _clients[provider.jwks_uri]


def principal_for_jwt(session: Session, token: str, providers: tuple[Provider, ...]) -> Principal:
    """The account a verified access token names, with its live grants; 401 for anything else."""
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError as exc:
        raise TokenUnknown("the bearer token is neither an API token nor a readable JWT") from exc
    provider = next((p for p in providers if p.issuer == issuer), None)
    if provider is None:
        raise TokenUnknown(f"tokens from the issuer {issuer!r} are not accepted here")
    try:
        key = _keys(provider).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=provider.audience,
            issuer=provider.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("the access token has expired") from exc
    except jwt.PyJWKClientError as exc:
        raise TokenUnknown(f"the issuer's keys do not include this token's key: {exc}") from exc
    except jwt.PyJWTError as exc:
        raise TokenUnknown(f"the access token does not verify: {exc}") from exc
    username = claims.get(provider.claim)
    account = (
        session.scalars(select(Account).where(Account.username == str(username))).first()
        if username
        else None
    )
    if account is None:
        raise TokenUnknown(f"no account for {provider.claim} {username!r} of this issuer")
    subject = str(claims["sub"])
    if account.oidc_issuer is None:
        _bind(session, account, provider.issuer, subject)
    elif (account.oidc_issuer, account.oidc_subject) != (provider.issuer, subject):
        raise TokenUnknown(
            f"account {account.username} is bound to another identity (issuer and subject): a "
            "name alone does not sign in"
        )
    if not account.is_active:
        raise AccountInactive("the account is deactivated")
    return Principal.of(account.id, account.username, None, live_grants(session, account.id))


def _bind(session: Session, account: Account, issuer: str, subject: str) -> None:
    """The first sign-in ties the account to that identity (issuer + subject) for good; a
    provider's other user who takes the same name later, or another provider, is refused."""
    session.execute(
        update(Account)
        .where(Account.id == account.id, Account.oidc_issuer.is_(None))
        .values(oidc_issuer=issuer, oidc_subject=subject)
    )
    session.refresh(account)
    record(
        session,
        Actor(account_id=account.id, username=account.username, role=None),
        "account.oidc_bind",
        "account",
        account.id,
        organization_id=account.organization_id,
        after={"oidc_issuer": issuer, "oidc_subject": subject},
    )
