"""a committee's 公示 contact (电话、地址、信箱), printed on its notice

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("notice_contact", sa.String(length=300)))


def downgrade() -> None:
    # organizations is referenced by most tables: a plain DROP COLUMN, no batch copy on SQLite
    op.execute("ALTER TABLE organizations DROP COLUMN notice_contact")
