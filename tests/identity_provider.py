"""An identity provider for tests: its signing key, its JWKS served locally, its access tokens, and
the app set to accept them."""

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

from service.accounts import oidc
from service.config import OidcProvider

ISSUER = "https://id.example.gov.cn/realms/dangjian"


AUDIENCE = "grading-api"


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


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
