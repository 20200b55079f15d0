"""ballots, ballot and decision configuration, decided levels

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:14:38.567322
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('ballot_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('asks', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('quorum', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint("asks IN ('level', 'indicators')", name=op.f('ck_ballot_sessions_asks')),
    sa.CheckConstraint("state IN ('open', 'closed', 'counted')", name=op.f('ck_ballot_sessions_state')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ballot_sessions_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ballot_sessions_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_sessions'))
    )
    with op.batch_alter_table('ballot_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_sessions_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('ballot_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.CheckConstraint('returned <= issued', name=op.f('ck_ballot_categories_returned_le_issued')),
    sa.ForeignKeyConstraint(['session_id'], ['ballot_sessions.id'], name=op.f('fk_ballot_categories_session_id_ballot_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_categories')),
    sa.UniqueConstraint('session_id', 'code', name=op.f('uq_ballot_categories_session_id_code'))
    )
    with op.batch_alter_table('ballot_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_categories_session_id'), ['session_id'], unique=False)

    op.create_table('ballot_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('used', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['ballot_sessions.id'], name=op.f('fk_ballot_codes_session_id_ballot_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_ballot_codes_code'))
    )
    with op.batch_alter_table('ballot_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_codes_session_id'), ['session_id'], unique=False)

    op.create_table('ballot_counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('grading_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('item', sa.String(length=60), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['grading_id'], ['gradings.id'], name=op.f('fk_ballot_counters_grading_id_gradings')),
    sa.ForeignKeyConstraint(['session_id'], ['ballot_sessions.id'], name=op.f('fk_ballot_counters_session_id_ballot_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_counters')),
    sa.UniqueConstraint('session_id', 'grading_id', 'category', 'item', name=op.f('uq_ballot_counters_session_id_grading_id_category_item'))
    )
    with op.batch_alter_table('ballot_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_counters_session_id'), ['session_id'], unique=False)

    op.create_table('ballot_session_gradings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('grading_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grading_id'], ['gradings.id'], name=op.f('fk_ballot_session_gradings_grading_id_gradings')),
    sa.ForeignKeyConstraint(['session_id'], ['ballot_sessions.id'], name=op.f('fk_ballot_session_gradings_session_id_ballot_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_session_gradings')),
    sa.UniqueConstraint('session_id', 'grading_id', name=op.f('uq_ballot_session_gradings_session_id_grading_id'))
    )
    with op.batch_alter_table('ballot_session_gradings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_session_gradings_grading_id'), ['grading_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ballot_session_gradings_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_gradings_level'), ['level'], unique=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ballot_config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('decision_config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    


def downgrade() -> None:
    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gradings_level'))
        batch_op.drop_column('level')
    
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('decision_config')
        batch_op.drop_column('ballot_config')

    with op.batch_alter_table('ballot_session_gradings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_session_gradings_session_id'))
        batch_op.drop_index(batch_op.f('ix_ballot_session_gradings_grading_id'))

    op.drop_table('ballot_session_gradings')
    with op.batch_alter_table('ballot_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_counters_session_id'))

    op.drop_table('ballot_counters')
    with op.batch_alter_table('ballot_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_codes_session_id'))

    op.drop_table('ballot_codes')
    with op.batch_alter_table('ballot_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_categories_session_id'))

    op.drop_table('ballot_categories')
    with op.batch_alter_table('ballot_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_sessions_campaign_id'))

    op.drop_table('ballot_sessions')
    
