"""先进帮后进: propose, for every organization at the two lowest levels, an advanced (top level)
organization to pair with — same 协作区 first, then same 领域, then the nearest in the tree — each
advanced organization helping at most `limit`; every choice says why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.operations import jsonable
from service.campaigns.models import Campaign
from service.context import Actor
from service.errors import Conflict, ValidationFailed
from service.gradings import records
from service.gradings.models import Grading, RecordVersion
from service.organizations.models import Organization
from service.standards.models import LevelScheme
from service.workflows.states import GradingState


@dataclass(frozen=True)
class Unit:
    organization_id: int
    code: str
    name: str
    path: str
    domain: str | None
    area: str | None


@dataclass(frozen=True)
class Proposal:
    lagging: Unit
    partner: Unit | None
    why: str  # same_area / same_domain / nearest / none
    explanation: str


def _common_depth(a: str, b: str) -> int:
    left, right = a.strip("/").split("/"), b.strip("/").split("/")
    depth = 0
    for x, y in zip(left, right, strict=False):
        if x != y:
            break
        depth += 1
    return depth


def _rank(unit: Unit, candidate: Unit) -> tuple[int, int, str]:
    """Lower is better: the same 协作区, then the same 领域, then the deepest common ancestor."""
    if unit.area and candidate.area == unit.area:
        tier = 0
    elif unit.domain and candidate.domain == unit.domain:
        tier = 1
    else:
        tier = 2
    return (tier, -_common_depth(unit.path, candidate.path), candidate.code)


WHY = {
    0: ("same_area", "同一协作区（{area}）"),
    1: ("same_domain", "同一领域（{domain}），本协作区没有可结对的先进党组织"),
    2: ("nearest", "组织关系最近（同一上级党组织之下）"),
}


def propose(lagging: list[Unit], advanced: list[Unit], limit: int) -> list[Proposal]:
    """Lagging organizations in code order each take the best partner with room left; ties by
    the partner's code."""
    load = {a.organization_id: 0 for a in advanced}
    out = []
    for unit in sorted(lagging, key=lambda u: u.code):
        free = [a for a in advanced if load[a.organization_id] < limit]
        if not free:
            out.append(Proposal(unit, None, "none", "没有尚可结对的先进党组织"))
            continue
        best = min(free, key=lambda a: _rank(unit, a))
        load[best.organization_id] += 1
        why, text = WHY[_rank(unit, best)[0]]
        out.append(Proposal(unit, best, why, text.format(area=unit.area, domain=unit.domain)))
    return out


# --- in the database ------------------------------------------------------------------------

DEFAULT_LIMIT = 2
PAIRABLE_STATES = (GradingState.RATED, GradingState.RECTIFICATION)


def limit_of(campaign: Campaign) -> int:
    return int((campaign.decision_config or {}).get("pairing_limit") or DEFAULT_LIMIT)


def _unit(org: Organization) -> Unit:
    return Unit(org.id, org.code, org.name, org.path, org.domain, org.coordination_area)


def _levels(session: Session, campaign: Campaign) -> list[str]:
    scheme = session.get_one(LevelScheme, campaign.level_scheme_id)
    return [level.code for level in scheme.levels]


def candidates(
    session: Session, campaign: Campaign, root: Organization
) -> tuple[list[tuple[Grading, Organization]], list[Unit]]:
    """The gradings at the two lowest levels under `root` (rated or rectifying), and the
    organizations at the top level there (advanced)."""
    codes = _levels(session, campaign)
    rows = session.execute(
        select(Grading, Organization)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(
            Grading.campaign_id == campaign.id,
            Organization.path.startswith(root.path, autoescape=True),
            Grading.level.is_not(None),
        )
        .order_by(Organization.code)
    ).all()
    lagging = [(g, o) for g, o in rows if g.level in codes[-2:] and g.state in PAIRABLE_STATES]
    advanced = [_unit(o) for g, o in rows if g.level == codes[0]]
    return lagging, advanced


def proposal(session: Session, campaign: Campaign, root: Organization) -> list[dict[str, Any]]:
    return _proposed(*candidates(session, campaign, root), limit_of(campaign))


def _proposed(
    lagging: list[tuple[Grading, Organization]], advanced: list[Unit], limit: int
) -> list[dict[str, Any]]:
    by_org = {o.id: g for g, o in lagging}
    proposals = propose([_unit(o) for _, o in lagging], advanced, limit)
    return [
        {
            "grading_id": by_org[p.lagging.organization_id].id,
            "organization_id": p.lagging.organization_id,
            "organization_name": p.lagging.name,
            "partner": None
            if p.partner is None
            else {
                "organization_id": p.partner.organization_id,
                "code": p.partner.code,
                "name": p.partner.name,
            },
            "why": p.why,
            "explanation": p.explanation,
        }
        for p in proposals
    ]


def pair(
    session: Session,
    actor: Actor,
    grading: Grading,
    partner: Organization,
    reason: str | None,
) -> RecordVersion:
    """Pair a rectifying organization with an advanced one: as proposed, or — a change from
    the proposal — with a reason. An advanced organization helps at most the campaign's limit."""
    grading.require_stage(GradingState.RECTIFICATION, "pairing")
    campaign = session.get_one(Campaign, grading.campaign_id)
    committee = session.get_one(Organization, campaign.organization_id)
    org = session.get_one(Organization, grading.organization_id)
    lagging, advanced = candidates(session, campaign, committee)
    if partner.id not in {a.organization_id for a in advanced}:
        raise ValidationFailed(
            "the partner is an organization rated at the top level in this campaign",
            errors={"partner_organization_id": ["not an advanced organization here"]},
        )
    ids = sorted({grading.id, *(g.id for g, _ in lagging)})
    paired = records.currents(session, ids, "rectification_pairing")
    taken = [
        gid
        for gid, v in paired.items()
        if gid != grading.id and v.data["partner_organization_id"] == partner.id
    ]
    limit = limit_of(campaign)
    if len(taken) >= limit:
        raise Conflict(f"{partner.name} helps {len(taken)} organizations already, the most allowed")
    proposed = next(
        (p for p in _proposed(lagging, advanced, limit) if p["organization_id"] == org.id), None
    )
    as_proposed = bool(
        proposed and proposed["partner"] and proposed["partner"]["organization_id"] == partner.id
    )
    if not as_proposed and not (reason and reason.strip()):
        raise ValidationFailed(
            "a pairing other than the proposal says why",
            errors={"reason": ["required: the proposal named another partner"]},
        )
    current = paired.get(grading.id)
    written = records.write(
        session,
        actor,
        grading,
        "rectification_pairing",
        {
            "partner_organization_id": partner.id,
            "partner_name": partner.name,
            "as_proposed": as_proposed,
            "proposal": proposed,
        },
        reason=reason if (current is not None or not as_proposed) else None,
    )
    assert isinstance(written, RecordVersion)
    return written


def add_activity(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion:
    """A joint activity of the pair (座谈会, 经验交流会, 实地参观), with its date and notes."""
    grading.require_stage(GradingState.RECTIFICATION, "a pairing activity")
    if records.current(session, grading.id, "rectification_pairing", "main") is None:
        raise Conflict("the organization is not paired yet")
    held = len(records.latest_versions(session, grading.id, "pairing_activity"))
    written = records.write(
        session, actor, grading, "pairing_activity", jsonable(dict(body)), key=f"A{held + 1}"
    )
    assert isinstance(written, RecordVersion)
    return written
