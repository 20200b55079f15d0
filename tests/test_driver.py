"""service.driver: hot statements on psycopg's libpq connection — prepared once per
connection, the first one of a transaction sent with its BEGIN, and what happens when the
server or psycopg drops the prepared statements."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import errors, pq
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from bench.run import seed
from service import driver, migrate
from service.app import create_app
from service.config import Settings
from service.db import make_engine
from service.gradings.models import Grading

INTRANS = pq.TransactionStatus.INTRANS
INERROR = pq.TransactionStatus.INERROR
IDLE = pq.TransactionStatus.IDLE


def _libpq_url(request: Any) -> str:
    """The suite's PostgreSQL server, as psycopg (not SQLAlchemy) names it."""
    return str(request.config.getoption("--pg-url")).replace("postgresql+psycopg", "postgresql")


@pytest.fixture
def conn(request: Any, db_kind: str) -> Iterator[psycopg.Connection[Any]]:
    if db_kind != "postgresql":
        pytest.skip("the driver's own path is PostgreSQL's")
    url = _libpq_url(request)
    with psycopg.connect(url) as connection:
        yield connection


ONE = driver.Prepared("SELECT 1 / %(divisor)s::INTEGER, %(divisor)s::INTEGER + 1")


def test_the_first_statement_opens_the_transaction_it_runs_in(
    conn: psycopg.Connection[Any],
) -> None:
    assert conn.info.transaction_status == IDLE
    assert driver.rows(conn, ONE, [1]) == [(1, 2)]
    assert conn.info.transaction_status == INTRANS
    conn.rollback()
    assert conn.info.transaction_status == IDLE


def test_parameters_and_columns_keep_their_types() -> None:
    statement = driver.Prepared(
        "SELECT %(n)s::INTEGER, %(s)s::VARCHAR, %(at)s::TIMESTAMP WITH TIME ZONE, "
        "%(doc)s::JSONB, %(yes)s::BOOLEAN, %(none)s::VARCHAR, 'a%%b', %(n)s::INTEGER * 2"
    )
    assert statement.sql.count(b"$1") == 2 and b"'a%b'" in statement.sql
    assert statement.order == ("n", "s", "at", "doc", "yes", "none")


def test_values_come_back_as_they_went(conn: psycopg.Connection[Any]) -> None:
    statement = driver.Prepared(
        "SELECT %(n)s::INTEGER, %(s)s::VARCHAR, %(at)s::TIMESTAMP WITH TIME ZONE, "
        "%(doc)s::JSONB, %(yes)s::BOOLEAN, %(none)s::VARCHAR, 'a%%b'"
    )
    at = datetime(2026, 11, 28, 4, 5, 6, 789, tzinfo=UTC)
    values = [7, "支部 'quoted'", at, Jsonb({"级别": "好", "n": [1, None]}), True, None]
    assert driver.rows(conn, statement, values) == [
        (7, "支部 'quoted'", at, {"级别": "好", "n": [1, None]}, True, None, "a%b")
    ]


def test_a_failed_first_statement_leaves_its_transaction_to_roll_back(
    conn: psycopg.Connection[Any],
) -> None:
    with pytest.raises(errors.DivisionByZero):
        driver.rows(conn, ONE, [0])
    assert conn.info.transaction_status == INERROR
    conn.rollback()
    assert driver.rows(conn, ONE, [2]) == [(0, 3)]


def test_a_statement_the_server_dropped_is_prepared_again_when_it_opens_a_transaction(
    conn: psycopg.Connection[Any],
) -> None:
    assert driver.rows(conn, ONE, [1]) == [(1, 2)]
    conn.commit()
    conn.pgconn.exec_(b"DEALLOCATE ALL")  # behind psycopg's back: nothing tells the driver
    assert driver.rows(conn, ONE, [1]) == [(1, 2)]
    assert conn.info.transaction_status == INTRANS


def test_psycopgs_own_deallocation_is_followed(conn: psycopg.Connection[Any]) -> None:
    """psycopg prepares a statement run five times and, rolling back, deallocates everything
    (DEALLOCATE ALL): the driver's names go with it, and its statement is prepared again —
    also later in a transaction, where a missing one could not be recovered."""
    with conn.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT %s::INTEGER", [1])
        assert driver.rows(conn, ONE, [1]) == [(1, 2)]
        conn.rollback()
        cursor.execute("SELECT 2")
        assert conn.info.transaction_status == INTRANS
        assert driver.rows(conn, ONE, [1]) == [(1, 2)]


def test_a_statement_dropped_within_a_transaction_fails_that_transaction_only(
    conn: psycopg.Connection[Any],
) -> None:
    assert driver.rows(conn, ONE, [1]) == [(1, 2)]
    conn.pgconn.exec_(b"DEALLOCATE ALL")
    with pytest.raises(errors.InvalidSqlStatementName):
        driver.rows(conn, ONE, [1])
    conn.rollback()
    assert driver.rows(conn, ONE, [1]) == [(1, 2)]


def test_a_psycopg_pipeline_is_refused_not_mixed_with(conn: psycopg.Connection[Any]) -> None:
    with conn.pipeline(), pytest.raises(errors.NotSupportedError):
        driver.rows(conn, ONE, [1])
    assert driver.rows(conn, ONE, [1]) == [(1, 2)]


def test_a_connection_that_fails_inside_the_pipeline_is_closed(
    conn: psycopg.Connection[Any], request: Any
) -> None:
    """A connection the server ends while BEGIN and the statement are in flight is closed —
    SQLAlchemy takes a closed connection's error for a disconnect and replaces it."""
    assert driver.rows(conn, ONE, [1]) == [(1, 2)]
    conn.rollback()
    url = _libpq_url(request)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
    with pytest.raises(psycopg.OperationalError):
        driver.rows(conn, ONE, [1])
    assert conn.closed


def _prepared_here(engine: Any) -> int:
    with engine.pool.connect() as pooled:
        with pooled.dbapi_connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'grading_%'"
            )
            (count,) = cursor.fetchone()
        pooled.dbapi_connection.rollback()
    return int(count)


def test_transitions_go_on_after_the_server_dropped_the_prepared_statements(
    fresh_database_url: Any, db_kind: str
) -> None:
    """Through the app on a real pool: the token's lookup and the grading's load open their
    transactions; DEALLOCATE ALL behind psycopg's back between two requests costs nothing,
    nor does psycopg's own after a refusal (rolled back)."""
    if db_kind != "postgresql":
        pytest.skip("the driver's own path is PostgreSQL's")
    url = fresh_database_url("driver")
    migrate.upgrade(url)
    token, (grading_id, *_) = seed(url)
    app = create_app(Settings.from_env(database_url=url))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/gradings/{grading_id}/transitions"
    there = {"transition": "open_self_rating"}
    back = {"transition": "return_to_survey", "reason": "again"}
    engine = app.extensions["grading.engine"]
    try:
        for body in (there, back, there, back):
            with engine.pool.connect() as pooled:  # the pool's one idle connection
                pooled.dbapi_connection.pgconn.exec_(b"DEALLOCATE ALL")
            moved = client.post(path, json=body, headers=headers)
            assert moved.status_code == 200, moved.get_json()
            assert _prepared_here(engine) >= 2  # the token's lookup, the load (and the write)
        refused = client.post(path, json=back, headers=headers)
        assert refused.status_code == 409
        moved = client.post(path, json=there, headers=headers)
        assert moved.status_code == 200, moved.get_json()
        assert client.get(f"/api/v1/gradings/{grading_id}", headers=headers).status_code == 200
    finally:
        engine.dispose()
    check = make_engine(url)
    with Session(check) as session:
        assert session.get_one(Grading, grading_id).state == "self_rating"
    check.dispose()


def test_connections_in_several_threads_prepare_at_once(request: Any, db_kind: str) -> None:
    """Each statement's name comes from one process-wide counter (gthread workers prepare on
    their own connections at the same moment)."""
    if db_kind != "postgresql":
        pytest.skip("the driver's own path is PostgreSQL's")
    url = _libpq_url(request)
    statements = [driver.Prepared(f"SELECT %(n)s::INTEGER + {i}") for i in range(20)]
    start = threading.Barrier(8)

    def work(k: int) -> list[Any]:
        with psycopg.connect(url) as connection:
            start.wait()
            return [driver.rows(connection, s, [k])[0][0] for s in statements]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [[k + i for i in range(20)] for k in range(8)]
