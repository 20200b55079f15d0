"""Hot statements on psycopg's libpq connection, without its cursor (db.DriverStatement).

A statement is prepared once per connection under a name of its own and run with its
parameters in text form (every parameter of a compiled statement is cast in its SQL, so the
server knows each type). The first statement of a transaction is sent with its BEGIN in one
pipeline — one round trip where the cursor makes two. What the cursor would do per execution
(query conversion, its prepared-statement bookkeeping, a result object, a transformer) is done
once per connection here; the dumping and loading of values are psycopg's own (a Transformer).

Prepared statements and psycopg: psycopg deallocates every prepared statement of a
connection (DEALLOCATE ALL) when it rolls back a transaction in which it had prepared any, or
after a DROP/ALTER/DISCARD ALL; it does so through its PrepareManager's `clear`, which this
module wraps to forget its own names at the same moment. A statement found missing anyway
(someone's DISCARD ALL) is prepared again when it opens its transaction; later in a
transaction it cannot be (the error aborted the transaction): the names are forgotten and the
error raised, so only that request fails.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

from psycopg import Connection, errors, pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.generators import execute, fetch_many

_OK = pq.ExecStatus.COMMAND_OK
_TUPLES = pq.ExecStatus.TUPLES_OK
_FATAL = pq.ExecStatus.FATAL_ERROR
_IDLE = pq.TransactionStatus.IDLE
_MISSING = b"26000"  # invalid_sql_statement_name: no prepared statement of that name
_numbers = itertools.count()  # next() on it is one C call: safe from several threads


class Prepared:
    """A statement in the form libpq takes: `$n` placeholders and the parameter names in
    their order."""

    __slots__ = ("formats", "order", "sql")

    def __init__(self, pyformat_sql: str) -> None:
        order: list[str] = []

        def placeholder(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "%"
            if name not in order:
                order.append(name)
            return f"${order.index(name) + 1}"

        self.sql = _PLACEHOLDER.sub(placeholder, pyformat_sql).encode()
        self.order = tuple(order)
        self.formats = [PyFormat.TEXT] * len(order)  # every parameter sent as text


_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s|%%")


class _State:
    """What this module keeps per connection: the names it prepared, a transformer."""

    __slots__ = ("names", "transformer")

    def __init__(self, connection: Connection[Any]) -> None:
        self.names: dict[Prepared, bytes] = {}
        self.transformer: Any = Transformer(connection)


def _state(connection: Connection[Any]) -> _State:
    manager: Any = connection._prepared
    state: _State | None = getattr(manager, "grading_state", None)
    if state is None:
        state = manager.grading_state = _State(connection)
        clear = manager.clear

        def clear_and_forget() -> bool:
            deallocating = bool(clear())
            if deallocating:
                state.names.clear()
            return deallocating

        manager.clear = clear_and_forget
    return state


def rows(connection: Connection[Any], statement: Prepared, values: Sequence[Any]) -> list[Any]:
    """The statement's rows (tuples), its transaction begun first if none is open. A driver
    error is raised as psycopg raises it; a failure that may leave the connection's protocol
    state unknown closes the connection (the pool then replaces it)."""
    if connection._pipeline is not None:
        raise errors.NotSupportedError("a hot statement does not run in a psycopg pipeline")
    with connection.lock:
        state = _state(connection)
        transformer = state.transformer
        params = transformer.dump_sequence(values, statement.formats)
        pgconn = connection.pgconn
        begin = not connection.autocommit and pgconn.transaction_status == _IDLE
        if begin:
            result = _begin_and_run(connection, state, statement, params)
        else:
            result = _run(connection, state, statement, params)
        if result.status != _TUPLES:
            if _missing(result):
                state.names.clear()
            raise _error(result, transformer)
        transformer.set_pgresult(result)
        return transformer.load_rows(0, result.ntuples, tuple)


def _missing(result: pq.abc.PGresult) -> bool:
    """The server has no prepared statement of the name the statement was run by."""
    return bool(
        result.status == _FATAL and result.error_field(pq.DiagnosticField.SQLSTATE) == _MISSING
    )


def _error(result: pq.abc.PGresult, transformer: Any) -> Exception:
    if result.status == _FATAL:
        return errors.error_from_result(result, encoding=transformer.encoding)
    return errors.InternalError(f"unexpected result of a statement: {result.status}")


def _name(connection: Connection[Any], state: _State, statement: Prepared) -> bytes:
    name = state.names.get(statement)
    if name is None:
        name = f"grading_{next(_numbers)}".encode()  # unique in the process
        connection.pgconn.send_prepare(name, statement.sql)
        (result,) = connection.wait(execute(connection.pgconn))
        if result.status != _OK:
            raise _error(result, state.transformer)
        state.names[statement] = name
    return name


def _run(
    connection: Connection[Any], state: _State, statement: Prepared, params: Sequence[Any]
) -> pq.abc.PGresult:
    name = _name(connection, state, statement)
    connection.pgconn.send_query_prepared(name, params)
    return connection.wait(execute(connection.pgconn))[-1]


def _begin_and_run(
    connection: Connection[Any], state: _State, statement: Prepared, params: Sequence[Any]
) -> pq.abc.PGresult:
    """BEGIN and the statement in one pipeline. A statement the server no longer has (the
    error aborts only this fresh transaction) is rolled back, prepared again, and run."""
    result = _pipelined(connection, _name(connection, state, statement), params)
    if _missing(result):
        connection.pgconn.send_query(b"ROLLBACK")
        connection.wait(execute(connection.pgconn))
        state.names.clear()
        result = _pipelined(connection, _name(connection, state, statement), params)
    return result


def _pipelined(connection: Connection[Any], name: bytes, params: Sequence[Any]) -> Any:
    pgconn = connection.pgconn
    begin = connection._get_tx_start_command()
    pgconn.enter_pipeline_mode()
    try:
        pgconn.send_query_params(begin, None)
        pgconn.send_query_prepared(name, params)
        pgconn.pipeline_sync()
        (begun, *_) = connection.wait(execute(pgconn))  # sends all, then BEGIN's result
        answered = connection.wait(fetch_many(pgconn))
        connection.wait(fetch_many(pgconn))  # the pipeline's sync
        pgconn.exit_pipeline_mode()
    except BaseException:
        # Results left unread would leave the connection in pipeline mode, unusable: closed,
        # it is a dropped connection to SQLAlchemy (invalidated, replaced by the pool).
        connection.close()
        raise
    if begun.status != _OK:
        return begun
    return answered[-1]
