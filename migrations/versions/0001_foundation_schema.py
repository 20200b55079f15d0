"""foundation schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 09:12:53.868530
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_account_id', sa.Integer(), nullable=True),
    sa.Column('actor_username', sa.String(length=100), nullable=False),
    sa.Column('actor_role', sa.String(length=40), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('entity_type', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=60), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_entity', ['entity_type', 'entity_id'], unique=False)
        batch_op.create_index('ix_audit_events_organization_id', ['organization_id'], unique=False)

    op.create_table('domains',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('label', sa.String(length=30), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_domains')),
    sa.UniqueConstraint('label', name=op.f('uq_domains_label'))
    )
    op.create_table('level_schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_level_schemes')),
    sa.UniqueConstraint('code', name=op.f('uq_level_schemes_code'))
    )
    op.create_table('levels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('lower_bound', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['scheme_id'], ['level_schemes.id'], name=op.f('fk_levels_scheme_id_level_schemes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_levels')),
    sa.UniqueConstraint('scheme_id', 'code', name=op.f('uq_levels_scheme_id_code')),
    sa.UniqueConstraint('scheme_id', 'position', name=op.f('uq_levels_scheme_id_position'))
    )
    with op.batch_alter_table('levels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_levels_scheme_id'), ['scheme_id'], unique=False)

    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('domain', sa.String(length=30), nullable=True),
    sa.Column('coordination_area', sa.String(length=100), nullable=True),
    sa.Column('secretary', sa.String(length=100), nullable=True),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('founded_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('committee', 'general_branch', 'branch')", name=op.f('ck_organizations_kind')),
    sa.CheckConstraint("status IN ('active', 'merged', 'dissolved')", name=op.f('ck_organizations_status')),
    sa.CheckConstraint('member_count >= 0', name=op.f('ck_organizations_member_count_non_negative')),
    sa.ForeignKeyConstraint(['domain'], ['domains.code'], name=op.f('fk_organizations_domain_domains')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['organizations.id'], name=op.f('fk_organizations_merged_into_id_organizations')),
    sa.ForeignKeyConstraint(['parent_id'], ['organizations.id'], name=op.f('fk_organizations_parent_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('code', name=op.f('uq_organizations_code'))
    )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organizations_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organizations_path'), ['path'], unique=False)

    op.create_table('standards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('total_points', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('bonus_cap', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('deduction_cap', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint('total_points > 0', name=op.f('ck_standards_total_positive')),
    sa.ForeignKeyConstraint(['domain'], ['domains.code'], name=op.f('fk_standards_domain_domains')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['standards.id'], name=op.f('fk_standards_supersedes_id_standards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standards')),
    sa.UniqueConstraint('domain', 'version', name=op.f('uq_standards_domain_version'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_accounts_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_accounts_username'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_organization_id'), ['organization_id'], unique=False)

    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level_scheme_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('publicity_working_days', sa.Integer(), nullable=False),
    sa.Column('new_org_cutoff', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f('ck_campaigns_status')),
    sa.CheckConstraint('publicity_working_days BETWEEN 1 AND 60', name=op.f('ck_campaigns_publicity_days')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_campaigns_year_range')),
    sa.ForeignKeyConstraint(['level_scheme_id'], ['level_schemes.id'], name=op.f('fk_campaigns_level_scheme_id_level_schemes')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_campaigns_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_organization_id'), ['organization_id'], unique=False)

    op.create_table('indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('max_points', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('guidance', sa.Text(), nullable=True),
    sa.CheckConstraint('max_points > 0', name=op.f('ck_indicators_max_positive')),
    sa.ForeignKeyConstraint(['standard_id'], ['standards.id'], name=op.f('fk_indicators_standard_id_standards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicators')),
    sa.UniqueConstraint('standard_id', 'code', name=op.f('uq_indicators_standard_id_code'))
    )
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicators_standard_id'), ['standard_id'], unique=False)

    op.create_table('organization_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('from_parent_id', sa.Integer(), nullable=True),
    sa.Column('to_parent_id', sa.Integer(), nullable=True),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('moved_by', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['from_parent_id'], ['organizations.id'], name=op.f('fk_organization_moves_from_parent_id_organizations')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_organization_moves_organization_id_organizations')),
    sa.ForeignKeyConstraint(['to_parent_id'], ['organizations.id'], name=op.f('fk_organization_moves_to_parent_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization_moves'))
    )
    with op.batch_alter_table('organization_moves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_moves_organization_id'), ['organization_id'], unique=False)

    op.create_table('standard_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('max_points', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('bonus', 'deduction')", name=op.f('ck_standard_adjustments_kind')),
    sa.CheckConstraint('max_points > 0', name=op.f('ck_standard_adjustments_max_positive')),
    sa.ForeignKeyConstraint(['standard_id'], ['standards.id'], name=op.f('fk_standard_adjustments_standard_id_standards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_adjustments')),
    sa.UniqueConstraint('standard_id', 'code', name=op.f('uq_standard_adjustments_standard_id_code'))
    )
    with op.batch_alter_table('standard_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standard_adjustments_standard_id'), ['standard_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_api_tokens_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_account_id'), ['account_id'], unique=False)

    op.create_table('campaign_amendments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('amended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amended_by', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_amendments_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_amendments'))
    )
    with op.batch_alter_table('campaign_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_amendments_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_phases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=30), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_phases_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_phases')),
    sa.UniqueConstraint('campaign_id', 'phase', name=op.f('uq_campaign_phases_campaign_id_phase'))
    )
    with op.batch_alter_table('campaign_phases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_phases_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_quota_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('level_code', sa.String(length=40), nullable=False),
    sa.Column('max_share', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('min_share', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_quota_rules_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_quota_rules')),
    sa.UniqueConstraint('campaign_id', 'level_code', name=op.f('uq_campaign_quota_rules_campaign_id_level_code'))
    )
    with op.batch_alter_table('campaign_quota_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_quota_rules_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_rating_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('weight', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_rating_sources_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_rating_sources')),
    sa.UniqueConstraint('campaign_id', 'source', name=op.f('uq_campaign_rating_sources_campaign_id_source'))
    )
    with op.batch_alter_table('campaign_rating_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_rating_sources_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_standards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=30), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_standards_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['domain'], ['domains.code'], name=op.f('fk_campaign_standards_domain_domains')),
    sa.ForeignKeyConstraint(['standard_id'], ['standards.id'], name=op.f('fk_campaign_standards_standard_id_standards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_standards')),
    sa.UniqueConstraint('campaign_id', 'domain', name=op.f('uq_campaign_standards_campaign_id_domain'))
    )
    with op.batch_alter_table('campaign_standards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_standards_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_standards_standard_id'), ['standard_id'], unique=False)

    op.create_table('campaign_veto_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('forced_level_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_veto_rules_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_veto_rules')),
    sa.UniqueConstraint('campaign_id', 'code', name=op.f('uq_campaign_veto_rules_campaign_id_code'))
    )
    with op.batch_alter_table('campaign_veto_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_veto_rules_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('gradings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_gradings_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_gradings_organization_id_organizations')),
    sa.ForeignKeyConstraint(['standard_id'], ['standards.id'], name=op.f('fk_gradings_standard_id_standards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gradings')),
    sa.UniqueConstraint('campaign_id', 'organization_id', name=op.f('uq_gradings_campaign_id_organization_id'))
    )
    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gradings_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gradings_organization_id'), ['organization_id'], unique=False)

    op.create_table('indicator_sub_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('max_points', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.CheckConstraint('max_points > 0', name=op.f('ck_indicator_sub_items_max_positive')),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_indicator_sub_items_indicator_id_indicators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_sub_items')),
    sa.UniqueConstraint('indicator_id', 'code', name=op.f('uq_indicator_sub_items_indicator_id_code'))
    )
    with op.batch_alter_table('indicator_sub_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_sub_items_indicator_id'), ['indicator_id'], unique=False)

    op.create_table('role_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by', sa.String(length=100), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.CheckConstraint("role IN ('secretary', 'reviewer', 'teller', 'supervisor', 'inspector', 'admin')", name=op.f('ck_role_grants_role')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_role_grants_account_id_accounts')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_role_grants_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grants'))
    )
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grants_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_grants_organization_id'), ['organization_id'], unique=False)

    _seed_reference_data()


DOMAINS = [
    ("village", "农村"),
    ("community", "社区"),
    ("organ", "机关"),
    ("institution", "事业单位"),
    ("school", "学校"),
    ("state_enterprise", "国有企业"),
    ("private_enterprise", "非公企业"),
    ("social_organization", "社会组织"),
]

# Built-in level schemes: (code, name, [(level code, label, lower bound), ...]), best first.
LEVEL_SCHEMES = [
    (
        "four_levels",
        "四个等级(好/较好/一般/较差)",
        [("good", "好", "90"), ("fairly_good", "较好", "80"), ("average", "一般", "60"),
         ("poor", "较差", "0")],
    ),
    (
        "five_levels",
        "五个等级(很好/好/较好/一般/差)",
        [("very_good", "很好", "95"), ("good", "好", "90"), ("fairly_good", "较好", "80"),
         ("average", "一般", "60"), ("poor", "差", "0")],
    ),
    (
        "five_stars",
        "五星级(五星/四星/三星/二星/一星)",
        [("star5", "五星", "95"), ("star4", "四星", "85"), ("star3", "三星", "75"),
         ("star2", "二星", "65"), ("star1", "一星", "60")],
    ),
]


def _seed_reference_data() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    domains = sa.table("domains", sa.column("code"), sa.column("label"), sa.column("position"))
    op.bulk_insert(
        domains,
        [{"code": c, "label": label, "position": i} for i, (c, label) in enumerate(DOMAINS)],
    )
    schemes = sa.table(
        "level_schemes", sa.column("id"), sa.column("code"), sa.column("name"),
        sa.column("builtin"), sa.column("created_at", sa.DateTime(timezone=True)),
    )
    levels = sa.table(
        "levels", sa.column("scheme_id"), sa.column("position"), sa.column("code"),
        sa.column("label"), sa.column("lower_bound", sa.Numeric(7, 2)),
    )
    now = datetime.now(UTC)
    for scheme_id, (code, name, rows) in enumerate(LEVEL_SCHEMES, start=1):
        op.bulk_insert(
            schemes,
            [{"id": scheme_id, "code": code, "name": name, "builtin": True, "created_at": now}],
        )
        op.bulk_insert(
            levels,
            [
                {"scheme_id": scheme_id, "position": pos, "code": lc, "label": label,
                 "lower_bound": Decimal(bound)}
                for pos, (lc, label, bound) in enumerate(rows)
            ],
        )
    if op.get_bind().dialect.name == "postgresql":
        # The explicit ids above do not advance the sequence.
        op.execute("SELECT setval('level_schemes_id_seq', (SELECT max(id) FROM level_schemes))")


def downgrade() -> None:
    
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grants_organization_id'))
        batch_op.drop_index(batch_op.f('ix_role_grants_account_id'))

    op.drop_table('role_grants')
    with op.batch_alter_table('indicator_sub_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_sub_items_indicator_id'))

    op.drop_table('indicator_sub_items')
    with op.batch_alter_table('gradings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gradings_organization_id'))
        batch_op.drop_index(batch_op.f('ix_gradings_campaign_id'))

    op.drop_table('gradings')
    with op.batch_alter_table('campaign_veto_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_veto_rules_campaign_id'))

    op.drop_table('campaign_veto_rules')
    with op.batch_alter_table('campaign_standards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_standards_standard_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_standards_campaign_id'))

    op.drop_table('campaign_standards')
    with op.batch_alter_table('campaign_rating_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_rating_sources_campaign_id'))

    op.drop_table('campaign_rating_sources')
    with op.batch_alter_table('campaign_quota_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_quota_rules_campaign_id'))

    op.drop_table('campaign_quota_rules')
    with op.batch_alter_table('campaign_phases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_phases_campaign_id'))

    op.drop_table('campaign_phases')
    with op.batch_alter_table('campaign_amendments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_amendments_campaign_id'))

    op.drop_table('campaign_amendments')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_account_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('standard_adjustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_standard_adjustments_standard_id'))

    op.drop_table('standard_adjustments')
    with op.batch_alter_table('organization_moves', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_moves_organization_id'))

    op.drop_table('organization_moves')
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicators_standard_id'))

    op.drop_table('indicators')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_organization_id'))

    op.drop_table('campaigns')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_organization_id'))

    op.drop_table('accounts')
    op.drop_table('standards')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_path'))
        batch_op.drop_index(batch_op.f('ix_organizations_parent_id'))

    op.drop_table('organizations')
    with op.batch_alter_table('levels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_levels_scheme_id'))

    op.drop_table('levels')
    op.drop_table('level_schemes')
    op.drop_table('domains')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_organization_id')
        batch_op.drop_index('ix_audit_events_entity')

    op.drop_table('audit_events')
    
