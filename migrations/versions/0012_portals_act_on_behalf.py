"""portals act on behalf: audit_events.via, the portal role

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 17:53:07.281704
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ROLES = ("secretary", "reviewer", "teller", "supervisor", "inspector", "admin")


def _roles(table: str, roles: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_{table}_role"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f(f"ck_{table}_role"), "role IN ({})".format(", ".join(f"'{r}'" for r in roles))
        )


def upgrade() -> None:
    # the portal that acted for the actor (hashed when set: docs/audit-trail.md)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sa.String(length=100), nullable=True))
    for table in ("role_grants", "grant_requests"):
        _roles(table, (*ROLES, "portal"))


def downgrade() -> None:
    for table in ("role_grants", "grant_requests"):
        _roles(table, ROLES)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('via')

    # ### end Alembic commands ###
