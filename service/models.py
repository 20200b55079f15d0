"""Every model, imported in one place so Alembic and the metadata see them all."""

from service.accounts.models import Account, ApiToken, RoleGrant
from service.audit.models import AuditEvent
from service.campaigns.models import (
    Campaign,
    CampaignAmendment,
    CampaignPhase,
    CampaignStandard,
    QuotaRule,
    RatingSource,
    VetoRule,
)
from service.db import Base
from service.gradings.models import Grading
from service.organizations.models import Domain, Organization, OrganizationMove
from service.standards.models import Adjustment, Indicator, Level, LevelScheme, Standard, SubItem

__all__ = [
    "Account",
    "Adjustment",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Campaign",
    "CampaignAmendment",
    "CampaignPhase",
    "CampaignStandard",
    "Domain",
    "Grading",
    "Indicator",
    "Level",
    "LevelScheme",
    "Organization",
    "OrganizationMove",
    "QuotaRule",
    "RatingSource",
    "RoleGrant",
    "Standard",
    "SubItem",
    "VetoRule",
]
