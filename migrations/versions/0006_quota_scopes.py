"""quota scopes: a quota is counted over the whole campaign or over each deciding committee

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_quota_rules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=20), nullable=False, server_default="campaign")
        )
        batch_op.drop_constraint(
            batch_op.f("uq_campaign_quota_rules_campaign_id_level_code"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_campaign_quota_rules_campaign_id_level_code_scope"),
            ["campaign_id", "level_code", "scope"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_campaign_quota_rules_scope"), "scope IN ('campaign', 'committee')"
        )
    with op.batch_alter_table("campaign_quota_rules", schema=None) as batch_op:
        batch_op.alter_column("scope", server_default=None)


def downgrade() -> None:
    op.execute("DELETE FROM campaign_quota_rules WHERE scope <> 'campaign'")
    with op.batch_alter_table("campaign_quota_rules", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_campaign_quota_rules_scope"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("uq_campaign_quota_rules_campaign_id_level_code_scope"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_campaign_quota_rules_campaign_id_level_code"),
            ["campaign_id", "level_code"],
        )
        batch_op.drop_column("scope")
