"""Shared fixtures.

The suite runs once per database (`--db sqlite` or `--db postgresql`, see the Makefile). The
schema is built once per run with the real Alembic migrations; each test then runs inside one
outer transaction that is rolled back at the end (SQLAlchemy's "joining a Session into an
external transaction" recipe), so the requests a test makes commit only to savepoints.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session

from service import calendar, migrate
from service.__main__ import cli
from service.api import dumping, loading
from service.api.throttle import Throttle
from service.app import create_app
from service.config import Settings
from service.db import make_engine, normalize_url
from service.errors import CATALOGUE, CATALOGUE_ZH
from service.events import outbox
from tests import contract
from tests.openapi_file import openapi_document
from tests.site import DemoSite, fresh_demo
from tests.world import World, build_world

ROOT = Path(__file__).resolve().parents[1]

# Fixtures several test modules use, kept in helper modules.
pytest_plugins = [
    "tests.tampering",
    "tests.event_helpers",
    "tests.demo_http",
    "tests.identity_provider",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the database the suite runs on",
    )
    parser.addoption(
        "--pg-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL database the suite may create its own databases from",
    )


# A test that asks for none of these (directly or through its fixtures) cannot reach the
# database under test: it runs the same whatever --db says.
DATABASE_FIXTURES = frozenset({"db_kind", "fresh_database_url", "pytestconfig"})


def _reads_the_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("database_independent") is not None:
        return False
    return bool(DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite twice, on SQLite and PostgreSQL, side by side: a test that
    cannot reach the database under test (no database fixture, or marked
    database_independent: it reads none) runs once, in the SQLite half."""
    if config.getoption("--db") != "postgresql":
        return
    kept = [item for item in items if _reads_the_database(item)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    return f"database under test: {config.getoption('--db')}"


def cli_in_process(database_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    """`python -m service ARGS` on DATABASE_URL (and `env`), run in this process through
    click's CliRunner (no Python start; tests of the real program start it themselves)."""
    return CliRunner().invoke(
        cli, list(args), env={"DATABASE_URL": database_url, **(env or {})}, catch_exceptions=False
    )


def cli_completed(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`cli_in_process`, answered as `subprocess.run` answers: returncode, stdout, stderr."""
    done = cli_in_process(database_url, *args, env=env)
    return subprocess.CompletedProcess(list(args), done.exit_code, done.stdout, done.stderr)


def _pg_admin_engine(url: str) -> Engine:
    return create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")


def pg_database(admin_url: str, name: str) -> str:
    """(Re)create database `name` on the server of `admin_url`; return its URL."""
    engine = _pg_admin_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = engine.url.set(database=name)
    return url.render_as_string(hide_password=False)


def pytest_sessionstart(session: pytest.Session) -> None:
    # Every answer of the suite is dumped by service.api.dumping and by marshmallow, and every
    # body loaded by service.api.loading and by marshmallow: compared.
    dumping.VERIFY = loading.VERIFY = True
    outbox.install()  # as the app and the command line do at start
    config = session.config
    if config.getoption("--db") != "postgresql":
        return
    try:
        engine = _pg_admin_engine(config.getoption("--pg-url"))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect
        message = f"PostgreSQL is unreachable at {config.getoption('--pg-url')}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.exit(f"FAILED: {message} (CI=true: PostgreSQL is required)", returncode=3)
        pytest.exit(f"SKIPPED THE WHOLE POSTGRESQL RUN: {message}", returncode=0)


@pytest.fixture(autouse=True)
def _calendar_read_afresh() -> None:
    """The years entered are the test's own: nothing known of another test's is kept."""
    calendar.forget()


@pytest.fixture(scope="session")
def db_kind(pytestconfig: pytest.Config) -> str:
    return str(pytestconfig.getoption("--db"))


@pytest.fixture(scope="session")
def fresh_database_url(pytestconfig: pytest.Config, db_kind: str) -> Any:
    """A factory of new, empty databases of the kind under test."""
    created: list[str] = []

    def make(name: str) -> str:
        if db_kind == "sqlite":
            directory = tempfile.mkdtemp(prefix="grading-test-")
            return f"sqlite:///{directory}/{name}.db"
        url = pg_database(pytestconfig.getoption("--pg-url"), f"grading_{name}_{os.getpid()}")
        created.append(url)
        return url

    yield make
    for url in created:
        engine = _pg_admin_engine(pytestconfig.getoption("--pg-url"))
        with engine.connect() as conn:
            name = make_engine(url).url.database
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(fresh_database_url: Any) -> str:
    url: str = fresh_database_url("suite")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def world_connection(engine: Engine) -> Iterator[tuple[Connection, World]]:
    """One connection for the whole run, holding the test world in an uncommitted transaction."""
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    world = build_world(session)
    session.commit()
    session.close()
    yield conn, world
    outer.rollback()
    conn.close()


@pytest.fixture
def connection(world_connection: tuple[Connection, World]) -> Iterator[Connection]:
    """Each test runs in a savepoint that is rolled back: the world is as built, every time."""
    conn = world_connection[0]
    savepoint = conn.begin_nested()
    yield conn
    if savepoint.is_active:
        savepoint.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> Any:
    def factory() -> Session:
        return Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    return factory


@pytest.fixture
def db(session_factory: Any) -> Iterator[Session]:
    session: Session = session_factory()
    yield session
    session.close()


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    as_text = bytes.decode
    config = Config(
        extra_media_type_deserializers={
            "application/problem+json": json.loads,
            "text/csv": as_text,
            "application/x-ndjson": as_text,
            "image/svg+xml": as_text,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": lambda b: str(
                len(b)
            ),
            "application/pdf": lambda b: str(len(b)),
        }
    )
    return OpenAPI.from_dict(openapi_document(), config=config)


class _SentRequest(WerkzeugOpenAPIRequest):
    """The request as sent; its body stream was consumed by the app and is not needed."""

    @property
    def body(self) -> bytes | None:
        return None


class ContractClient(FlaskClient):
    """A test client that validates every API response against openapi.yaml."""

    openapi: OpenAPI

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        request = response.request
        if request.path.startswith("/api/"):
            found = contract.operation_of(request.method, request.path)
            try:
                if found is None or CHECKED.first(request.method, found[0], response.status_code):
                    self.openapi.validate_response(
                        _SentRequest(request), WerkzeugOpenAPIResponse(response)
                    )
                else:
                    contract.check_again(request.method, *found, response)
                if found is not None:
                    _assert_headers_declared(request.method, found, response)
                    if RECORDING is not None:
                        _record_example(found[1], response, kwargs.get("json"))
            except (PathNotFound, OperationNotFound):
                # Requests to paths or methods the API does not have: only the shape of the
                # problem answer is checked.
                assert response.mimetype == "application/problem+json", response.data
        if response.mimetype == "application/problem+json":
            _assert_in_catalogue(response.get_json())
        return response


CHECKED = contract.Checked()  # what openapi-core has checked whole once

DECLARED_HEADERS = ("ETag", "Location", "Retry-After", "Idempotent-Replayed")

# RECORD_EXAMPLES=1 (make examples): the first successful JSON exchange of each operation the
# suite makes is kept as its example in service/api/examples.json, secrets blanked.
RECORDING: dict[str, dict[str, Any]] | None = {} if os.environ.get("RECORD_EXAMPLES") else None
EXAMPLES = ROOT / "service" / "api" / "examples.json"
SECRET_KEYS = ("token", "secret")


def _blank_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("…" if k in SECRET_KEYS and isinstance(v, str) else _blank_secrets(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_blank_secrets(v) for v in value[:3]]  # a list's first items are example enough
    return value


def _record_example(operation: dict[str, Any], response: Any, sent: Any) -> None:
    assert RECORDING is not None
    if not 200 <= response.status_code < 300 or response.mimetype != "application/json":
        return
    operation_id = operation["operationId"]
    if operation_id in RECORDING:
        return
    RECORDING[operation_id] = {
        "status": response.status_code,
        "request": _blank_secrets(sent) if isinstance(sent, dict | list) else None,
        "response": _blank_secrets(response.get_json()),
    }


def pytest_sessionfinish(session: pytest.Session) -> None:
    if RECORDING:
        kept = json.loads(EXAMPLES.read_text(encoding="utf-8")) if EXAMPLES.exists() else {}
        for operation_id, example in RECORDING.items():  # a partial run adds, never replaces
            kept.setdefault(operation_id, example)
        EXAMPLES.write_text(
            json.dumps(dict(sorted(kept.items())), ensure_ascii=False, indent=1) + "\n",
            encoding="utf-8",
        )


def _assert_headers_declared(method: str, found: tuple[str, dict[str, Any]], response: Any) -> None:
    """A header a client reads (ETag, Location, Retry-After, Idempotent-Replayed) is sent only
    where openapi.yaml declares it."""
    sent = [name for name in DECLARED_HEADERS if name in response.headers]
    if not sent:
        return
    template, operation = found
    declared = operation["responses"].get(str(response.status_code), {}).get("headers", {})
    missing = [name for name in sent if name not in declared]
    assert not missing, f"{method} {template} {response.status_code} sends {missing} undeclared"


def _assert_in_catalogue(body: dict[str, Any]) -> None:
    """Every problem the suite is answered with has its catalogue's title and status."""
    slug = body["type"].removeprefix("/problems/")
    assert slug in CATALOGUE, f"{slug} is not in the problem catalogue"
    title = CATALOGUE_ZH[slug][0] if "detail_en" in body else CATALOGUE[slug].title
    assert (body["title"], body["status"]) == (title, CATALOGUE[slug].status)


def suite_settings(database_url: str) -> Settings:
    return Settings.from_env(
        database_url=database_url, max_body_bytes=64 * 1024, token_lifetime=timedelta(days=30)
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        suite_settings(database_url), evidence_dir=str(tmp_path / "evidence")
    )


@pytest.fixture(scope="session")
def shared_app(database_url: str, openapi: OpenAPI) -> Flask:
    """One app for the suite: building one compiles ~120 URL rules (about 90 ms), which per
    test was minutes per run. Each test gets it with its own session factory, settings, clock
    and rate limits (the `app` fixture)."""
    app = create_app(suite_settings(database_url), session_factory=lambda: None)
    app.testing = True
    ContractClient.openapi = openapi
    app.test_client_class = ContractClient
    return app


@pytest.fixture
def app(shared_app: Flask, settings: Settings, session_factory: Any) -> Flask:
    shared_app.extensions.update(
        {
            "grading.sessions": session_factory,
            "grading.settings": settings,
            "grading.clock": time.time,
            "grading.throttle": Throttle(settings.secret_key),
        }
    )
    shared_app.config.update(
        SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=settings.max_body_bytes
    )
    calendar.configure(settings.holidays, settings.extra_workdays, settings.timezone)
    return shared_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(world_connection: tuple[Connection, World], connection: Connection) -> World:
    return world_connection[1]


class Api:
    """A small helper: requests as a named demo role."""

    def __init__(self, client: FlaskClient, world: World) -> None:
        self.client = client
        self.world = world

    def _headers(self, who: str | None, headers: dict[str, str] | None) -> dict[str, str]:
        result = dict(headers or {})
        if who is not None:
            result["Authorization"] = f"Bearer {self.world.tokens[who]}"
        return result

    def get(self, path: str, who: str | None = "admin", **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(who, kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, who: str | None = "admin", **kw: Any) -> Any:
        return self.client.post(
            path, json=json, headers=self._headers(who, kw.pop("headers", None)), **kw
        )

    def put(self, path: str, json: Any = None, who: str | None = "admin", **kw: Any) -> Any:
        return self.client.put(
            path, json=json, headers=self._headers(who, kw.pop("headers", None)), **kw
        )

    def patch(self, path: str, json: Any = None, who: str | None = "admin", **kw: Any) -> Any:
        return self.client.patch(
            path, json=json, headers=self._headers(who, kw.pop("headers", None)), **kw
        )


@pytest.fixture
def api(client: FlaskClient, world: World) -> Api:
    return Api(client, world)


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["type"] == f"/problems/{slug}", body
    assert body["status"] == status
    return body


@pytest.fixture(scope="session")
def demo_site(fresh_database_url: Any) -> DemoSite:
    """The database `make run` serves: the demo with its staged examples (青石镇 under
    publicity, the school's ballot meeting open). Shared by the page and browser tests, which
    each open their own ballot meetings and file their own complaints."""
    return fresh_demo(fresh_database_url, "pages")


@pytest.fixture(scope="session")
def signed_demo(fresh_database_url: Any, db_kind: str) -> str:
    """The demo, with a tree head signed: the template each scenario copies."""
    url = fresh_database_url("tampertemplate")
    migrate.upgrade(url)
    for args in (("demo", "--quiet"), ("audit", "checkpoint")):
        done = subprocess.run(
            [sys.executable, "-m", "service", *args],
            env={**os.environ, "DATABASE_URL": url},
            cwd=ROOT,
            capture_output=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return url


@pytest.fixture
def demo_copy(signed_demo: str, db_kind: str, fresh_database_url: Any, request: Any) -> str:
    """A test's own copy of the signed demo (a file copy, or CREATE DATABASE … TEMPLATE): the
    demo is loaded once per run, not once per test."""
    name = request.node.name
    if db_kind == "sqlite":
        target = fresh_database_url(f"demo{name[-20:]}")
        shutil.copy(signed_demo.removeprefix("sqlite:///"), target.removeprefix("sqlite:///"))
        return str(target)
    template = make_engine(signed_demo).url.database
    target = fresh_database_url(f"demo{abs(hash(name)) % 10**8}")
    clone = make_engine(target).url.database
    admin = _pg_admin_engine(request.config.getoption("--pg-url"))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{clone}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{clone}" TEMPLATE "{template}"'))
    admin.dispose()
    return str(target)
