"""Across years: each organization's levels over the campaigns, and the movement from the last
campaign to this one — the seed documents' 在原有基础上都有新的进步, per organization and per
township (a unit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from service.campaigns.models import Campaign
from service.gradings import records
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.reports.queries import FINAL_STATES, PROVISIONAL_STATES
from service.standards.models import LevelScheme

MOVES = {"up": "进步", "same": "保持", "down": "退步", "new": "新评", "incomparable": "不可比"}


def _ranks(session: Session, scheme_id: int) -> tuple[dict[str, int], dict[str, str]]:
    """Each level's rank in its scheme (0: the best) and its label."""
    scheme = session.get_one(LevelScheme, scheme_id)
    return (
        {lv.code: n for n, lv in enumerate(scheme.levels)},
        {lv.code: lv.label for lv in scheme.levels},
    )


def previous_campaign(session: Session, campaign: Campaign) -> Campaign | None:
    """The same committee's latest campaign of an earlier year."""
    return session.scalars(
        select(Campaign)
        .where(
            Campaign.organization_id == campaign.organization_id,
            Campaign.year < campaign.year,
        )
        .order_by(Campaign.year.desc(), Campaign.id.desc())
        .limit(1)
    ).first()


def move(before: str | None, after: str | None, same_scheme: bool, ranks: dict[str, int]) -> str:
    if before is None:
        return "new"
    if after is None or not same_scheme:
        return "incomparable"
    if ranks[after] < ranks[before]:
        return "up"
    return "same" if ranks[after] == ranks[before] else "down"


def _earlier_levels(
    session: Session, campaign: Campaign, root: Organization
) -> dict[int, tuple[str, str, int]]:
    """Per organization under `root`, its last final level from a campaign of an earlier year
    — whichever committee ran it (a branch graded by its township last year and by the county
    this year keeps its footing): (level, campaign name, level scheme)."""
    rows = session.execute(
        select(Grading.organization_id, Grading.level, Campaign.name, Campaign.level_scheme_id)
        .join(Campaign, Campaign.id == Grading.campaign_id)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(
            Campaign.year < campaign.year,
            Grading.state.in_(FINAL_STATES),
            Grading.level.is_not(None),
            Organization.path.startswith(root.path, autoescape=True),
        )
        .order_by(Campaign.year, Campaign.id)
    )
    return {org: (level or "", name, scheme) for org, level, name, scheme in rows}  # newest wins


def movement(
    session: Session, campaign: Campaign, root: Organization, provisional: bool
) -> dict[str, Any]:
    """Every organization graded in this campaign (its level standing) under `root`: its last
    final level of an earlier year, this time's, and the move; per unit (the organization's
    parent), how many moved which way."""
    states = PROVISIONAL_STATES if provisional else FINAL_STATES
    ranks, labels = _ranks(session, campaign.level_scheme_id)
    earlier = _earlier_levels(session, campaign, root)
    old_labels: dict[int, dict[str, str]] = {}
    parent = aliased(Organization)
    query = (
        select(parent.name, Organization.id, Organization.name, Grading.level)
        .select_from(Grading)
        .join(Organization, Organization.id == Grading.organization_id)
        .join(parent, parent.id == Organization.parent_id)
        .where(
            Grading.campaign_id == campaign.id,
            Grading.state.in_(states),
            Organization.path.startswith(root.path, autoescape=True),
        )
        .order_by(Organization.path)
    )
    items: list[dict[str, Any]] = []
    units: dict[str, dict[str, Any]] = {}
    for unit, org_id, name, level in session.execute(query):
        last, last_campaign, scheme = earlier.get(org_id, (None, None, None))
        same_scheme = scheme == campaign.level_scheme_id
        if scheme is not None and scheme not in old_labels:
            old_labels[scheme] = _ranks(session, scheme)[1]
        moved = move(last, level, same_scheme, ranks)
        items.append(
            {
                "unit": unit,
                "name": name,
                "previous_campaign": last_campaign,
                "previous_level": old_labels.get(scheme or 0, {}).get(last or "", None),
                "level": labels.get(level or "", None),
                "movement": moved,
                "movement_label": MOVES[moved],
            }
        )
        counts = units.setdefault(unit, {"unit": unit, **dict.fromkeys(MOVES, 0)})
        counts[moved] += 1
    for counts in units.values():
        compared = counts["up"] + counts["same"] + counts["down"]
        counts["compared"] = compared
        # 在原有基础上都有新的进步: nobody went down, and the lowest level is left behind
        counts["none_went_down"] = counts["down"] == 0
    before = previous_campaign(session, campaign)
    return {
        "campaign": campaign.name,
        "previous_campaign": before.name if before else None,
        "unit": root.name,
        "items": items,
        "by_unit": list(units.values()),
    }


def levels_over_years(session: Session, organization: Organization) -> list[dict[str, Any]]:
    """The organization's gradings, campaign by campaign (oldest first): the level where one
    stands (under publicity it is provisional), and the move from the one before."""
    rows = session.execute(
        select(Campaign, Grading)
        .join(Grading, Grading.campaign_id == Campaign.id)
        .where(Grading.organization_id == organization.id)
        .order_by(Campaign.year, Campaign.id)
    ).all()
    out: list[dict[str, Any]] = []
    last: tuple[int, str] | None = None  # (scheme, level) of the last level that stood
    for campaign, grading in rows:
        ranks, labels = _ranks(session, campaign.level_scheme_id)
        stands = grading.state in PROVISIONAL_STATES and grading.level is not None
        level = grading.level if stands else None
        moved = None
        if level is not None:
            same = last is not None and last[0] == campaign.level_scheme_id
            moved = move(last[1] if last else None, level, same, ranks)
            last = (campaign.level_scheme_id, level)
        out.append(
            {
                "campaign_id": campaign.id,
                "campaign": campaign.name,
                "year": campaign.year,
                "grading_id": grading.id,
                "state": grading.state,
                "level": level,
                "level_label": labels.get(level or "", None),
                "provisional": bool(level) and grading.state not in FINAL_STATES,
                "movement": moved,
                "movement_label": MOVES[moved] if moved else None,
            }
        )
    return out


def dossier(session: Session, organization: Organization) -> list[dict[str, Any]]:
    """工作档案: what each campaign found and did about the organization — its level and move,
    the survey's problems (with their categories), the rectification items and how far each
    came, the 组织生活会's lessons and the 一组织一策 — oldest first, so a new campaign's
    working group reads what the last ones left."""
    out = []
    for year in levels_over_years(session, organization):
        grading_id = year["grading_id"]
        problems = [
            problem
            for entry in records.latest_versions(session, grading_id, "survey_entry")
            for problem in entry.data.get("problems") or []
        ]
        items = [
            {k: v.data.get(k) for k in ("problem", "category", "measure", "deadline", "status")}
            for v in records.latest_versions(session, grading_id, "rectification_item")
        ]
        meeting = records.current(session, grading_id, "life_meeting", "main")
        strategy = records.current(session, grading_id, "strategy", "main")
        out.append(
            {
                **year,
                "survey_problems": problems,
                "rectification_items": items,
                "life_meeting_lessons": meeting.data.get("lessons") if meeting else None,
                "strategy": strategy.data.get("tasks") if strategy else None,
            }
        )
    return out
