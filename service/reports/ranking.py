"""协作区 ranking: the seeds' 机关党工委 scores the organizations of each 协作区 (coordination
area) as a unit — here, each area's organizations in order of their composite score, with their
rank (equal scores share a rank) and level."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from service.campaigns.models import Campaign
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.reports.queries import FINAL_STATES, PROVISIONAL_STATES, latest_record, levels

NO_AREA = "（未划协作区）"


def by_area(
    session: Session, campaign: Campaign, root: Organization, provisional: bool
) -> dict[str, Any]:
    states = PROVISIONAL_STATES if provisional else FINAL_STATES
    labels = dict(levels(session, campaign))
    decision = latest_record("decision")
    parent = aliased(Organization)
    rows = session.execute(
        select(
            Organization.coordination_area,
            Organization.name,
            parent.name,
            Grading.level,
            decision.c.data,
        )
        .join(Organization, Organization.id == Grading.organization_id)
        .join(parent, parent.id == Organization.parent_id)
        .outerjoin(decision, decision.c.grading_id == Grading.id)
        .where(
            Grading.campaign_id == campaign.id,
            Grading.state.in_(states),
            Organization.path.startswith(root.path, autoescape=True),
        )
    ).all()
    areas: dict[str, list[dict[str, Any]]] = {}
    for area, name, unit, level, data in rows:
        composite = (data or {}).get("composite")
        areas.setdefault(area or NO_AREA, []).append(
            {
                "name": name,
                "unit": unit,
                "composite": str(composite) if composite is not None else None,
                "level": labels.get(level or "", level),
            }
        )
    out = []
    for area in sorted(areas, key=lambda a: (a == NO_AREA, a)):
        ranked = sorted(
            areas[area],
            key=lambda r: (r["composite"] is None, -Decimal(r["composite"] or 0), r["name"]),
        )
        rank, last = 0, None
        for n, row in enumerate(ranked, start=1):
            if row["composite"] != last:
                rank, last = n, row["composite"]
            row["rank"] = rank if row["composite"] is not None else None
        out.append({"area": area, "items": ranked})
    return {"campaign": campaign.name, "unit": root.name, "areas": out}


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The ranking as one table: each organization with its area."""
    return [{"area": area["area"], **item} for area in report["areas"] for item in area["items"]]
