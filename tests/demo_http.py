"""The demo served for tests over HTTP: the demo database migrated and loaded, a client that speaks
to it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from openapi_core import OpenAPI
from sqlalchemy.orm import Session

from service import demo, migrate
from service.app import create_app
from service.config import Settings
from service.db import make_engine
from tests.conftest import ContractClient


class Http:
    def __init__(self, client: Any, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def __call__(
        self, method: str, path: str, who: str | None, body: Any = None, expect: int = 200
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        response = self.client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
        assert response.status_code == expect, (method, path, response.get_json())
        return (
            response.get_json()
            if response.mimetype.endswith("json")
            else response.get_data(as_text=True)
        )


@pytest.fixture
def demo_app(fresh_database_url: Any, openapi: OpenAPI) -> Any:
    url = fresh_database_url("e2e")
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        people = demo.load(session, year=2026)
        session.commit()
    app: Flask = create_app(Settings.from_env(database_url=url))
    ContractClient.openapi = openapi
    app.test_client_class = ContractClient
    yield app, {p.username: p.token for p in people}, engine
    app.extensions["grading.engine"].dispose()
    engine.dispose()
