"""the superior's duties: rolls, attendance, the stage a ballot session serves, decision meetings

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 20:13:01.916368
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('decision_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('chaired_by', sa.String(length=100), nullable=False),
    sa.Column('attendees', JSON, nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_decision_meetings_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['corrects_id'], ['decision_meetings.id'], name=op.f('fk_decision_meetings_corrects_id_decision_meetings')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_decision_meetings_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_meetings'))
    )
    with op.batch_alter_table('decision_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_meetings_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('decision_meeting_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('grading_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['grading_id'], ['gradings.id'], name=op.f('fk_decision_meeting_results_grading_id_gradings')),
    sa.ForeignKeyConstraint(['meeting_id'], ['decision_meetings.id'], name=op.f('fk_decision_meeting_results_meeting_id_decision_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_meeting_results')),
    sa.UniqueConstraint('meeting_id', 'grading_id', name=op.f('uq_decision_meeting_results_meeting_id_grading_id'))
    )
    with op.batch_alter_table('decision_meeting_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_meeting_results_grading_id'), ['grading_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decision_meeting_results_meeting_id'), ['meeting_id'], unique=False)

    with op.batch_alter_table('ballot_categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eligible', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('present', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_ballot_categories_present_non_negative'), 'present IS NULL OR present >= 0'
        )

    # A session held in promotion measured satisfaction: its tallies say so (counted), or its
    # gradings are in promotion still (open). Every other session was an evaluation's.
    with op.batch_alter_table('ballot_sessions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('stage', sa.String(length=20), nullable=False, server_default='evaluation')
        )
        batch_op.add_column(sa.Column('over_issue_reason', sa.Text(), nullable=True))
    op.execute(
        "UPDATE ballot_sessions SET stage = 'promotion' WHERE EXISTS ("
        " SELECT 1 FROM record_versions r WHERE r.record_type = 'satisfaction_tally'"
        " AND r.record_key = 'S' || CAST(ballot_sessions.id AS VARCHAR(20)))"
        " OR EXISTS (SELECT 1 FROM ballot_session_gradings l JOIN gradings g ON g.id = l.grading_id"
        " WHERE l.session_id = ballot_sessions.id AND g.state = 'promotion'"
        " AND ballot_sessions.state IN ('open', 'closed'))"
    )
    # On SQLite a new CHECK means copying the table, and these two are referenced by others
    # (foreign keys on): there the application keeps the rule alone.
    if op.get_bind().dialect.name == "postgresql":
        with op.batch_alter_table('ballot_sessions', schema=None) as batch_op:
            batch_op.alter_column('stage', server_default=None)
            batch_op.create_check_constraint(
                op.f('ck_ballot_sessions_stage'), "stage IN ('evaluation', 'promotion')"
            )

    # accountability from any oversight, each record linked to its source (before: spot checks).
    # The ledger is append-only (0013): its backfill runs with the guard lifted, and SQLite's
    # triggers, lost when batch mode copies the table, are made again.
    postgresql_ = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('accountability_records', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('source', sa.String(length=20), nullable=False, server_default='spot_check')
        )
        batch_op.add_column(sa.Column('source_id', sa.Integer(), nullable=True))
    _guard_lifted("UPDATE accountability_records SET source_id = spot_check_id")
    with op.batch_alter_table('accountability_records', schema=None) as batch_op:
        batch_op.alter_column('source', server_default=None)
        batch_op.alter_column('source_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('spot_check_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            op.f('ck_accountability_records_source'),
            "source IN ('spot_check', 'complaint', 're_review', 'inspection')",
        )
    if not postgresql_:
        _sqlite_append_only('accountability_records')
    # the 分类定级会议 is recorded once: append-only too
    for table in ('decision_meetings', 'decision_meeting_results'):
        if postgresql_:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"
            )
        else:
            _sqlite_append_only(table)

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_members', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('probationary_members', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('committee_members', JSON, nullable=True))
        batch_op.add_column(sa.Column('elected_on', sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(
            op.f('ck_organizations_roll_adds_up'),
            'organizations',
            'full_members IS NULL OR probationary_members IS NULL '
            'OR member_count = full_members + probationary_members',
        )


def _guard_lifted(statement: str) -> None:
    """Run a statement on the append-only ledger as its owner: on PostgreSQL with its trigger
    off for that moment; on SQLite without its triggers, which the batch copy makes again."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE accountability_records DISABLE TRIGGER accountability_records_append_only")
        op.execute(statement)
        op.execute("ALTER TABLE accountability_records ENABLE TRIGGER accountability_records_append_only")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS accountability_records_no_{verb}")
    op.execute(statement)


def _sqlite_append_only(table: str) -> None:
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}")
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
            f"SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
        )


def downgrade() -> None:
    # Records of other sources than spot checks do not fit the older ledger: they go with it
    # (the audit trail keeps each one's event).
    postgresql_ = op.get_bind().dialect.name == "postgresql"
    _guard_lifted("DELETE FROM accountability_records WHERE spot_check_id IS NULL")
    with op.batch_alter_table('accountability_records', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_accountability_records_source'), type_='check')
        batch_op.alter_column('spot_check_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('source_id')
        batch_op.drop_column('source')
    if not postgresql_:
        _sqlite_append_only('accountability_records')

    if postgresql_:
        op.drop_constraint(op.f('ck_organizations_roll_adds_up'), 'organizations', type_='check')
        op.drop_constraint(op.f('ck_ballot_sessions_stage'), 'ballot_sessions', type_='check')
    # plain DROP COLUMN (SQLite ≥ 3.35 too): these tables are referenced, never copied
    for table, columns in (
        ('organizations', ('elected_on', 'committee_members', 'probationary_members', 'full_members')),
        ('ballot_sessions', ('over_issue_reason', 'stage')),
    ):
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

    with op.batch_alter_table('ballot_categories', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ballot_categories_present_non_negative'), type_='check')
        batch_op.drop_column('present')
        batch_op.drop_column('eligible')

    with op.batch_alter_table('decision_meeting_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_meeting_results_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_decision_meeting_results_grading_id'))

    op.drop_table('decision_meeting_results')
    with op.batch_alter_table('decision_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_meetings_campaign_id'))

    op.drop_table('decision_meetings')
