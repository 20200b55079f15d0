"""edges: an OIDC sign-in bound to its identity; a webhook subscription's circuit breaker

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 22:22:48.125012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oidc_issuer', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('oidc_subject', sa.String(length=300), nullable=True))
        batch_op.create_index('uq_accounts_oidc_identity', ['oidc_issuer', 'oidc_subject'], unique=True, postgresql_where=sa.text('oidc_issuer IS NOT NULL'), sqlite_where=sa.text('oidc_issuer IS NOT NULL'))

    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('open_until', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    # plain DROP COLUMN: accounts are referenced and must not be copied (SQLite ≥ 3.35)
    op.execute("ALTER TABLE webhook_subscriptions DROP COLUMN open_until")
    op.execute("ALTER TABLE webhook_subscriptions DROP COLUMN failures")
    op.drop_index('uq_accounts_oidc_identity', table_name='accounts')
    op.execute("ALTER TABLE accounts DROP COLUMN oidc_subject")
    op.execute("ALTER TABLE accounts DROP COLUMN oidc_issuer")

