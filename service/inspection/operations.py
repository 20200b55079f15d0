"""指导检查组: a campaign's inspection groups check the 回头看, rectification and promotion of the
organizations they are responsible for; their acceptance (检查验收) — a conclusion, findings, a
date, signed by the leader — is required before 回头看 starts and before a promotion where the
campaign's decision_config.inspection_acceptance says so, and their visits are recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.models import Account, Role, RoleGrant
from service.audit.operations import jsonable, record
from service.campaigns.models import Campaign
from service.context import Actor
from service.db import utcnow
from service.errors import Conflict, Forbidden, NotFound, StageNotOpen, ValidationFailed
from service.gradings import records
from service.gradings.models import Grading, RecordVersion
from service.inspection.models import InspectionGroup
from service.organizations.models import Organization
from service.workflows.states import GradingState

# what a group accepts -> (the grading state it is given in, the record it is)
STAGES: dict[str, tuple[GradingState, str]] = {
    "rectification": (GradingState.RECTIFICATION, "rectification_acceptance"),
    "promotion": (GradingState.PROMOTION, "promotion_acceptance"),
}
# The seeds' 指导组 guides each branch during grading too (每个支部安排了指导组进行指导，就
# 调查摸底、分类定级作了全面的安排部署), and checks rectification, 回头看 and promotion after.
GRADING_VISIT_STATES = (
    GradingState.SURVEY,
    GradingState.SELF_RATING,
    GradingState.EVALUATION,
    GradingState.SUPERIOR_REVIEW,
)
VISIT_STATES = (
    *GRADING_VISIT_STATES,
    GradingState.RECTIFICATION,
    GradingState.RE_REVIEW,
    GradingState.PROMOTION,
)
ACCEPTED = "accepted"


def required(decision_config: Mapping[str, Any] | None) -> frozenset[str]:
    """The stages whose acceptance by the inspection group a campaign's decision_config
    requires."""
    return frozenset((decision_config or {}).get("inspection_acceptance") or ())


def view(group: InspectionGroup) -> dict[str, Any]:
    return {
        "id": group.id,
        "campaign_id": group.campaign_id,
        "name": group.name,
        "leader": group.leader,
        "members": list(group.members),
        "covers": list(group.covers),
        "version": group.version,
        "created_by": group.created_by,
        "created_at": group.created_at,
        "updated_at": group.updated_at,
    }


def _inspectors(session: Session, usernames: list[str], orgs: list[Organization]) -> None:
    """Leader and members are active accounts holding the inspector role over every covered
    organization: otherwise they could not act for the group there. 422 naming who is not."""
    rows = session.execute(
        select(Account.username, Account.is_active, Organization.path)
        .outerjoin(
            RoleGrant,
            (RoleGrant.account_id == Account.id)
            & (RoleGrant.role == Role.INSPECTOR.value)
            & RoleGrant.revoked_at.is_(None),
        )
        .outerjoin(Organization, Organization.id == RoleGrant.organization_id)
        .where(Account.username.in_(usernames))
    ).all()
    paths: dict[str, list[str]] = {}
    for username, active, path in rows:
        if active:
            paths.setdefault(username, [])
            if path is not None:
                paths[username].append(path)
    errors = {}
    for username in usernames:
        if username not in paths:
            errors[username] = ["no active account of that name"]
        elif not all(any(o.path.startswith(p) for p in paths[username]) for o in orgs):
            errors[username] = ["not an inspector over every organization of the group"]
    if errors:
        raise ValidationFailed(
            f"the group's people must be inspectors there: {', '.join(sorted(errors))}",
            errors=errors,
        )


def _covered(
    session: Session, campaign: Campaign, ids: list[int], group_id: int | None
) -> list[Organization]:
    """The organizations a group takes on: in the campaign's subtree, none under another group
    of the campaign (409 naming it)."""
    committee = session.get_one(Organization, campaign.organization_id)
    orgs = list(session.scalars(select(Organization).where(Organization.id.in_(ids))))
    outside = sorted(set(ids) - {o.id for o in orgs if o.path.startswith(committee.path)})
    if outside:
        raise ValidationFailed(
            "a group is responsible for organizations of the campaign",
            errors={"covers": [f"not in the campaign's subtree: {outside}"]},
        )
    others = {g.id: g for g in groups_of(session, campaign) if g.id != group_id}
    owner = {i: g for g in others.values() for i in g.covers}
    for theirs in session.scalars(select(Organization).where(Organization.id.in_(list(owner)))):
        for mine in orgs:
            if mine.path.startswith(theirs.path) or theirs.path.startswith(mine.path):
                group = owner[theirs.id]
                raise Conflict(f"{mine.name} is already under {group.name} ({theirs.name})")
    return orgs


def groups_of(session: Session, campaign: Campaign) -> list[InspectionGroup]:
    return list(
        session.scalars(
            select(InspectionGroup)
            .where(InspectionGroup.campaign_id == campaign.id)
            .order_by(InspectionGroup.id)
        )
    )


def _people(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    leader = body["leader"]
    members = list(dict.fromkeys(m for m in body.get("members") or [] if m != leader))
    return leader, members


def create_group(
    session: Session, actor: Actor, campaign: Campaign, body: Mapping[str, Any]
) -> InspectionGroup:
    leader, members = _people(body)
    orgs = _covered(session, campaign, list(dict.fromkeys(body["covers"])), None)
    _inspectors(session, [leader, *members], orgs)
    group = InspectionGroup(
        campaign_id=campaign.id,
        organization_id=campaign.organization_id,
        name=body["name"],
        leader=leader,
        members=members,
        covers=[o.id for o in sorted(orgs, key=lambda o: o.path)],
        created_by=actor.username,
    )
    session.add(group)
    session.flush()
    record(
        session,
        actor,
        "inspection_group.create",
        "inspection_group",
        group.id,
        organization_id=campaign.organization_id,
        after=jsonable(view(group)),
    )
    return group


def change_group(
    session: Session, actor: Actor, group: InspectionGroup, body: Mapping[str, Any]
) -> InspectionGroup:
    """Change the name, the people or the organizations; the change says why."""
    reason = (body.get("reason") or "").strip()
    if not reason:
        raise ValidationFailed("a change of the group says why", errors={"reason": ["required"]})
    campaign = session.get_one(Campaign, group.campaign_id)
    before = jsonable(view(group))
    merged = {
        "leader": group.leader,
        "members": group.members,
        "covers": group.covers,
        **{k: v for k, v in body.items() if k in ("leader", "members", "covers")},
    }
    leader, members = _people(merged)
    orgs = _covered(session, campaign, list(dict.fromkeys(merged["covers"])), group.id)
    _inspectors(session, [leader, *members], orgs)
    group.name = body.get("name", group.name)
    group.leader, group.members = leader, members
    group.covers = [o.id for o in sorted(orgs, key=lambda o: o.path)]
    group.version += 1
    group.updated_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "inspection_group.change",
        "inspection_group",
        group.id,
        organization_id=group.organization_id,
        before=before,
        after=jsonable(view(group)),
        reason=reason,
    )
    return group


def group_of(session: Session, grading: Grading) -> InspectionGroup | None:
    """The group responsible for the grading's organization, if any."""
    groups = list(
        session.scalars(
            select(InspectionGroup).where(InspectionGroup.campaign_id == grading.campaign_id)
        )
    )
    if not groups:
        return None
    ids = [grading.organization_id, *(i for g in groups for i in g.covers)]
    paths = {
        org_id: path
        for org_id, path in session.execute(
            select(Organization.id, Organization.path).where(Organization.id.in_(ids))
        )
    }
    mine = paths[grading.organization_id]
    return next(
        (g for g in groups if any(mine.startswith(paths[i]) for i in g.covers if i in paths)),
        None,
    )


def _require_people(
    group: InspectionGroup | None, actor: Actor, leader_only: bool
) -> InspectionGroup:
    if group is None:
        raise Conflict("no inspection group of the campaign is responsible for this organization")
    allowed = [group.leader] if leader_only else [group.leader, *group.members]
    if actor.username not in allowed:
        who = "its leader" if leader_only else "its leader or a member"
        raise Forbidden(f"only {who} acts for {group.name} ({group.leader})")
    return group


def accept(
    session: Session, actor: Actor, grading: Grading, stage: str, body: Mapping[str, Any]
) -> RecordVersion:
    """The group's 检查验收 of the rectification or the promotion, signed by its leader: accepted
    or not, with findings and a date. A correction says why (a versioned record)."""
    if stage not in STAGES:
        raise NotFound(f"a group accepts the rectification or the promotion, not {stage!r}")
    state, record_type = STAGES[stage]
    grading.require_stage(state, "the inspection group's acceptance")
    group = _require_people(group_of(session, grading), actor, leader_only=True)
    data = {
        "group_id": group.id,
        "group_name": group.name,
        "signed_by": actor.username,
        **jsonable({k: v for k, v in body.items() if k != "reason"}),
    }
    written = records.write(session, actor, grading, record_type, data, reason=body.get("reason"))
    assert isinstance(written, RecordVersion)
    return written


def add_visit(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion:
    """A visit of the group (检查督导): its date, what it looked at, who went, what it found."""
    if grading.state not in VISIT_STATES:
        raise StageNotOpen(
            f"the grading is in {grading.state}; the group visits while the organization is "
            "graded (survey to the superior's review), during rectification, 回头看 and "
            "promotion",
            state=grading.state,
        )
    group = _require_people(group_of(session, grading), actor, leader_only=False)
    went = list(dict.fromkeys(body.get("present") or [actor.username]))
    strangers = [p for p in went if p not in (group.leader, *group.members)]
    if strangers:
        raise ValidationFailed(
            "who went are people of the group",
            errors={"present": [f"not in {group.name}: {', '.join(strangers)}"]},
        )
    held = len(records.latest_versions(session, grading.id, "inspection_visit"))
    data = {
        "group_id": group.id,
        "group_name": group.name,
        **jsonable(dict(body)),
        "present": went,
    }
    written = records.write(session, actor, grading, "inspection_visit", data, key=f"V{held + 1}")
    assert isinstance(written, RecordVersion)
    return written


def acceptance_reasons(session: Session, grading: Grading, campaign: Campaign) -> dict[str, str]:
    """Why a promotion lacks the group's acceptance the campaign requires, with the group's
    name: acceptance_missing or acceptance_refused; empty when nothing is missing."""
    if "promotion" not in required(campaign.decision_config):
        return {}
    found = records.current(session, grading.id, "promotion_acceptance", "main")
    if found is None:
        group = group_of(session, grading)
        return {"acceptance_missing": group.name if group else "没有负责的指导检查组"}
    if found.data["conclusion"] != ACCEPTED:
        return {"acceptance_refused": found.data["group_name"]}
    return {}


def rectification_accepted(session: Session, grading: Grading) -> bool:
    """The guard of 回头看: accepted by the group where the campaign requires it."""
    config = session.scalar(
        select(Campaign.decision_config).where(Campaign.id == grading.campaign_id)
    )
    if "rectification" not in required(config):
        return True
    found = records.current(session, grading.id, "rectification_acceptance", "main")
    return found is not None and found.data["conclusion"] == ACCEPTED


def inspection(session: Session, grading: Grading) -> dict[str, Any]:
    """What the grading's organization has of its inspection group: the group, its acceptances
    and visits, and which acceptances the campaign requires."""
    campaign = session.get_one(Campaign, grading.campaign_id)
    group = group_of(session, grading)
    acceptances = {}
    for stage, (_, record_type) in STAGES.items():
        found = records.current(session, grading.id, record_type, "main")
        acceptances[stage] = found.data if found else None
    return {
        "grading_id": grading.id,
        "group": None if group is None else view(group),
        "required": sorted(required(campaign.decision_config)),
        "acceptances": acceptances,
        "visits": [
            v.data for v in records.latest_versions(session, grading.id, "inspection_visit")
        ],
    }


def groups_query(campaign: Campaign) -> Any:
    """The campaign's inspection groups, as a list pages them."""
    return select(InspectionGroup).where(InspectionGroup.campaign_id == campaign.id)
