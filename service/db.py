"""Database plumbing: the declarative base with a naming convention, engines and sessions.

Operations never commit. The unit of work is the HTTP request (service.api) or the CLI
command (service.__main__): it commits once at the end or rolls everything back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import (
    DeclarativeBase,
    Session,
    class_mapper,
    make_transient_to_detached,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from service import driver

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both PostgreSQL and SQLite (which stores naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL, JSON (text) on SQLite.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, waits: tuple[float, float] | None = None, **kwargs: Any) -> Engine:
    """An engine for DATABASE_URL. `waits` = (lock, statement) timeouts in seconds, for the
    service's requests and its worker on PostgreSQL: a statement that waits longer for a lock
    (another's LOCK TABLE, a long transaction) or runs longer fails, and the request answers 503
    with Retry-After, instead of hanging and committing after its client gave up."""
    url = normalize_url(url)
    # A failed statement's message (logged with its traceback) names the SQL, never its
    # parameters: those are request data — names, complaint texts, scores.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    # No ping before every checkout (a round trip per request): connections are recycled before
    # a server or firewall would drop them, and a request that meets a dropped one answers 503
    # with Retry-After (service.api.problems) while the pool reconnects.
    kwargs.setdefault("pool_recycle", 300)
    kwargs.setdefault("json_deserializer", _json_loads)
    if waits is not None:
        lock, statement = (int(seconds * 1000) for seconds in waits)
        options = f"-c lock_timeout={lock} -c statement_timeout={statement}"
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "options": options}
    return create_engine(url, **kwargs)


_JSON_DECODE = json.JSONDecoder().decode


def _json_loads(data: bytes | str) -> Any:
    """json.loads for what PostgreSQL sends (always UTF-8): without json.loads' encoding
    detection on bytes — a sixth of an audit verification's time went there."""
    return _JSON_DECODE(data.decode() if isinstance(data, bytes) else data)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN; take control
    # (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back otherwise."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class DriverStatement:
    """A Core statement for a hot path, run on PostgreSQL below SQLAlchemy's execution (on
    psycopg's libpq connection, prepared once per connection: service.driver): compiled once,
    its parameters bound and its columns converted by the statement's own types' processors,
    its rows plain sequences — without SQLAlchemy's per-execution context and result metadata
    (about a quarter of a transition's CPU in its profile). Elsewhere (SQLite) it runs as any
    statement does.

    Kept as SQLAlchemy keeps them: the connection's cursor events fire (the statement-count
    tests see it), a driver error is wrapped and a dropped connection invalidated as
    SQLAlchemy's own execution does. The statement returns rows (a SELECT or RETURNING)."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    def _postgresql(self, dialect: Any) -> _Compiled:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=dialect)
            sql = compiled.string
            defaults = compiled.construct_params(_check=False)
            late = compiled.literal_execute_params | compiled.post_compile_params
            if late:
                # Values rendered into the SQL at execution (aggregate_strings' separator):
                # constants of the statement, rendered once here.
                if any(bind.required for bind in late):
                    raise ValueError("a DriverStatement renders only constant values late")
                expanded = compiled._process_parameters_for_postcompile(defaults)
                sql, defaults = expanded.statement, dict(expanded.parameters)
            processors = (
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.exported_columns
            )
            self._compiled = _Compiled(
                sql,
                driver.Prepared(sql),
                defaults,
                dict(compiled._bind_processors),
                tuple((i, p) for i, p in enumerate(processors) if p is not None),
            )
        return self._compiled

    def rows(self, connection: Connection, params: dict[str, Any]) -> list[Any]:
        if connection.dialect.name != "postgresql":
            return list(connection.execute(self.statement, params).all())
        sql, prepared, defaults, processors, results = self._postgresql(connection.dialect)
        bound = {**defaults, **params}
        for name, process in processors.items():
            if name in params:
                bound[name] = process(bound[name])
        dbapi: Any = connection.connection.dbapi_connection
        try:
            connection.dispatch.before_cursor_execute(connection, None, sql, bound, None, False)
            found = driver.rows(dbapi, prepared, [bound[name] for name in prepared.order])
            connection.dispatch.after_cursor_execute(connection, None, sql, bound, None, False)
        except connection.dialect.loaded_dbapi.Error as exc:
            connection._handle_dbapi_exception(exc, sql, bound, None, None)
        if not results:
            return found
        converted = []
        for row in found:
            values = list(row)
            for i, process in results:
                if values[i] is not None:
                    values[i] = process(values[i])
            converted.append(values)
        return converted


class _Compiled(NamedTuple):
    sql: str
    prepared: driver.Prepared
    defaults: dict[str, Any]
    binds: dict[str, Any]
    results: tuple[tuple[int, Any], ...]  # (column index, result processor)


_KEYS: dict[type, tuple[Any, tuple[str, ...]]] = {}  # a class's mapper, its key's columns


def persistent(session: Session, cls: type[T], values: dict[str, Any]) -> T:
    """The ORM object of a row read without the ORM (a DriverStatement), as if the session had
    loaded it: `values` its loaded columns (no history), the others expired (loaded if read),
    in the session's identity map. An object the session holds already is returned as it is,
    as a query would."""
    found = _KEYS.get(cls)
    if found is None:
        mapper = class_mapper(cls)
        found = _KEYS[cls] = (mapper, tuple(str(c.key) for c in mapper.primary_key))
    mapper, names = found
    key = mapper.identity_key_from_primary_key(tuple(values[name] for name in names))
    held = session.identity_map.get(key)
    if held is not None:
        return held
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)  # as the ORM's loader fills a new instance: no attribute events
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
