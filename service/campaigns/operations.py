"""Campaigns: configuration while draft, opening (which enrolls gradings), amendments after."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, literal, or_, select
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.audit.operations import jsonable, record
from service.campaigns.models import (
    Campaign,
    CampaignAmendment,
    CampaignPhase,
    CampaignStandard,
    QuotaRule,
    QuotaScope,
    RatingSource,
    VetoRule,
)
from service.campaigns.workflow import CAMPAIGN_WORKFLOW, CampaignContext
from service.context import Actor
from service.db import utcnow
from service.errors import (
    CampaignFrozen,
    CampaignNotOpen,
    NotFound,
    ValidationFailed,
)
from service.organizations.models import Organization, OrgKind, OrgStatus
from service.standards.models import LevelScheme, Standard
from service.workflows.states import PHASE_LABELS, CampaignStatus, Phase

CONFIG_FIELDS = (
    "name",
    "year",
    "level_scheme_id",
    "standards",
    "phases",
    "publicity_working_days",
    "sources",
    "quota_rules",
    "veto_rules",
    "new_org_cutoff",
    "ballot_config",
    "decision_config",
)
# What an amendment may change once the campaign is open. The standards, the level scheme
# and the weights are not among them: changing those would change results already computed.
AMENDABLE_FIELDS = (
    "name",
    "phases",
    "publicity_working_days",
    "quota_rules",
    "veto_rules",
    "new_org_cutoff",
)
PHASE_ORDER = list(Phase)


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} was not found")
    return campaign


def snapshot(campaign: Campaign) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "year": campaign.year,
        "level_scheme_id": campaign.level_scheme_id,
        "publicity_working_days": campaign.publicity_working_days,
        "new_org_cutoff": campaign.new_org_cutoff,
        "standards": [
            {"domain": s.domain, "standard_id": s.standard_id} for s in campaign.standards
        ],
        "phases": [
            {"phase": p.phase, "starts_on": p.starts_on, "due_on": p.due_on}
            for p in campaign.phases
        ],
        "sources": [{"source": s.source, "weight": s.weight} for s in campaign.sources],
        "quota_rules": [
            {
                "level_code": q.level_code,
                "scope": q.scope,
                "max_share": q.max_share,
                "min_share": q.min_share,
            }
            for q in campaign.quota_rules
        ],
        "ballot_config": campaign.ballot_config,
        "decision_config": campaign.decision_config,
        "veto_rules": [
            {"code": v.code, "description": v.description, "forced_level_code": v.forced_level_code}
            for v in campaign.veto_rules
        ],
    }


def _validate(session: Session, campaign: Campaign, data: Mapping[str, Any]) -> None:
    """Check configuration fields before anything is set; every problem, by field."""
    errors: dict[str, list[str]] = {}
    scheme_id = data.get("level_scheme_id", campaign.level_scheme_id)
    scheme = session.get(LevelScheme, scheme_id) if scheme_id is not None else None
    if scheme is None:
        errors["level_scheme_id"] = [f"no level scheme has id {scheme_id}"]
    level_codes = {lv.code for lv in scheme.levels} if scheme else set()

    if "standards" in data:
        seen: set[str] = set()
        for n, item in enumerate(data["standards"]):
            standard = session.get(Standard, item["standard_id"])
            if standard is None:
                errors[f"standards.{n}.standard_id"] = [f"no standard has id {item['standard_id']}"]
            elif standard.domain != item["domain"]:
                errors[f"standards.{n}.standard_id"] = [
                    f"standard {standard.id} is for 领域 {standard.domain}, not {item['domain']}"
                ]
            if item["domain"] in seen:
                errors[f"standards.{n}.domain"] = ["one standard per 领域"]
            seen.add(item["domain"])
    if "phases" in data:
        phases = data["phases"]
        names = [p["phase"] for p in phases]
        if len(set(names)) != len(names):
            errors["phases"] = ["each phase appears once"]
        ordered = sorted(phases, key=lambda p: PHASE_ORDER.index(Phase(p["phase"])))
        for n, p in enumerate(ordered):
            if p.get("starts_on") and p["starts_on"] > p["due_on"]:
                errors[f"phases.{n}.starts_on"] = ["is after the due date"]
            if n and p["due_on"] < ordered[n - 1]["due_on"]:
                errors[f"phases.{n}.due_on"] = [
                    f"{PHASE_LABELS[Phase(p['phase'])]} is due before the phase that precedes it"
                ]
    if "sources" in data:
        names = [s["source"] for s in data["sources"]]
        if len(set(names)) != len(names):
            errors["sources"] = ["each rating source appears once"]
        total = sum((Decimal(s["weight"]) for s in data["sources"]), Decimal(0))
        if data["sources"] and total != 100:
            errors["sources"] = [f"the weights sum to {total}, not to 100"]
    scoped = [(r["level_code"], r.get("scope", "campaign")) for r in data.get("quota_rules") or []]
    if len(set(scoped)) != len(scoped):
        errors["quota_rules"] = ["each level once per scope"]
    for n, rule in enumerate(data.get("quota_rules") or []):
        if rule["level_code"] not in level_codes:
            errors[f"quota_rules.{n}.level_code"] = ["not a level of the campaign's scheme"]
        lo, hi = rule.get("min_share"), rule.get("max_share")
        if lo is None and hi is None:
            errors[f"quota_rules.{n}"] = ["give max_share, min_share or both"]
        if lo is not None and hi is not None and Decimal(lo) > Decimal(hi):
            errors[f"quota_rules.{n}.min_share"] = ["is above max_share"]
    for n, rule in enumerate((data.get("decision_config") or {}).get("thresholds") or []):
        if rule["max_level"] not in level_codes:
            errors[f"decision_config.thresholds.{n}.max_level"] = ["not a level of the scheme"]
    for code in (data.get("ballot_config") or {}).get("choice_points") or {}:
        if code not in level_codes:
            errors["ballot_config.choice_points"] = [f"{code!r} is not a level of the scheme"]
    for n, rule in enumerate(data.get("veto_rules") or []):
        if rule["forced_level_code"] not in level_codes:
            errors[f"veto_rules.{n}.forced_level_code"] = ["not a level of the campaign's scheme"]
    if errors:
        raise ValidationFailed("the campaign's configuration is not consistent", errors=errors)


def _set(campaign: Campaign, data: Mapping[str, Any]) -> None:
    for simple in ("name", "year", "level_scheme_id", "publicity_working_days", "new_org_cutoff"):
        if simple in data:
            setattr(campaign, simple, data[simple])
    for config in ("ballot_config", "decision_config"):
        if config in data:
            setattr(campaign, config, jsonable(data[config]))
    if "standards" in data:
        campaign.standards = [
            CampaignStandard(domain=s["domain"], standard_id=s["standard_id"])
            for s in data["standards"]
        ]
    if "phases" in data:
        campaign.phases = [
            CampaignPhase(
                position=PHASE_ORDER.index(Phase(p["phase"])),
                phase=p["phase"],
                starts_on=p.get("starts_on"),
                due_on=p["due_on"],
            )
            for p in data["phases"]
        ]
    if "sources" in data:
        campaign.sources = [
            RatingSource(position=n, source=s["source"], weight=Decimal(s["weight"]))
            for n, s in enumerate(data["sources"])
        ]
    if "quota_rules" in data:
        campaign.quota_rules = [
            QuotaRule(
                level_code=q["level_code"],
                scope=q.get("scope", QuotaScope.CAMPAIGN),
                max_share=q.get("max_share"),
                min_share=q.get("min_share"),
            )
            for q in data["quota_rules"]
        ]
    if "veto_rules" in data:
        campaign.veto_rules = [
            VetoRule(
                code=v["code"],
                description=v["description"],
                forced_level_code=v["forced_level_code"],
            )
            for v in data["veto_rules"]
        ]


def _replace_children(session: Session, campaign: Campaign, data: Mapping[str, Any]) -> None:
    # Unique (campaign_id, x) constraints: delete the old rows before inserting new ones.
    for attr in ("standards", "phases", "sources", "quota_rules", "veto_rules"):
        if attr in data:
            setattr(campaign, attr, [])
    session.flush()


def create_campaign(
    session: Session, actor: Actor, committee: Organization, data: Mapping[str, Any]
) -> Campaign:
    if committee.kind != OrgKind.COMMITTEE or committee.status != OrgStatus.ACTIVE:
        raise ValidationFailed(
            "a campaign is run by an active committee",
            errors={"organization_id": ["not an active committee"]},
        )
    campaign = Campaign(
        organization_id=committee.id,
        created_by=actor.username,
        level_scheme_id=data["level_scheme_id"],
    )
    _validate(session, campaign, data)
    _set(campaign, data)
    session.add(campaign)
    session.flush()
    record(
        session,
        actor,
        "campaign.create",
        "campaign",
        campaign.id,
        organization_id=committee.id,
        after=snapshot(campaign),
    )
    return campaign


def update_campaign(
    session: Session, actor: Actor, campaign: Campaign, changes: Mapping[str, Any]
) -> Campaign:
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignFrozen(
            f"the campaign is {campaign.status}; its configuration is frozen. Changes are made by "
            f"an amendment with a reason (POST /api/v1/campaigns/{campaign.id}/amendments)"
        )
    before = snapshot(campaign)
    _validate(session, campaign, changes)
    _replace_children(session, campaign, changes)
    _set(campaign, changes)
    campaign.version += 1
    session.flush()
    record(
        session,
        actor,
        "campaign.update",
        "campaign",
        campaign.id,
        organization_id=campaign.organization_id,
        before=before,
        after=snapshot(campaign),
    )
    return campaign


def missing_domains(session: Session, campaign: Campaign, committee: Organization) -> list[str]:
    present = set(
        session.scalars(
            select(Organization.domain)
            .where(
                Organization.path.startswith(committee.path, autoescape=True),
                Organization.graded(),
                Organization.id != committee.id,
                Organization.status == OrgStatus.ACTIVE.value,
                Organization.domain.is_not(None),
            )
            .distinct()
        )
    )
    covered = {s.domain for s in campaign.standards}
    return sorted(d for d in present - covered if d is not None)


def close_campaign(session: Session, actor: Actor, campaign: Campaign, reason: str | None) -> None:
    before = campaign.status
    CAMPAIGN_WORKFLOW.fire(campaign, "close", CampaignContext(session, []), reason)
    campaign.closed_at = utcnow()
    campaign.version += 1
    session.flush()
    record(
        session,
        actor,
        "campaign.close",
        "campaign",
        campaign.id,
        organization_id=campaign.organization_id,
        before={"status": before},
        after={"status": campaign.status},
        reason=reason,
    )


def amend_campaign(
    session: Session, actor: Actor, campaign: Campaign, changes: Mapping[str, Any], reason: str
) -> CampaignAmendment:
    if campaign.status != CampaignStatus.OPEN:
        raise CampaignNotOpen(
            f"the campaign is {campaign.status}; a draft is edited directly and a closed campaign "
            f"is not changed"
        )
    not_amendable = sorted(set(changes) - set(AMENDABLE_FIELDS))
    if not_amendable:
        raise ValidationFailed(
            "these fields cannot be amended once the campaign is open",
            errors={f: ["cannot be amended (results depend on it)"] for f in not_amendable},
        )
    before = snapshot(campaign)
    _validate(session, campaign, changes)
    _replace_children(session, campaign, changes)
    _set(campaign, changes)
    campaign.version += 1
    session.flush()
    after = snapshot(campaign)
    amendment = CampaignAmendment(
        campaign_id=campaign.id,
        amended_by=actor.username,
        reason=reason,
        before={k: v for k, v in jsonable(before).items() if k in changes},
        after={k: v for k, v in jsonable(after).items() if k in changes},
    )
    session.add(amendment)
    session.flush()
    record(
        session,
        actor,
        "campaign.amend",
        "campaign",
        campaign.id,
        organization_id=campaign.organization_id,
        before=amendment.before,
        after=amendment.after,
        reason=reason,
    )
    return amendment


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """A campaign (joined to its committee) is visible inside the committee's subtree and to
    whoever it covers."""
    covered = [literal(g.path).startswith(Organization.path) for g in principal.grants]
    return or_(principal.visible_filter(Organization.path), *covered)


def listed(principal: Principal, filters: Mapping[str, Any]) -> Any:
    """The campaigns the caller sees, by committee, year and status."""
    query = (
        select(Campaign)
        .join(Organization, Organization.id == Campaign.organization_id)
        .where(visible_to(principal))
    )
    for name in ("organization_id", "year", "status"):
        if name in filters:
            query = query.where(getattr(Campaign, name) == filters[name])
    return query


SORTS = {"name": Campaign.name, "year": Campaign.year}


def amendments_of(campaign: Campaign) -> Any:
    return select(CampaignAmendment).where(CampaignAmendment.campaign_id == campaign.id)
