"""How the service fails and reports: 503 with Retry-After when the database is down or not
migrated, on every endpoint and page; liveness apart from readiness; one line from the CLI; a
JSON log line per request carrying the request id an error names; Prometheus metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from service import logs, migrate
from service.accounts.models import Account
from service.accounts.operations import issue_token
from service.api import problems
from service.api.routing import REGISTRY
from service.app import behind_proxies, create_app
from service.config import Settings
from service.context import Actor
from service.db import make_engine
from tests.conftest import _pg_admin_engine

ROOT = Path(__file__).resolve().parents[1]
DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1


def unmigrated() -> str:
    """An SQLite database that exists but was never migrated (an empty file)."""
    path = Path(tempfile.mkdtemp(prefix="grading-empty-")) / "empty.db"
    path.touch()
    return f"sqlite:///{path}"


def concrete(rule: str) -> str:
    return "/api/v1" + re.sub(
        r"<(?:\w+:)?(\w+)>", lambda m: "1" if "id" in m[1] or m[1] in ("tree_size",) else "x", rule
    )


@pytest.fixture(params=["down", "not migrated"])
def broken(request: Any) -> Flask:
    url = DOWN if request.param == "down" else unmigrated()
    app = create_app(Settings.from_env(database_url=url))
    app.testing = False  # errors are answered, as in production
    return app


def test_every_endpoint_answers_503_with_retry_after_when_the_database_cannot_serve(
    broken: Flask,
) -> None:
    client = broken.test_client()
    answered: dict[int, int] = {}
    for op in REGISTRY:
        reply = client.open(
            concrete(op.rule),
            method=op.method,
            json={} if op.method in ("POST", "PUT", "PATCH") else None,
            headers={"Authorization": "Bearer whatever"},
        )
        answered[reply.status_code] = answered.get(reply.status_code, 0) + 1
        assert reply.status_code != 500, (op.method, op.rule, reply.get_data(as_text=True))
        if reply.status_code == 503:
            assert reply.headers["Retry-After"] == "30"
            assert reply.get_json()["type"] == "/problems/database-unavailable"
    # only what needs no database answers otherwise (liveness, the public key, workflows …)
    assert answered[503] > len(REGISTRY) - 10, answered
    assert client.get("/api/v1/health/live").status_code == 200
    ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 503 and ready.headers["Retry-After"] == "30"


def test_a_person_sees_a_chinese_page_when_the_database_is_down(broken: Flask) -> None:
    page = broken.test_client().get("/notice/1")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "系统暂时无法使用" in page.get_data(as_text=True)


def test_readiness_names_a_database_that_is_not_migrated() -> None:
    app = create_app(Settings.from_env(database_url=unmigrated()))
    reply = app.test_client().get("/api/v1/health/ready")
    assert reply.status_code == 503
    assert "not migrated: run `python -m service db upgrade`" in reply.get_json()["detail"]


def _python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("url", "code", "said"),
    [
        (DOWN, 2, "error: cannot reach the database postgresql+psycopg://postgres@127.0.0.1:1/"),
        (
            "postgress://db/grading",
            1,
            "configuration: DATABASE_URL must be postgresql://… or sqlite:///…, not 'postgress'",
        ),
        ("unmigrated", 2, "is not migrated: run `python -m service db upgrade`"),
        ("missing", 1, "there is no database at /"),
        (
            "sqlite:////nonexistent-folder/grading.db",
            1,
            "configuration: DATABASE_URL names an SQLite file in '/nonexistent-folder', which "
            "does not exist",
        ),
    ],
)
def test_the_cli_says_what_is_wrong_in_one_line(url: str, code: int, said: str) -> None:
    given = {"unmigrated": unmigrated(), "missing": unmigrated() + "-typo"}.get(url, url)
    env = {**os.environ, "DATABASE_URL": given}
    done = _python(env, "-m", "service", "audit", "verify")
    assert done.returncode == code
    assert done.stderr.count("\n") == 1 and said in done.stderr, done.stderr
    assert not os.path.exists(given.removeprefix("sqlite:///")) or url == "unmigrated"


def test_a_missing_postgresql_database_is_named_not_called_unmigrated(
    db_kind: str, pytestconfig: pytest.Config
) -> None:
    if db_kind != "postgresql":
        pytest.skip("a database on a server is PostgreSQL's case")
    url = make_url(pytestconfig.getoption("--pg-url")).set(database="grading_never_created")
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}
    done = _python(env, "-m", "service", "db", "upgrade")
    assert done.returncode == 2
    assert "the database 'grading_never_created' does not exist on the server" in done.stderr
    assert "createdb -O grading_owner grading_never_created" in done.stderr
    assert "not migrated" not in done.stderr


def test_a_production_server_refuses_development_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "AUDIT_SIGNING_KEY")}
    env |= {"DATABASE_URL": unmigrated()}
    env.pop("DEVELOPMENT", None)
    done = _python(env, "-c", "import service.wsgi")
    assert done.returncode == 1
    assert "refusing to start: SECRET_KEY is the development default" in done.stderr
    assert "AUDIT_SIGNING_KEY is not set" in done.stderr


def test_a_gunicorn_worker_keeps_what_it_built_at_start_out_of_the_collectors_walks() -> None:
    env = {**os.environ, "DATABASE_URL": unmigrated(), "DEVELOPMENT": "1"}
    done = _python(env, "-c", "import gc, service.wsgi; print(gc.get_freeze_count())")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip().splitlines()[-1]) > 10_000  # modules, mappers, schemas…


@pytest.mark.parametrize(
    "text",
    [
        "/api/v1/gradings/12/transitions",
        "/api/v1/ballots/KJ74K-HQ02J",
        "/api/v1/ballots/cast",
        "/b/KJ74K-HQ02J?x=1",
        "/b?code=kj74k+hq02j",
        "/b/receipt?session=3&receipt=7KQ2M-XB4RT",
        "/complaints/ABCDEFGH2345",
        "/api/v1/public/complaints/ABCDEFGH2345/track",
        "/api/v1/public/ballot-sessions/3/receipts/7KQ2M-XB4RT",
        "/notice/3?code=1&page=2",
        "/api/v1/reports/summary?unit=1",
    ],
)
def test_a_path_without_a_secrets_marker_is_logged_as_the_full_search_would_log_it(
    text: str,
) -> None:
    searched = logs.SECRET_IN_QUERY.sub(r"\1…", logs.SECRET_IN_PATH.sub(r"\1…", text))
    assert logs.redact(text) == searched


def test_each_request_logs_one_json_line_with_the_id_its_error_names(
    broken: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("json")
    reply = broken.test_client().get("/api/v1/campaigns", headers={"Authorization": "Bearer x"})
    assert reply.status_code == 503
    request_id = reply.headers["X-Request-Id"]
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    mine = [line for line in lines if line.get("request_id") == request_id]
    access = [line for line in mine if line["message"] == "request"]
    assert len(access) == 1
    assert access[0] | {"duration_ms": 0} == {
        "time": access[0]["time"],
        "level": "INFO",
        "logger": "service.request",
        "message": "request",
        "method": "GET",
        "path": "/api/v1/campaigns",
        "route": "/api/v1/campaigns",
        "status": 503,
        "duration_ms": 0,
        "request_id": request_id,
        "account": None,
    }
    assert any(
        line["level"] == "ERROR" and "database unavailable" in line["message"] for line in mine
    )
    logging.getLogger().handlers.clear()


def _drop_connections(request: Any, url: str) -> None:
    """The server ends every connection to the database at `url`, as a restart would."""
    admin = _pg_admin_engine(request.config.getoption("--pg-url"))
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": make_engine(url).url.database},
        )
    admin.dispose()


def test_a_dropped_connection_answers_503_once_and_the_pool_reconnects(
    copy: str,
    db_kind: str,
    request: Any,
) -> None:
    """No ping before each request: a connection the server dropped fails one request with
    503 and Retry-After; the next one gets a fresh connection."""
    if db_kind != "postgresql":
        pytest.skip("a server that drops connections is PostgreSQL's case")
    app = create_app(Settings.from_env(database_url=copy))
    app.testing = False
    client = app.test_client()
    assert client.get("/api/v1/health/ready").status_code == 200  # a pooled connection now
    _drop_connections(request, copy)
    lost = client.get("/api/v1/public/notices/1")
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "30"
    assert "connection to the database was lost" in lost.get_json()["detail"]
    assert client.get("/api/v1/public/notices/1").status_code == 200
    app.extensions["grading.engine"].dispose()


def test_a_dropped_connection_answers_503_on_a_statement_run_below_the_orm(
    copy: str,
    db_kind: str,
    request: Any,
) -> None:
    """The token's lookup runs on the driver's cursor (db.DriverStatement): a dropped
    connection there is wrapped and invalidated as SQLAlchemy's own execution does — 503 once,
    then a fresh connection."""
    if db_kind != "postgresql":
        pytest.skip("a server that drops connections is PostgreSQL's case")
    engine = make_engine(copy)
    with Session(engine) as session:
        admin_account = session.scalars(select(Account).where(Account.username == "admin")).one()
        _, token = issue_token(
            session, Actor.system("t"), admin_account, name="t", lifetime=timedelta(days=1)
        )
        session.commit()
    engine.dispose()
    app = create_app(Settings.from_env(database_url=copy))
    app.testing = False
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/gradings/1", headers=headers).status_code == 200
    _drop_connections(request, copy)
    lost = client.get("/api/v1/gradings/1", headers=headers)
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "30"
    assert lost.get_json()["type"] == "/problems/database-unavailable"
    assert client.get("/api/v1/gradings/1", headers=headers).status_code == 200
    app.extensions["grading.engine"].dispose()


def test_a_refused_write_is_logged_without_the_request_data_it_carried(
    fresh_database_url: Any,
) -> None:
    """The engine hides a failed statement's parameters, and the 409 log line names the
    constraint, not PostgreSQL's DETAIL with the values."""
    url = fresh_database_url("hidden")
    migrate.upgrade(url)
    engine = make_engine(url)
    insert_domain = text("INSERT INTO domains (code, label, position) VALUES (:code, :label, 99)")
    with engine.connect() as conn:
        conn.execute(insert_domain, {"code": "secretcode", "label": "第一个标签"})
        with pytest.raises(IntegrityError) as refused:
            conn.execute(insert_domain, {"code": "secretcode", "label": "秘密的申诉内容"})
    engine.dispose()
    assert "秘密的申诉内容" not in str(refused.value)
    assert "parameters hidden" in str(refused.value)
    said = problems.constraint_of(refused.value)
    assert "secretcode" not in said and said


@pytest.mark.parametrize(
    "orig",
    [
        sqlite3.OperationalError("database is locked"),
        type("DeadlockDetected", (Exception,), {"sqlstate": "40P01"})("deadlock detected"),
    ],
    ids=["sqlite locked", "postgresql deadlock"],
)
def test_a_write_that_waited_too_long_for_another_is_a_503_to_retry(orig: Exception) -> None:
    app = create_app(Settings.from_env(database_url="sqlite://"))
    with app.test_request_context("/api/v1/gradings/1/transitions", method="POST"):
        found = problems.unavailable(OperationalError("BEGIN IMMEDIATE", {}, orig))
    assert found is not None and found.status == 503 and "busy" in str(found)


def _seen_address(remote: str, forwarded: str) -> str:
    seen: list[str] = []

    def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["REMOTE_ADDR"])
        start_response("200 OK", [])
        return [b""]

    wrapped = behind_proxies(echo, 1, ("127.0.0.1", "10.0.0.0/24"))
    environ = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded, "wsgi.url_scheme": "http"}
    wrapped(environ, lambda *_: None)
    return seen[0]


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy_address() -> None:
    # from the proxy on this machine or the proxies' network: the client it names
    assert _seen_address("127.0.0.1", "198.51.100.7") == "198.51.100.7"
    assert _seen_address("10.0.0.9", "198.51.100.7") == "198.51.100.7"
    # straight from a client: its own address, whatever it claims (no rotating past limits)
    assert _seen_address("203.0.113.9", "198.51.100.7") == "203.0.113.9"
    assert _seen_address("203.0.113.9", "127.0.0.1") == "203.0.113.9"


def test_a_trusted_proxy_address_that_is_no_address_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTED_PROXY_ADDRESSES", "10.0.0.0/24, nginx.local")
    with pytest.raises(SystemExit, match="TRUSTED_PROXY_ADDRESSES"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        (
            "PUBLIC_BASE_URL",
            "https://dangjian.example.gov.cn  TRUSTED_PROXIES=1",
            "PUBLIC_BASE_URL ends with 'TRUSTED_PROXIES=1'",
        ),
        ("SECRET_KEY", "k7Qw9vN2xR4tY8pL3mZ6  # made on 2026-12-01", "SECRET_KEY ends with '#"),
        ("PUBLIC_BASE_URL", "https://dangjian example.gov.cn", "PUBLIC_BASE_URL must look like"),
        ("PUBLIC_BASE_URL", "https:///notice", "PUBLIC_BASE_URL must look like"),
        ("AUDIT_SIGNING_KEY", "/etc/grading/no-such-key.pem", "AUDIT_SIGNING_KEY '/etc/grading/"),
        ("AUDIT_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n", "not an unencr"),
        ("DATABASE_URL", "mysql://db/grading", "DATABASE_URL must be postgresql://"),
    ],
)
def test_a_setting_an_env_file_got_wrong_is_refused_at_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as refused:
        Settings.from_env()
    message = str(refused.value)
    assert message.startswith(f"configuration: {name}") and said in message, message
    assert "\n" not in message


def test_a_signing_key_that_is_not_ed25519_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "p256.pem").write_bytes(pem)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", str(tmp_path / "p256.pem"))
    with pytest.raises(SystemExit, match=r"AUDIT_SIGNING_KEY '.*p256.pem' must be an Ed25519 key"):
        Settings.from_env()


def test_a_signing_key_file_and_a_password_with_a_hash_sign_are_taken_as_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "audit.pem").write_bytes(pem)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", str(tmp_path / "audit.pem"))
    monkeypatch.setenv("SMTP_PASSWORD", "pa ss #word")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://dangjian.example.gov.cn/ ")
    settings = Settings.from_env()
    assert settings.audit_signing_key == str(tmp_path / "audit.pem")
    assert settings.smtp_password == "pa ss #word"
    assert settings.public_base_url == "https://dangjian.example.gov.cn"


def test_a_server_started_with_a_misread_env_file_says_so_in_one_line() -> None:
    env = {**os.environ, "DATABASE_URL": unmigrated(), "DEVELOPMENT": "1"}
    env["PUBLIC_BASE_URL"] = "https://dangjian.example.gov.cn  TRUSTED_PROXIES=1"
    done = _python(env, "-c", "import service.wsgi")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("configuration: PUBLIC_BASE_URL ends with 'TRUSTED_PROXIES=1'")


def test_a_json_log_line_keeps_chinese_extras_and_the_traceback() -> None:
    formatter = logs.JsonLines()
    try:
        raise ValueError("坏了")
    except ValueError:
        record = logging.getLogger("t").makeRecord(
            "t",
            logging.ERROR,
            __file__,
            1,
            "申诉 %s",
            ("已收到",),
            sys.exc_info(),
            extra={"when": datetime(2026, 11, 28, 3, 4, 5, tzinfo=UTC), "n": 3},
        )
    line = formatter.format(record)
    assert "申诉 已收到" in line  # not \\u-escaped
    data = json.loads(line)
    assert data["message"] == "申诉 已收到" and data["level"] == "ERROR"
    assert data["when"] == "2026-11-28T03:04:05+00:00" and data["n"] == 3
    assert data["exc_info"].endswith("ValueError: 坏了")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", data["time"])
    assert data["time"] == logging.Formatter().formatTime(record)
