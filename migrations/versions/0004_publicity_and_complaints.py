"""publicity and complaints

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:44:53.318317
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('rate_limit_hits',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limit_hits'))
    )
    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grading_id', sa.Integer(), nullable=False),
    sa.Column('tracking_code', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('assigned_to', sa.String(length=100), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('upheld', sa.Boolean(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('received', 'investigating', 'answered')", name=op.f('ck_complaints_state')),
    sa.ForeignKeyConstraint(['grading_id'], ['gradings.id'], name=op.f('fk_complaints_grading_id_gradings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('tracking_code', name=op.f('uq_complaints_tracking_code'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_grading_id'), ['grading_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_state'), ['state'], unique=False)

    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publicity_starts_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('publicity_ends_on', sa.Date(), nullable=True))

    


def downgrade() -> None:
    
    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.drop_column('publicity_ends_on')
        batch_op.drop_column('publicity_starts_on')

    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_state'))
        batch_op.drop_index(batch_op.f('ix_complaints_grading_id'))

    op.drop_table('complaints')
    op.drop_table('rate_limit_hits')
    
