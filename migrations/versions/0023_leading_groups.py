"""领导小组: a committee's leading group for a campaign, one row per version

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 06:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "leading_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("leader", sa.String(length=100), nullable=False),
        sa.Column("deputies", JSON, nullable=False),
        sa.Column("members", JSON, nullable=False),
        sa.Column("office", sa.String(length=300), nullable=True),
        sa.Column("formed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_leading_groups_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_leading_groups_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leading_groups")),
        sa.UniqueConstraint(
            "campaign_id",
            "organization_id",
            "version",
            name=op.f("uq_leading_groups_campaign_id_organization_id_version"),
        ),
    )
    with op.batch_alter_table("leading_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leading_groups_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_leading_groups_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("leading_groups")
