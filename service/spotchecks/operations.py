"""Spot checks: plan a population, draw its sample from a seed nobody controls alone, record a
finding per sampled grading (a falsification asks to reopen it and may name who answers for
it), conclude, report. The caller has checked who may (service.api.routes.spotchecks)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.audit.models import LogCheckpoint, LogLeaf
from service.audit.operations import record
from service.campaigns.models import Campaign
from service.context import Actor
from service.db import utcnow
from service.errors import (
    Conflict,
    NotFound,
    SeedNotReady,
    SpotCheckWrongState,
)
from service.gradings.models import Approval, Grading
from service.organizations.models import Organization
from service.spotchecks import accountability, beacons
from service.spotchecks import draw as drawing
from service.spotchecks.models import AccountabilityRecord, SpotCheck, SpotCheckItem
from service.spotchecks.workflow import SPOT_CHECK_WORKFLOW
from service.workflows.states import (
    LEVEL_STANDS,
    REOPENED_AFTER_SPOT_CHECK,
    UNDER_PUBLICITY,
    SpotCheckState,
)

# Every grading whose level the campaign decided, wherever it is now — rated, rectifying, in
# 回头看, rising, closed (under publicity it is still answered by complaints).
DECIDED = tuple(s for s in LEVEL_STANDS if s not in UNDER_PUBLICITY)
# A falsification found reopens the level from where the grading is (a supervisor approves).
REOPEN = {str(state): name for name, state in REOPENED_AFTER_SPOT_CHECK.items()}


def plan(
    session: Session, actor: Actor, campaign: Campaign, org: Organization, body: Mapping[str, Any]
) -> SpotCheck:
    """The population (the campaign's decided gradings under `org`, of `levels`), the sample's
    size (`share` or `size`), its strata, and the public randomness it will take: a beacon whose
    value nobody knows yet (service.spotchecks.beacons)."""
    beacon = beacons.fixed_in_advance(body["beacon"]) if body.get("beacon") else None
    check = SpotCheck(
        campaign_id=campaign.id,
        organization_id=org.id,
        title=body["title"],
        levels=sorted(body["levels"]) if body.get("levels") else None,
        share=body.get("share"),
        size=body.get("size"),
        stratify=list(body.get("stratify") or []),
        public_source=body.get("public_source") or beacons.describe(beacon or {}),
        beacon=beacon,
        planned_by=actor.username,
    )
    session.add(check)
    session.flush()
    check.plan_event_id = record(
        session,
        actor,
        "spot_check.plan",
        "spot_check",
        check.id,
        organization_id=org.id,
        after={
            "campaign_id": campaign.id,
            "organization_id": org.id,
            "levels": check.levels,
            "share": check.share,
            "size": check.size,
            "stratify": check.stratify,
            "public_source": check.public_source,
            "beacon": beacon,
        },
    )
    session.flush()
    return check


def population(session: Session, check: SpotCheck) -> list[tuple[Grading, Organization]]:
    root = session.get_one(Organization, check.organization_id)
    query = (
        select(Grading, Organization)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(
            Grading.campaign_id == check.campaign_id,
            Grading.state.in_(DECIDED),
            Organization.path.startswith(root.path, autoescape=True),
        )
    )
    if check.levels:
        query = query.where(Grading.level.in_(check.levels))
    return [(g, o) for g, o in session.execute(query)]


def stratum_of(check: SpotCheck, grading: Grading, org: Organization) -> str:
    values = {"level": grading.level or "", "domain": org.domain or ""}
    return "|".join(values[name] for name in check.stratify)


def seed_checkpoint(session: Session, check: SpotCheck) -> LogCheckpoint | None:
    """The first signed tree head whose tree holds the plan's audit event."""
    leaf = session.scalar(select(LogLeaf.leaf_index).where(LogLeaf.event_id == check.plan_event_id))
    if leaf is None:
        return None
    return session.scalars(
        select(LogCheckpoint).where(LogCheckpoint.tree_size > leaf).order_by(LogCheckpoint.id)
    ).first()


def draw(session: Session, actor: Actor, check: SpotCheck, public_value: str) -> SpotCheck:
    """Draw the sample, once: the seed from the first tree head signed after the plan and the
    public value now entered; the population as it stands."""
    session.refresh(check, with_for_update=True)
    SPOT_CHECK_WORKFLOW.require_source(check, "draw")
    if check.beacon is not None:
        public_value = beacons.read(check.beacon, public_value)
    checkpoint = seed_checkpoint(session, check)
    if checkpoint is None:
        raise SeedNotReady(
            "no tree head has been signed since the plan was recorded: sign a checkpoint "
            "(POST /api/v1/audit/checkpoints), then draw"
        )
    note_sha256 = hashlib.sha256(checkpoint.note.encode()).hexdigest()
    seed = drawing.seed_of(note_sha256, public_value)
    members = population(session, check)
    by_code = {org.code: grading for grading, org in members}
    sample = drawing.draw(
        seed,
        [drawing.Member(org.code, stratum_of(check, g, org)) for g, org in members],
        check.share / 100 if check.share is not None else None,
        check.size,
    )
    for drawn in sample:
        session.add(
            SpotCheckItem(
                spot_check_id=check.id,
                grading_id=by_code[drawn.code].id,
                stratum=drawn.stratum,
                rank=drawn.rank,
            )
        )
    SPOT_CHECK_WORKFLOW.apply(check, "draw")
    check.checkpoint_tree_size = checkpoint.tree_size
    check.checkpoint_note_sha256 = note_sha256
    check.public_value = public_value
    check.seed = seed
    check.population_size = len(members)
    check.drawn_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "spot_check.draw",
        "spot_check",
        check.id,
        organization_id=check.organization_id,
        before={"state": SpotCheckState.PLANNED},
        after={
            "state": check.state,
            "checkpoint_tree_size": checkpoint.tree_size,
            "checkpoint_note_sha256": note_sha256,
            "public_value": public_value,
            "seed": seed,
            "population": sorted(by_code),
            "sample": [d.code for d in sample],
        },
    )
    return check


def items(session: Session, check: SpotCheck) -> list[SpotCheckItem]:
    return list(
        session.scalars(
            select(SpotCheckItem)
            .where(SpotCheckItem.spot_check_id == check.id)
            .order_by(SpotCheckItem.stratum, SpotCheckItem.rank)
        )
    )


def item_of(session: Session, check: SpotCheck, grading_id: int) -> SpotCheckItem:
    found = session.scalars(
        select(SpotCheckItem).where(
            SpotCheckItem.spot_check_id == check.id, SpotCheckItem.grading_id == grading_id
        )
    ).first()
    if found is None:
        raise NotFound(f"grading {grading_id} is not in the sample of spot check {check.id}")
    return found


def write_finding(
    session: Session,
    actor: Actor,
    check: SpotCheck,
    item: SpotCheckItem,
    body: Mapping[str, Any],
) -> Grading:
    """The finding on one sampled grading, written once, on the item and in the trail; the
    grading. What a falsification does to the grading is the lifecycle's step
    (service.lifecycle.spot_checks.record_finding), which calls this."""
    session.refresh(check, with_for_update=True)
    if check.state == SpotCheckState.DRAWN:
        SPOT_CHECK_WORKFLOW.apply(check, "start_checking")
    if check.state != SpotCheckState.CHECKING:
        raise SpotCheckWrongState(
            f"findings are recorded between the draw and the conclusion; it is {check.state}",
            state=check.state,
        )
    if item.outcome is not None:
        raise Conflict(f"the finding on grading {item.grading_id} is recorded already")
    item.outcome = body["outcome"]
    item.evidence = body.get("evidence")
    item.description = body.get("description")
    item.found_by = actor.username
    item.found_at = utcnow()
    session.flush()
    grading = session.get_one(Grading, item.grading_id)
    record(
        session,
        actor,
        "spot_check.finding",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        after={
            "spot_check_id": check.id,
            "outcome": item.outcome,
            "evidence": item.evidence,
            "description": item.description,
        },
    )
    return grading


def record_accountability(
    session: Session,
    actor: Actor,
    check: SpotCheck,
    item: SpotCheckItem,
    committee: Organization,
    body: Mapping[str, Any],
) -> AccountabilityRecord:
    """Who answers for a falsification found (the committee and persons) and the measure."""
    if item.outcome != "falsified":
        raise Conflict(f"spot check {check.id} found no falsification in grading {item.grading_id}")
    grading = session.get_one(Grading, item.grading_id)
    return accountability.write(session, actor, grading, committee, "spot_check", check.id, body)


def conclude(session: Session, actor: Actor, check: SpotCheck) -> SpotCheck:
    session.refresh(check, with_for_update=True)
    SPOT_CHECK_WORKFLOW.require_source(check, "conclude")
    open_items = [i.grading_id for i in items(session, check) if i.outcome is None]
    if open_items:
        raise Conflict(
            f"{len(open_items)} sampled gradings have no finding yet: "
            + ", ".join(map(str, open_items))
        )
    SPOT_CHECK_WORKFLOW.apply(check, "conclude")
    check.concluded_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "spot_check.conclude",
        "spot_check",
        check.id,
        organization_id=check.organization_id,
        before={"state": SpotCheckState.CHECKING},
        after={"state": check.state},
    )
    return check


def report(session: Session, check: SpotCheck) -> dict[str, Any]:
    """The spot check as a record: plan, seed, sample with findings and what followed."""
    sampled = session.execute(
        select(SpotCheckItem, Grading, Organization)
        .join(Grading, Grading.id == SpotCheckItem.grading_id)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(SpotCheckItem.spot_check_id == check.id)
        .order_by(SpotCheckItem.stratum, SpotCheckItem.rank)
    ).all()
    reopening: dict[int, Approval] = {}
    for approval in session.scalars(
        select(Approval)
        .where(
            Approval.grading_id.in_([g.id for _, g, _ in sampled]),
            Approval.subject.in_(REOPEN.values()),
        )
        .order_by(Approval.id)
    ):
        reopening[approval.grading_id] = approval  # the newest
    rows = []
    for item, grading, org in sampled:
        pending = reopening.get(grading.id)
        rows.append(
            {
                "grading_id": grading.id,
                "organization_code": org.code,
                "organization_name": org.name,
                "level": grading.level,
                "stratum": item.stratum,
                "rank": item.rank,
                "outcome": item.outcome,
                "evidence": item.evidence,
                "description": item.description,
                "found_by": item.found_by,
                "found_at": item.found_at,
                "grading_state": grading.state,
                "reopen_approval": (
                    {"id": pending.id, "state": pending.state} if pending is not None else None
                ),
            }
        )
    ledger = session.scalars(
        select(AccountabilityRecord)
        .where(
            AccountabilityRecord.source == "spot_check",
            AccountabilityRecord.source_id == check.id,
        )
        .order_by(AccountabilityRecord.id)
    ).all()
    return {
        "spot_check": check,
        "sample": rows,
        "accountability": list(ledger),
        "falsified": sum(1 for r in rows if r["outcome"] == "falsified"),
        "confirmed": sum(1 for r in rows if r["outcome"] == "confirmed"),
    }


def listed(principal: Principal, filters: Mapping[str, Any]) -> Any:
    """The spot checks of committees the caller sees, by campaign."""
    query = (
        select(SpotCheck)
        .join(Organization, Organization.id == SpotCheck.organization_id)
        .where(principal.visible_filter(Organization.path))
    )
    if "campaign_id" in filters:
        query = query.where(SpotCheck.campaign_id == filters["campaign_id"])
    return query


def committee_names(session: Session, report: Mapping[str, Any]) -> dict[int, str]:
    """The names of the committees a report's accountability records name."""
    ids = {a.committee_id for a in report["accountability"]}
    found = session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    return {org_id: name for org_id, name in found}
