"""webhooks: the claim's two small indexes; subscription and delivery statuses as lifecycles

A long queue made each round of the worker read every pending delivery once per candidate
(whether its subscription had one in flight): 1.5 s a round at 16,000 pending. These partial
indexes hold only the pending deliveries and the leased ones.

A subscription's and a delivery's status are lifecycles of the engine now
(service/events/workflow.py); their columns take only the states those declare.

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
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_webhook_subscriptions_status"), "status IN ('active', 'paused')"
        )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_webhook_deliveries_status"), "status IN ('pending', 'delivered', 'dead')"
        )
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
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_webhook_deliveries_status"), type_="check")
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_webhook_subscriptions_status"), type_="check")
