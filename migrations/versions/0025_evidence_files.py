"""Evidence files (佐证材料): one row per file attached to a grading's record, its bytes kept
outside the database under their SHA-256

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grading_id", sa.Integer(), nullable=False),
        sa.Column("attached_to", sa.String(length=60), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_evidence_files_size_positive")),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_evidence_files_sha256_hex")),
        sa.ForeignKeyConstraint(
            ["grading_id"], ["gradings.id"], name=op.f("fk_evidence_files_grading_id_gradings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_files")),
    )
    with op.batch_alter_table("evidence_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_files_grading_id"), ["grading_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("evidence_files")
