"""Single sign-on: an access token (JWT) from a configured identity provider, verified with
the keys of its JWKS endpoint (served here by the test), is accepted for the account its claim
names; expired, wrongly signed, wrong-audience, foreign-issuer and unknown-account tokens are
401 problem+json; the audit trail names the person."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from tests.conftest import Api, assert_problem
from tests.evaluation_helpers import entry, url
from tests.identity_provider import ISSUER, token
from tests.portals import portal

OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def call(api: Api, bearer: str, path: str = "/api/v1/me") -> Any:
    return api.client.get(path, headers={"Authorization": f"Bearer {bearer}"})


def test_an_access_token_from_the_provider_is_accepted_for_its_account(
    api: Api, db: Session, sso: None
) -> None:
    me = call(api, token())
    assert me.status_code == 200, me.get_json()
    assert me.get_json()["username"] == "reviewer"
    written = api.client.post(
        url(api, "survey-entries"), json=entry(), headers={"Authorization": f"Bearer {token()}"}
    )
    assert written.status_code == 201, written.get_json()
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.actor_username == "reviewer" and event.token_id is None
    assert call(api, api.world.tokens["admin"]).status_code == 200  # API tokens still work


@pytest.mark.parametrize(
    ("bad", "slug"),
    [
        (lambda: token(exp=int(time.time()) - 120), "token-expired"),
        (lambda: token(OTHER), "token-unknown"),  # the right key id, another key's signature
        (lambda: token(aud="another-api"), "token-unknown"),
        (lambda: token(iss="https://elsewhere.example/idp"), "token-unknown"),
        (lambda: token(preferred_username="nobody"), "token-unknown"),
        (lambda: token()[:-6] + "AAAAAA", "token-unknown"),
    ],
    ids=["expired", "wrongly-signed", "wrong-audience", "foreign-issuer", "no-account", "garbled"],
)
def test_a_bad_access_token_is_401(api: Api, sso: None, bad: Any, slug: str) -> None:
    refused = call(api, bad())
    assert_problem(refused, 401, slug)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_without_providers_a_jwt_is_just_an_unknown_token(api: Api) -> None:
    assert_problem(call(api, token()), 401, "token-unknown")


def test_a_portal_signed_in_through_the_provider_acts_for_a_person(
    api: Api, db: Session, sso: None
) -> None:
    portal(api.world, db, "A", username="portal.sso")
    me = api.client.get(
        "/api/v1/me",
        headers={
            "Authorization": f"Bearer {token(preferred_username='portal.sso')}",
            "On-Behalf-Of": "reviewer",
        },
    )
    assert me.status_code == 200, me.get_json()
    assert (me.get_json()["username"], me.get_json()["via"]) == ("reviewer", "portal.sso")


def test_the_first_sign_in_binds_the_account_to_its_identity_and_a_name_alone_does_not_sign_in(
    api: Api, db: Session, sso: None
) -> None:
    assert call(api, token(sub="7a1e")).status_code == 200  # binds reviewer to (issuer, 7a1e)
    impostor = call(api, token(sub="e66b"))  # another user of the provider took the name
    assert "bound to another identity" in assert_problem(impostor, 401, "token-unknown")["detail"]
    assert call(api, token(sub="7a1e")).status_code == 200
    bound = db.scalars(select(AuditEvent).where(AuditEvent.action == "account.oidc_bind")).all()
    assert [e.after for e in bound] == [{"oidc_issuer": ISSUER, "oidc_subject": "7a1e"}]
