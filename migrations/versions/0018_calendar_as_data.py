"""calendar entered as data; a 公示 end counted on weekends alone

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 22:44:45.071334
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=True),
    sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_calendar_days_kind')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_index(op.f('ix_calendar_days_year'), 'calendar_days', ['year'], unique=False)
    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('notice', sa.Text(), nullable=False),
    sa.Column('entered_by', sa.String(length=100), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years'))
    )
    # a plain ADD COLUMN: gradings are referenced and must not be copied on SQLite
    op.add_column('gradings', sa.Column('publicity_ends_estimated', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.execute("ALTER TABLE gradings DROP COLUMN publicity_ends_estimated")
    op.drop_table('calendar_years')
    op.drop_index(op.f('ix_calendar_days_year'), table_name='calendar_days')
    op.drop_table('calendar_days')
