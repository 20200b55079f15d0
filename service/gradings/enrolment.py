"""Opening a campaign enrolls its organizations: one grading per active grassroots organization
in the committee's subtree, each in 调查摸底 and graded against its 领域's standard. It lives with
the gradings (a layer above the campaigns) because it creates them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.operations import record
from service.campaigns.models import Campaign
from service.campaigns.operations import missing_domains, snapshot
from service.campaigns.workflow import CAMPAIGN_WORKFLOW, CampaignContext
from service.context import Actor
from service.db import utcnow
from service.errors import CampaignNotOpen, MissingStandard
from service.gradings.models import Grading
from service.organizations.models import Organization, OrgStatus
from service.workflows.states import CampaignStatus, GradingState


def open_campaign(session: Session, actor: Actor, campaign: Campaign) -> list[Grading]:
    committee = session.get_one(Organization, campaign.organization_id)
    context = CampaignContext(session, missing_domains(session, campaign, committee))
    before = campaign.status
    CAMPAIGN_WORKFLOW.fire(campaign, "open", context)
    campaign.opened_at = utcnow()
    campaign.version += 1
    session.flush()
    record(
        session,
        actor,
        "campaign.open",
        "campaign",
        campaign.id,
        organization_id=campaign.organization_id,
        before={"status": before},
        after={"status": campaign.status, "config": snapshot(campaign)},
    )
    return enroll(session, actor, campaign)


def enroll(session: Session, actor: Actor, campaign: Campaign) -> list[Grading]:
    """One grading per active grassroots organization in scope that has none yet."""
    if campaign.status != CampaignStatus.OPEN:
        raise CampaignNotOpen(f"the campaign is {campaign.status}; only an open campaign enrolls")
    committee = session.get_one(Organization, campaign.organization_id)
    standard_by_domain = {s.domain: s.standard_id for s in campaign.standards}
    enrolled = select(Grading.organization_id).where(Grading.campaign_id == campaign.id)
    candidates = session.scalars(
        select(Organization)
        .where(
            Organization.path.startswith(committee.path, autoescape=True),
            Organization.graded(),
            Organization.id != committee.id,  # the committee running it is not graded by it
            Organization.status == OrgStatus.ACTIVE.value,
            Organization.id.not_in(enrolled),
        )
        .order_by(Organization.path)
    ).all()
    missing = sorted({o.domain or "" for o in candidates if o.domain not in standard_by_domain})
    if missing:
        raise MissingStandard(
            f"no standard for 领域 {', '.join(missing)}; amend cannot add standards, so open a new "
            f"campaign or enroll these organizations in one that covers them",
            domains=missing,
        )
    created = []
    for org in candidates:
        grading = Grading(
            campaign_id=campaign.id,
            organization_id=org.id,
            standard_id=standard_by_domain[org.domain or ""],
            state=GradingState.SURVEY,
        )
        session.add(grading)
        created.append(grading)
    session.flush()
    for grading in created:
        record(
            session,
            actor,
            "grading.enroll",
            "grading",
            grading.id,
            organization_id=grading.organization_id,
            after={
                "campaign_id": campaign.id,
                "organization_id": grading.organization_id,
                "standard_id": grading.standard_id,
                "state": grading.state,
            },
        )
    return created
