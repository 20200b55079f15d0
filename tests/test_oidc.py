"""Single sign-on: an access token (JWT) from a configured identity provider, verified with
the keys of its JWKS endpoint (served here by the test), is accepted for the account its claim
names; expired, wrongly signed, wrong-audience, foreign-issuer and unknown-account tokens are
401 problem+json; the audit trail names the person."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts import oidc
from service.audit.models import AuditEvent
from service.config import OidcProvider
from tests.conftest import Api, assert_problem
from tests.portals import portal
from tests.test_evaluation import entry, url

ISSUER = "https://id.example.gov.cn/realms/dangjian"
AUDIENCE = "grading-api"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks() -> Iterator[str]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/realms/dangjian/certs"
    server.shutdown()
    server.server_close()
    oidc._clients.clear()


@pytest.fixture
def sso(app: Flask, jwks: str) -> Iterator[None]:
    settings = app.extensions["grading.settings"]
    provider = OidcProvider(ISSUER, AUDIENCE, jwks)
    app.extensions["grading.settings"] = dataclasses.replace(settings, oidc_providers=(provider,))
    yield
    app.extensions["grading.settings"] = settings


def token(key: Any = KEY, **claims: Any) -> str:
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "3f9c",
        "preferred_username": "reviewer",
        "iat": int(time.time()),
        "exp": int(time.time()) + 300,
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


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
