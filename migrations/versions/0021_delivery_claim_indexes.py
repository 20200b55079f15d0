"""webhook deliveries: the claim's two small indexes (pending by subscription and seq; leased)

A long queue made each round of the worker read every pending delivery once per candidate
(whether its subscription had one in flight): 1.5 s a round at 16,000 pending. These partial
indexes hold only the pending deliveries and the leased ones.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
LEASED = sa.text("leased_until IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["subscription_id", "seq"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_webhook_deliveries_leased",
        "webhook_deliveries",
        ["subscription_id", "leased_until"],
        postgresql_where=LEASED,
        sqlite_where=LEASED,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_leased", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_pending", table_name="webhook_deliveries")
