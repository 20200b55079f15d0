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
)


def app_role_sql(role: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError("role names are lower-case letters, digits and '_'")
    append_only = ", ".join(APPEND_ONLY)
    return f"""\
-- Run as the schema owner after `python -m service db upgrade`; then connect as {role}.
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
    CREATE ROLE {role} LOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON {append_only} FROM {role};
REVOKE ALL ON alembic_version FROM {role};
GRANT SELECT ON alembic_version TO {role};
"""
