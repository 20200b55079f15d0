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


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


@lru_cache(maxsize=1)
def head() -> str:
    """The revision the code expects the database to be at."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


def not_ready(factory: Callable[[], Session]) -> str | None:
    """Why the database cannot serve (unreachable, not migrated, another revision), or None."""
    try:
        with factory() as session:
            revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError, InterfaceError) as exc:
        text_of = str(exc.orig).lower()
        if "alembic_version" in text_of and (
            "no such table" in text_of or "does not exist" in text_of
        ):
            return "the database is not migrated: run `python -m service db upgrade`"
        return "the database does not answer"
    if revision != head():
        return (
            f"the database is at revision {revision}, the service needs {head()}: run "
            "`python -m service db upgrade`"
        )
    return None
