"""audit chain, approvals, idempotency, versioned records; append-only triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:39:23.676038
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('audit_chain_heads',
    sa.Column('chain_key', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain_key', name=op.f('pk_audit_chain_heads'))
    )
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('signature', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints'))
    )
    op.create_table('idempotent_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=60), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_responses')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotent_responses_scope_key'))
    )
    op.create_table('approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grading_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('requested_by_account_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_account_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('transition', 'correction')", name=op.f('ck_approvals_kind')),
    sa.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name=op.f('ck_approvals_state')),
    sa.ForeignKeyConstraint(['grading_id'], ['gradings.id'], name=op.f('fk_approvals_grading_id_gradings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals'))
    )
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approvals_grading_id'), ['grading_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approvals_state'), ['state'], unique=False)

    op.create_table('record_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grading_id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('record_key', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['approval_id'], ['approvals.id'], name=op.f('fk_record_versions_approval_id_approvals')),
    sa.ForeignKeyConstraint(['grading_id'], ['gradings.id'], name=op.f('fk_record_versions_grading_id_gradings')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['record_versions.id'], name=op.f('fk_record_versions_supersedes_id_record_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_versions')),
    sa.UniqueConstraint('grading_id', 'record_type', 'record_key', 'version', name=op.f('uq_record_versions_grading_id_record_type_record_key_version'))
    )
    with op.batch_alter_table('record_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_versions_grading_id'), ['grading_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        for name, type_ in (('chain_key', sa.String(length=40)), ('chain_seq', sa.BigInteger()),
                            ('prev_hash', sa.String(length=64)), ('hash', sa.String(length=64))):
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.create_index('ix_audit_events_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_chain_key_chain_seq'), ['chain_key', 'chain_seq'])

    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state_entered_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE gradings SET state_entered_at = enrolled_at")
    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.alter_column('state_entered_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index(batch_op.f('ix_gradings_state'), ['state'], unique=False)

    _create_append_only_triggers()


APPEND_ONLY_TABLES = ("audit_events", "audit_checkpoints", "record_versions")


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$""")
        for table in APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()")
    else:
        for table in APPEND_ONLY_TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END")


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS refuse_append_only_change()")
    else:
        for table in APPEND_ONLY_TABLES:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _chain_existing_events() -> None:
    """Events written before the chain existed are chained in id order, as if just written."""
    from datetime import UTC
    from types import SimpleNamespace

    from service.audit.canonical import GENESIS, HASHED_FIELDS, event_hash

    bind = op.get_bind()
    events = sa.table(
        "audit_events", sa.column("id"), sa.column("occurred_at", sa.DateTime(timezone=True)),
        *[sa.column(n, sa.JSON()) if n in ("before", "after") else sa.column(n)
          for n in HASHED_FIELDS
          if n not in ("chain_key", "chain_seq", "prev_hash", "occurred_at", "via")],  # via: 0012
        sa.column("chain_key"), sa.column("chain_seq"), sa.column("prev_hash"), sa.column("hash"),
    )
    heads: dict[str, tuple[int, str]] = {}
    for row in bind.execute(sa.select(events).order_by(events.c.id)).mappings().all():
        key = f"org:{row['organization_id']}" if row["organization_id"] is not None else "global"
        seq, prev = heads.get(key, (0, GENESIS))
        occurred = row["occurred_at"]
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=UTC)
        values = {**dict(row), "chain_key": key, "chain_seq": seq + 1, "prev_hash": prev,
                  "occurred_at": occurred, "via": None}
        digest = event_hash(SimpleNamespace(**values))
        bind.execute(events.update().where(events.c.id == row["id"]).values(
            chain_key=key, chain_seq=seq + 1, prev_hash=prev, hash=digest))
        heads[key] = (seq + 1, digest)
    chain_heads = sa.table("audit_chain_heads", sa.column("chain_key"), sa.column("seq"),
                           sa.column("hash"))
    if heads:
        op.bulk_insert(chain_heads, [{"chain_key": k, "seq": s, "hash": h}
                                     for k, (s, h) in heads.items()])

    


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gradings_state'))
        batch_op.drop_column('state_entered_at')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_chain_key_chain_seq'), type_='unique')
        batch_op.drop_index('ix_audit_events_occurred_at')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('chain_seq')
        batch_op.drop_column('chain_key')

    with op.batch_alter_table('record_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_versions_grading_id'))

    op.drop_table('record_versions')
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approvals_state'))
        batch_op.drop_index(batch_op.f('ix_approvals_grading_id'))

    op.drop_table('approvals')
    op.drop_table('idempotent_responses')
    op.drop_table('audit_checkpoints')
    op.drop_table('audit_chain_heads')
    
