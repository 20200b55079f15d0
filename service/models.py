"""Every model, imported in one place so Alembic and the metadata see them all."""

from service.accounts.models import Account, ApiToken, RoleGrant
from service.audit.models import (
    AuditEvent,
    ChainHead,
    Checkpoint,
    LogCheckpoint,
    LogCosignature,
    LogLeaf,
    LogNode,
    LogTip,
    Witness,
)
from service.ballots.models import (
    BallotCategory,
    BallotCode,
    BallotSession,
    BallotSessionGrading,
    SealedBallot,
)
from service.campaigns.leading_groups import LeadingGroup
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
from service.decisions.models import DecisionMeeting, DecisionMeetingResult
from service.events.models import OutboxEvent, OutboxTip, WebhookDelivery, WebhookSubscription
from service.evidence.models import EvidenceFile
from service.gradings.models import Approval, Grading, RecordVersion
from service.idempotency.models import IdempotentResponse
from service.inspection.models import InspectionGroup
from service.organizations.models import Domain, Organization, OrganizationMove
from service.publicity.models import Complaint, RateLimitHit
from service.reporting.models import ReportSubmission
from service.spotchecks.models import AccountabilityRecord, SpotCheck, SpotCheckItem
from service.standards.models import Adjustment, Indicator, Level, LevelScheme, Standard, SubItem
from service.workdays.models import CalendarDay, CalendarYear

__all__ = [
    "Account",
    "AccountabilityRecord",
    "Adjustment",
    "ApiToken",
    "Approval",
    "AuditEvent",
    "BallotCategory",
    "BallotCode",
    "BallotSession",
    "BallotSessionGrading",
    "Base",
    "CalendarDay",
    "CalendarYear",
    "Campaign",
    "CampaignAmendment",
    "CampaignPhase",
    "CampaignStandard",
    "ChainHead",
    "Checkpoint",
    "Complaint",
    "DecisionMeeting",
    "DecisionMeetingResult",
    "Domain",
    "EvidenceFile",
    "Grading",
    "IdempotentResponse",
    "Indicator",
    "InspectionGroup",
    "LeadingGroup",
    "Level",
    "LevelScheme",
    "LogCheckpoint",
    "LogCosignature",
    "LogLeaf",
    "LogNode",
    "LogTip",
    "Organization",
    "OrganizationMove",
    "OutboxEvent",
    "OutboxTip",
    "QuotaRule",
    "RateLimitHit",
    "RatingSource",
    "RecordVersion",
    "ReportSubmission",
    "RoleGrant",
    "SealedBallot",
    "SpotCheck",
    "SpotCheckItem",
    "Standard",
    "SubItem",
    "VetoRule",
    "WebhookDelivery",
    "WebhookSubscription",
    "Witness",
]
