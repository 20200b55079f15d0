"""The schema changes only through Alembic, and the migrations agree with the models."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import service.models  # noqa: F401
from service import migrate
from service.db import Base, make_engine


@pytest.fixture(scope="module")
def migrated_url(fresh_database_url: Any) -> str:
    """A database of its own: the suite's database is held open by the test world."""
    url: str = fresh_database_url("check")
    migrate.upgrade(url)
    return url


def test_there_is_a_single_alembic_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1


def test_models_and_migrations_do_not_differ(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_alembic_check_finds_no_new_operations(migrated_url: str) -> None:
    command.check(migrate.alembic_config(migrated_url))  # raises when autogenerate finds changes


def test_upgrade_downgrade_upgrade_on_an_empty_database(fresh_database_url: Any) -> None:
    url = fresh_database_url("migrations")
    migrate.upgrade(url)
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {"organizations", "standards", "campaigns", "gradings", "audit_events"} <= tables
    migrate.downgrade(url, "base")
    engine.dispose()
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    with engine.connect() as conn:
        domains = conn.execute(text("SELECT count(*) FROM domains")).scalar()
        schemes = conn.execute(text("SELECT code FROM level_schemes ORDER BY id")).scalars().all()
    engine.dispose()
    assert domains == 8
    assert schemes == ["four_levels", "five_levels", "five_stars"]


def test_constraints_follow_the_naming_convention(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    inspector = inspect(engine)
    fks = inspector.get_foreign_keys("organizations")
    assert {fk["name"] for fk in fks} >= {"fk_organizations_parent_id_organizations"}
    uniques = {u["name"] for u in inspector.get_unique_constraints("organizations")}
    assert "uq_organizations_code" in uniques
    engine.dispose()
