"""sealed ballot box: ballots are sealed to the session's key, counted only when it is opened

Sessions still open or closed but uncounted kept their ballots as counters, which the new
design cannot count: they are voided with a reason (hold the meeting again). Counted sessions
keep their tallies (the counters were only an intermediate). The counters table is dropped.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_VOID_REASON = (
    "opened before sealed ballots (migration 0005): its ballots were kept as counters, which "
    "cannot be counted any more; hold the meeting again with a new session"
)


def upgrade() -> None:
    with op.batch_alter_table("ballot_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("box_public_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("box_private_key_wrapped", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("box_ballots", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("box_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_ballot_sessions_state"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_ballot_sessions_state"),
            "state IN ('open', 'closed', 'counted', 'voided')",
        )
    op.execute(
        sa.text(
            "UPDATE ballot_sessions SET state = 'voided', void_reason = :reason "
            "WHERE state IN ('open', 'closed')"
        ).bindparams(reason=LEGACY_VOID_REASON)
    )
    op.create_table(
        "ballot_box",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("receipt", sa.String(length=11), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["ballot_sessions.id"],
            name=op.f("fk_ballot_box_session_id_ballot_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "digest", name=op.f("pk_ballot_box")),
    )
    with op.batch_alter_table("ballot_box", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ballot_box_receipt"), ["receipt"], unique=False)
    _append_only("ballot_box")
    with op.batch_alter_table("ballot_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ballot_counters_session_id"))
    op.drop_table("ballot_counters")


def _append_only(table: str) -> None:
    """Like the audit trail (revision 0002): rows are added, never changed or removed."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    op.create_table(
        "ballot_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("grading_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("item", sa.String(length=60), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["grading_id"], ["gradings.id"], name=op.f("fk_ballot_counters_grading_id_gradings")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["ballot_sessions.id"],
            name=op.f("fk_ballot_counters_session_id_ballot_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot_counters")),
        sa.UniqueConstraint(
            "session_id",
            "grading_id",
            "category",
            "item",
            name=op.f("uq_ballot_counters_session_id_grading_id_category_item"),
        ),
    )
    with op.batch_alter_table("ballot_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ballot_counters_session_id"), ["session_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ballot_box_append_only ON ballot_box")
        op.execute("DROP TRIGGER IF EXISTS ballot_box_no_truncate ON ballot_box")
    with op.batch_alter_table("ballot_box", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ballot_box_receipt"))
    op.drop_table("ballot_box")
    # Sealed sessions cannot become counter sessions: those not counted are closed for good.
    op.execute("UPDATE ballot_sessions SET state = 'closed' WHERE state IN ('open', 'voided')")
    with op.batch_alter_table("ballot_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_ballot_sessions_state"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_ballot_sessions_state"), "state IN ('open', 'closed', 'counted')"
        )
        batch_op.drop_column("void_reason")
        batch_op.drop_column("box_digest")
        batch_op.drop_column("box_ballots")
        batch_op.drop_column("box_private_key_wrapped")
        batch_op.drop_column("box_public_key")
