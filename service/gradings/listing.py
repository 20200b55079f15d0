"""A campaign's gradings as a list reads them: those the caller sees, narrowed by state, subtree,
领域 and whether their stage is overdue; sortable by organization and state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session, contains_eager

from service import calendar
from service.accounts.access import Principal
from service.campaigns.models import Campaign, CampaignPhase
from service.gradings.models import Approval, Grading
from service.organizations.models import Organization
from service.organizations.operations import in_subtree
from service.workflows.states import PHASE_OF_STATE

SORTS = {
    "organization_name": Organization.name,
    "organization_code": Organization.code,
    "state": Grading.state,
    "enrolled_at": Grading.enrolled_at,
}


def in_campaign(
    principal: Principal, campaign: Campaign, filters: Mapping[str, Any], within: str | None
) -> Any:
    query = (
        select(Grading)
        .join(Grading.organization)
        .options(contains_eager(Grading.organization))
        .where(Grading.campaign_id == campaign.id, principal.visible_filter(Organization.path))
    )
    if "state" in filters:
        query = query.where(Grading.state == filters["state"])
    query = in_subtree(query, within)
    if "domain" in filters:
        query = query.where(Organization.domain == filters["domain"])
    if "overdue" in filters:
        phase = case(PHASE_OF_STATE, value=Grading.state, else_=None)
        due = (
            select(CampaignPhase.due_on)
            .where(CampaignPhase.campaign_id == Grading.campaign_id, CampaignPhase.phase == phase)
            .scalar_subquery()
        )
        late = due < calendar.today()
        query = query.where(late if filters["overdue"] else or_(due.is_(None), ~late))
    return query


def chosen(
    principal: Principal,
    campaign: Campaign,
    body: Mapping[str, Any],
    within: str | None,
    decided_at: Iterable[int] | None,
) -> Any:
    """The gradings (with their organizations) a bulk transition names: in the campaign and the
    caller's subtrees, by id, subtree, state, founding date and the meeting that decided them
    (`decided_at`: the gradings of its results)."""
    query = (
        select(Grading, Organization)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Grading.campaign_id == campaign.id, principal.visible_filter(Organization.path))
        .order_by(Grading.id)
    )
    if "grading_ids" in body:
        query = query.where(Grading.id.in_(body["grading_ids"]))
    query = in_subtree(query, within)
    if "state" in body:
        query = query.where(Grading.state == body["state"])
    if "founded_since" in body:
        query = query.where(Organization.founded_on >= body["founded_since"])
    if decided_at is not None:
        query = query.where(Grading.id.in_(decided_at))
    return query


def pairs(session: Session, query: Any) -> list[tuple[Grading, Organization]]:
    """A `chosen` query's gradings with their organizations."""
    return [(grading, org) for grading, org in session.execute(query)]


def of_campaign(
    session: Session, principal: Principal, campaign: Campaign, within: str | None
) -> list[Grading]:
    """The campaign's gradings in the caller's subtrees (narrowed to `within`), in id order."""
    query = (
        select(Grading)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Grading.campaign_id == campaign.id, principal.visible_filter(Organization.path))
        .order_by(Grading.id)
    )
    return list(session.scalars(in_subtree(query, within)))


APPROVAL_SORTS = {"requested_at": Approval.requested_at, "state": Approval.state}


def approvals(principal: Principal, filters: Mapping[str, Any]) -> Any:
    """The approvals of gradings the caller sees, by state and grading."""
    query = (
        select(Approval)
        .join(Approval.grading)
        .join(Grading.organization)
        .options(contains_eager(Approval.grading).contains_eager(Grading.organization))
        .where(principal.visible_filter(Organization.path))
    )
    if "state" in filters:
        query = query.where(Approval.state == filters["state"])
    if "grading_id" in filters:
        query = query.where(Approval.grading_id == filters["grading_id"])
    return query
