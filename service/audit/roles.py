"""The production database role: it may append to the audit trail but never change it."""

from __future__ import annotations

import re

APPEND_ONLY = (
    "audit_events",
    "audit_checkpoints",
    "record_versions",
    "ballot_box",
    "audit_log_leaves",
    "audit_log_nodes",
    "audit_log_checkpoints",
    "audit_log_cosignatures",
    "accountability_records",
    "decision_meetings",
    "decision_meeting_results",
    "report_submissions",
    "evidence_files",
)


def _checked(role: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError("role names are lower-case letters, digits and '_'")
    return role


def grants_sql(role: str) -> str:
    """What the application role may do, table by table — run again by `db upgrade` after each
    migration (service.migrate), so a table a release adds is usable at once. Until then a new
    table gives only SELECT and INSERT (the default privileges): append-only unless granted."""
    role = _checked(role)
    append_only = ", ".join(f"'{name}'" for name in APPEND_ONLY)
    # the append-only tables the schema has at its revision (a database upgraded step by step
    # has not made the newer ones yet)
    return f"""\
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
DO $$ DECLARE name text; BEGIN
  FOREACH name IN ARRAY ARRAY[{append_only}] LOOP
    IF to_regclass('public.' || name) IS NOT NULL THEN
      EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON ' || quote_ident(name) || ' FROM {role}';
    END IF;
  END LOOP;
END $$;
REVOKE ALL ON alembic_version FROM {role};
GRANT SELECT ON alembic_version TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role};
"""


# The application roles of a database: those the owner let append to the audit trail.
APP_ROLES = """\
SELECT DISTINCT grantee FROM information_schema.role_table_grants
WHERE table_schema = 'public' AND table_name = 'audit_events' AND privilege_type = 'INSERT'
  AND grantee <> current_user"""


def app_role_sql(role: str) -> str:
    role = _checked(role)
    return f"""\
-- Run as the schema owner after `python -m service db upgrade`; then connect as {role}.
-- Later upgrades (run as the owner) grant {role} the tables they add.
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
    CREATE ROLE {role} LOGIN;
  END IF;
END $$;
{grants_sql(role)}"""
