"""Organization tree: create, change, move (history kept), never delete."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.audit.operations import record
from service.context import Actor
from service.db import utcnow
from service.errors import (
    Duplicate,
    HasActiveChildren,
    NotFound,
    OrganizationInactive,
    TreeCycle,
    ValidationFailed,
)
from service.organizations.models import (
    Domain,
    Organization,
    OrganizationMove,
    OrgKind,
    OrgStatus,
)
from service.organizations.workflow import ORGANIZATION_WORKFLOW, TO_STATUS

EDITABLE_FIELDS = (
    "name",
    "kind",
    "grassroots",
    "domain",
    "coordination_area",
    "secretary",
    "contact_email",
    "notice_contact",
    "member_count",
    "full_members",
    "probationary_members",
    "committee_members",
    "elected_on",
    "founded_on",
)
ROLL_FIELDS = ("full_members", "probationary_members", "member_count")


def _roll(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The roll after `changes`: 正式 + 预备 党员, and member_count as their sum once both are
    known (a member_count that says otherwise is refused, naming both)."""
    merged = {f: changes.get(f, current.get(f)) for f in ROLL_FIELDS}
    full, probationary = merged["full_members"], merged["probationary_members"]
    if full is None or probationary is None:
        return {f: merged[f] for f in ROLL_FIELDS if f in changes}
    total = full + probationary
    if "member_count" in changes and changes["member_count"] != total:
        raise ValidationFailed(
            f"member_count {changes['member_count']} is not full_members + probationary_members "
            f"({full} + {probationary} = {total})",
            errors={"member_count": [f"the roll says {total} (正式 {full} + 预备 {probationary})"]},
        )
    return {**{f: merged[f] for f in ROLL_FIELDS if f in changes}, "member_count": total}


def get_organization(session: Session, org_id: int) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"organization {org_id} was not found")
    return org


def get_by_code(session: Session, code: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.code == code))


def domain_codes(session: Session) -> dict[str, str]:
    """code -> label of every 领域."""
    return dict(session.execute(select(Domain.code, Domain.label).order_by(Domain.position)).all())


def _check_domain(
    session: Session, kind: str, domain: str | None, field: str = "domain", grassroots: bool = False
) -> None:
    if domain is not None and domain not in domain_codes(session):
        raise ValidationFailed(
            f"unknown 领域 {domain!r}", errors={field: [f"unknown 领域 {domain!r}"]}
        )
    if grassroots and kind != OrgKind.COMMITTEE:
        raise ValidationFailed(
            "only a committee is marked grassroots (基层党委): branches are graded anyway",
            errors={"grassroots": ["only for a committee"]},
        )
    if domain is None and (kind != OrgKind.COMMITTEE or grassroots):
        raise ValidationFailed(
            "a branch, general branch or grassroots committee needs a 领域 (its standard's)",
            errors={field: ["required for this kind"]},
        )


def _check_parent(parent: Organization | None, kind: str) -> None:
    if parent is None:
        return
    if parent.kind == OrgKind.BRANCH:
        raise ValidationFailed(
            f"{parent.name} is a branch and cannot have sub-organizations",
            errors={"parent_id": ["a branch cannot be a parent"]},
        )
    if parent.status != OrgStatus.ACTIVE:
        raise ValidationFailed(
            f"{parent.name} is {parent.status}", errors={"parent_id": ["the parent is not active"]}
        )
    if kind == OrgKind.COMMITTEE and parent.kind == OrgKind.GENERAL_BRANCH:
        raise ValidationFailed(
            "a committee cannot sit under a general branch",
            errors={"kind": ["a committee cannot sit under a general branch"]},
        )


def create_organization(
    session: Session, actor: Actor, parent: Organization | None, data: Mapping[str, Any]
) -> Organization:
    code = data["code"]
    if get_by_code(session, code) is not None:
        raise Duplicate(
            f"an organization with code {code!r} exists already",
            errors={"code": ["is taken"]},
        )
    kind = data["kind"]
    _check_domain(session, kind, data.get("domain"), grassroots=bool(data.get("grassroots")))
    _check_parent(parent, kind)
    roll = _roll({}, {f: data[f] for f in ROLL_FIELDS if data.get(f) is not None})
    org = Organization(
        code=code,
        name=data["name"],
        kind=kind,
        domain=data.get("domain"),
        coordination_area=data.get("coordination_area"),
        secretary=data.get("secretary"),
        contact_email=data.get("contact_email"),
        notice_contact=data.get("notice_contact"),
        member_count=roll.get("member_count") or 0,
        full_members=roll.get("full_members"),
        probationary_members=roll.get("probationary_members"),
        committee_members=data.get("committee_members"),
        elected_on=data.get("elected_on"),
        founded_on=data.get("founded_on"),
        grassroots=bool(data.get("grassroots")),
        parent_id=parent.id if parent else None,
        path="/",
        depth=(parent.depth + 1) if parent else 0,
    )
    session.add(org)
    session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    session.flush()
    record(
        session,
        actor,
        "organization.create",
        "organization",
        org.id,
        organization_id=org.id,
        after=org.snapshot(),
    )
    return org


def update_organization(
    session: Session,
    actor: Actor,
    org: Organization,
    changes: Mapping[str, Any],
    *,
    new_parent: Organization | None = None,
    reason: str | None = None,
) -> Organization:
    """Apply field changes, a move (when `new_parent` is given) and/or a status change."""
    before = org.snapshot()
    kind = changes.get("kind", org.kind)
    domain = changes.get("domain", org.domain)
    grassroots = changes.get("grassroots", org.grassroots)
    if "kind" in changes or "domain" in changes or "grassroots" in changes:
        _check_domain(session, kind, domain, grassroots=grassroots)
    if kind != org.kind and kind == OrgKind.BRANCH and _has_children(session, org):
        raise ValidationFailed(
            "an organization with sub-organizations cannot become a branch",
            errors={"kind": ["has sub-organizations"]},
        )
    changes = {**changes, **_roll(org.snapshot(), changes)}
    for field in EDITABLE_FIELDS:
        if field in changes:
            setattr(org, field, changes[field])

    if new_parent is not None and new_parent.id != org.parent_id:
        _move(session, actor, org, new_parent, reason)

    if "status" in changes and changes["status"] != org.status:
        _change_status(session, org, changes["status"], changes.get("merged_into_id"))

    after = org.snapshot()
    if after == before:
        return org  # nothing changed: no new version, no audit event
    org.version += 1
    org.updated_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "organization.update",
        "organization",
        org.id,
        organization_id=org.id,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
        reason=reason,
    )
    return org


def _has_children(session: Session, org: Organization, only_active: bool = False) -> bool:
    query = select(Organization.id).where(Organization.parent_id == org.id)
    if only_active:
        query = query.where(Organization.status == OrgStatus.ACTIVE.value)
    return session.scalar(query.limit(1)) is not None


def _move(
    session: Session, actor: Actor, org: Organization, new_parent: Organization, reason: str | None
) -> None:
    if new_parent.path.startswith(org.path):
        raise TreeCycle(
            f"moving {org.name} under {new_parent.name} would make a cycle in the tree",
            errors={"parent_id": ["is the organization itself or one of its descendants"]},
        )
    if org.parent_id is None:
        raise ValidationFailed(
            "a root organization cannot be moved", errors={"parent_id": ["this is a root"]}
        )
    _check_parent(new_parent, org.kind)
    old_path = org.path
    new_path = f"{new_parent.path}{org.id}/"
    depth_delta = new_parent.depth + 1 - org.depth
    session.flush()
    session.execute(
        update(Organization)
        .where(Organization.path.startswith(old_path, autoescape=True))
        .values(
            path=new_path + func.substr(Organization.path, len(old_path) + 1),
            depth=Organization.depth + depth_delta,
        )
        .execution_options(synchronize_session=False)
    )
    session.add(
        OrganizationMove(
            organization_id=org.id,
            from_parent_id=org.parent_id,
            to_parent_id=new_parent.id,
            moved_by=actor.username,
            reason=reason,
        )
    )
    org.parent_id = new_parent.id
    # The bulk UPDATE bypassed the identity map: reload what it touched.
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Organization) and obj.path.startswith(old_path):
            session.refresh(obj, ["path", "depth"])


def _change_status(
    session: Session, org: Organization, status: str, merged_into_id: int | None
) -> None:
    if org.status != OrgStatus.ACTIVE:
        raise OrganizationInactive(f"{org.name} is {org.status}; it cannot change status again")
    if _has_children(session, org, only_active=True):
        raise HasActiveChildren(
            f"{org.name} still has active sub-organizations; move or close them first"
        )
    if status == OrgStatus.MERGED:
        if merged_into_id is None:
            raise ValidationFailed(
                "a merge names the organization merged into",
                errors={"merged_into_id": ["required when status is merged"]},
            )
        target = session.get(Organization, merged_into_id)
        if target is None or target.id == org.id or target.status != OrgStatus.ACTIVE:
            raise ValidationFailed(
                "the organization merged into must be another active organization",
                errors={"merged_into_id": ["not an active organization"]},
            )
        org.merged_into_id = target.id
    ORGANIZATION_WORKFLOW.apply(org, TO_STATUS[OrgStatus(status)])


def in_subtree(query: Any, path: str | None) -> Any:
    """A query joined to Organization narrowed to the subtree at `path` (unchanged for None)."""
    if path is None:
        return query
    return query.where(Organization.path.startswith(path, autoescape=True))


def subtree_query(root: Organization) -> Any:
    return select(Organization).where(Organization.path.startswith(root.path, autoescape=True))


def founded_after(org: Organization, cutoff: date | None) -> bool:
    return cutoff is not None and org.founded_on is not None and org.founded_on >= cutoff


SORTS = {"name": Organization.name, "code": Organization.code}


def listed(visible: Any, filters: Mapping[str, Any], within: str | None) -> Any:
    """The organizations `visible` admits (the caller's subtrees), narrowed to the subtree at
    `within`, by parent, kind, 领域, status and a part of the name."""
    query = in_subtree(select(Organization).where(visible), within)
    if "parent_id" in filters:
        query = query.where(Organization.parent_id == filters["parent_id"])
    for name in ("kind", "domain", "status"):
        if name in filters:
            query = query.where(getattr(Organization, name) == filters[name])
    if "q" in filters:
        query = query.where(Organization.name.contains(filters["q"], autoescape=True))
    return query


def moves_of(session: Session, org: Organization) -> list[OrganizationMove]:
    return list(
        session.scalars(
            select(OrganizationMove)
            .where(OrganizationMove.organization_id == org.id)
            .order_by(OrganizationMove.id)
        )
    )
