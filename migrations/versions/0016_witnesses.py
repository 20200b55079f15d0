"""witnesses registered by an admin at the root and approved by a second; a spot check's beacon

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 21:28:40.432934
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('audit_witnesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('verifier_key', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_by_account_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name=op.f('ck_audit_witnesses_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_witnesses'))
    )
    with op.batch_alter_table('audit_witnesses', schema=None) as batch_op:
        batch_op.create_index('uq_audit_witnesses_one_live_name', ['name'], unique=True, postgresql_where=sa.text("state <> 'rejected'"), sqlite_where=sa.text("state <> 'rejected'"))

    with op.batch_alter_table('spot_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('beacon', JSON, nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE spot_checks DROP COLUMN beacon")  # referenced: never copied
    with op.batch_alter_table('audit_witnesses', schema=None) as batch_op:
        batch_op.drop_index('uq_audit_witnesses_one_live_name', postgresql_where=sa.text("state <> 'rejected'"), sqlite_where=sa.text("state <> 'rejected'"))

    op.drop_table('audit_witnesses')
