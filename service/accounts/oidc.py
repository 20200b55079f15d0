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
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.accounts.models import Account
from service.accounts.operations import live_grants
from service.config import OidcProvider as Provider
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
            options={"require": ["exp", "iss", "aud"]},
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
    if not account.is_active:
        raise AccountInactive("the account is deactivated")
    return Principal.of(account.id, account.username, None, live_grants(session, account.id))
