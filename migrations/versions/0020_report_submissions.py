"""reporting upward (上报): submissions kept as they were sent, append-only

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 00:14:47
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "report_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("signed_off_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("snapshot", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_report_submissions_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_submissions_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_submissions")),
        sa.UniqueConstraint(
            "campaign_id",
            "organization_id",
            "kind",
            "version",
            name=op.f("uq_report_submissions_campaign_id_organization_id_kind_version"),
        ),
    )
    op.create_index(
        op.f("ix_report_submissions_campaign_id"), "report_submissions", ["campaign_id"]
    )
    op.create_index(
        op.f("ix_report_submissions_organization_id"), "report_submissions", ["organization_id"]
    )
    # what a township sent is kept as it was: append-only, as the audit trail
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER report_submissions_append_only BEFORE UPDATE OR DELETE ON "
            "report_submissions FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
        )
        op.execute(
            "CREATE TRIGGER report_submissions_no_truncate BEFORE TRUNCATE ON report_submissions "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER report_submissions_no_{verb.lower()} BEFORE {verb} ON "
                "report_submissions BEGIN SELECT RAISE(ABORT, "
                f"'report_submissions is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_report_submissions_organization_id"), table_name="report_submissions")
    op.drop_index(op.f("ix_report_submissions_campaign_id"), table_name="report_submissions")
    op.drop_table("report_submissions")
