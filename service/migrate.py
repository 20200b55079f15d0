"""Alembic, driven from code (the CLI and the tests use the same path)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from service.audit.roles import APP_ROLES, grants_sql
from service.db import make_engine

ROOT = Path(__file__).resolve().parents[1]


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    _grant_app_roles(url)


def _grant_app_roles(url: str) -> None:
    """On PostgreSQL, the application roles set up with `db app-role-sql` get the tables the
    upgrade added (as the owner running it), the append-only ones append-only."""
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            return
        with engine.begin() as conn:
            for role in conn.execute(text(APP_ROLES)).scalars().all():
                conn.exec_driver_sql(grants_sql(role))
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def head() -> str:
    """The revision the code expects the database to be at."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


# Readiness reads the tables every write goes through, waiting this long at most for a lock:
# with one of them locked (a LOCK TABLE, a migration) no write would get through either.
HOT_TABLES = ("gradings", "audit_chain_heads", "audit_events")
READY_LOCK_WAIT = "1s"


def not_ready(factory: Callable[[], Session], *, hot: bool = False) -> str | None:
    """Why the database cannot serve (unreachable, not migrated, another revision — with `hot`,
    a table every write needs locked), or None."""
    try:
        with factory() as session:
            revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if hot and revision == head() and session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"SET LOCAL lock_timeout = '{READY_LOCK_WAIT}'"))
                for table in HOT_TABLES:
                    session.execute(text(f"SELECT 1 FROM {table} LIMIT 1"))
    except (OperationalError, ProgrammingError, InterfaceError) as exc:
        text_of = str(exc.orig).lower()
        if "alembic_version" in text_of and (
            "no such table" in text_of or "does not exist" in text_of
        ):
            return "the database is not migrated: run `python -m service db upgrade`"
        if getattr(exc.orig, "sqlstate", None) == "55P03":
            return "a table every write needs is locked: writes are waiting"
        return "the database does not answer"
    if revision != head():
        return (
            f"the database is at revision {revision}, the service needs {head()}: run "
            "`python -m service db upgrade`"
        )
    return None
