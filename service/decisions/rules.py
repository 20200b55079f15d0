"""The rules a level decision must respect (分类定级会议), each a guard of the `decide` transition.

- veto_respected: a veto flag on the grading (e.g. leaders involved in 欺行霸市, 制假售假, 商业
  贿赂, acting as a 保护伞) allows only the level its rule forces — the lowest, usually;
- new_org_not_top: an organization founded on or after the campaign's cut-off cannot get the top
  level unless the decision asks for an exception (the supervisor approving it grants it);
- source_thresholds: the campaign may require e.g. public satisfaction ≥ 90 for 好 and 较好;
- quota_cap: a level's cap (好 ≤ 20 % of the campaign's gradings) cannot be passed; while firing,
  the campaign row is locked so two supervisors cannot pass it together;
- quota_floors: once every grading is decided, no level is below its floor (e.g. 较差 ≥ 5 %).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.campaigns.models import Campaign, QuotaRule, VetoRule
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.records import operations as records
from service.scores import round_score
from service.scoring.operations import source_values
from service.standards.models import LevelScheme, Standard
from service.workflows.context import GuardContext
from service.workflows.states import LEVEL_STANDS


def decision(session: Session, grading: Grading) -> dict[str, Any] | None:
    current = records.current(session, grading.id, "decision", "main")
    return current.data if current is not None else None


def proposed_level(session: Session, grading: Grading) -> str | None:
    data = decision(session, grading)
    return data.get("level") if data else None


def _positions(session: Session, campaign: Campaign) -> dict[str, int]:
    scheme = session.get_one(LevelScheme, campaign.level_scheme_id)
    return {lv.code: lv.position for lv in scheme.levels}


def forced_level(session: Session, grading: Grading, campaign: Campaign) -> str | None:
    """The level a veto forces (the worst of them when several apply), or None."""
    flags = records.current(session, grading.id, "veto_flags", "main")
    codes = {f["code"] for f in (flags.data.get("flags") or [])} if flags else set()
    if not codes:
        return None
    rules = session.scalars(
        select(VetoRule).where(VetoRule.campaign_id == campaign.id, VetoRule.code.in_(codes))
    ).all()
    positions = _positions(session, campaign)
    forced = [r.forced_level_code for r in rules]
    return max(forced, key=lambda code: positions.get(code, -1)) if forced else None


def veto_respected(grading: Grading, ctx: GuardContext) -> bool:
    level = proposed_level(ctx.session, grading)
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    forced = forced_level(ctx.session, grading, campaign)
    return level is None or forced is None or level == forced


def new_org_not_top(grading: Grading, ctx: GuardContext) -> bool:
    data = decision(ctx.session, grading)
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    if not data or not data.get("level") or campaign.new_org_cutoff is None:
        return True
    org = ctx.session.get_one(Organization, grading.organization_id)
    if org.founded_on is None or org.founded_on < campaign.new_org_cutoff:
        return True
    top = next(code for code, pos in _positions(ctx.session, campaign).items() if pos == 0)
    return data["level"] != top or bool(data.get("new_org_exception"))


def thresholds(campaign: Campaign) -> list[dict[str, Any]]:
    return list((campaign.decision_config or {}).get("thresholds") or [])


def source_thresholds_met(grading: Grading, ctx: GuardContext) -> bool:
    level = proposed_level(ctx.session, grading)
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    rules = thresholds(campaign)
    if level is None or not rules:
        return True
    positions = _positions(ctx.session, campaign)
    values = source_values(ctx.session, grading, ctx.session.get_one(Standard, grading.standard_id))
    for rule in rules:
        value = values.get(rule["source"])
        if (
            value is not None
            and round_score(value.value) < Decimal(str(rule["min_points"]))
            and positions[level] < positions[rule["max_level"]]
        ):
            return False
    return True


def decided_counts(
    session: Session, campaign_id: int, exclude: int | None = None
) -> dict[str, int]:
    query = (
        select(Grading.level, func.count())
        .where(
            Grading.campaign_id == campaign_id,
            Grading.state.in_(LEVEL_STANDS),
            Grading.level.is_not(None),
        )
        .group_by(Grading.level)
    )
    if exclude is not None:
        query = query.where(Grading.id != exclude)
    return {level: n for level, n in session.execute(query).all() if level is not None}


def within_cap(grading: Grading, ctx: GuardContext) -> bool:
    level = proposed_level(ctx.session, grading)
    if level is None:
        return True
    caps = ctx.session.scalars(
        select(QuotaRule).where(
            QuotaRule.campaign_id == grading.campaign_id,
            QuotaRule.level_code == level,
            QuotaRule.max_share.is_not(None),
        )
    ).all()
    if not caps:
        return True
    if ctx.for_update:  # serialize deciders of one campaign: the count below stays true
        ctx.session.execute(
            select(Campaign.id).where(Campaign.id == grading.campaign_id).with_for_update()
        )
    total = (
        ctx.session.scalar(
            select(func.count())
            .select_from(Grading)
            .where(Grading.campaign_id == grading.campaign_id)
        )
        or 0
    )
    already = decided_counts(ctx.session, grading.campaign_id, exclude=grading.id).get(level, 0)
    return all(Decimal(already + 1) * 100 <= Decimal(cap.max_share) * total for cap in caps)  # type: ignore[arg-type]


def floors_met(grading: Grading, ctx: GuardContext) -> bool:
    """Floors are judged on the committee's whole batch: once every grading is decided."""
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    return not any(rule["under_floor"] for rule in quota_status(ctx.session, campaign))


def quota_status(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    total = (
        session.scalar(
            select(func.count()).select_from(Grading).where(Grading.campaign_id == campaign.id)
        )
        or 0
    )
    counts = decided_counts(session, campaign.id)
    decided = sum(counts.values())
    out = []
    for rule in campaign.quota_rules:
        n = counts.get(rule.level_code, 0)
        share = round_score(Fraction(n * 100, total)) if total else round_score(0)
        over_cap = rule.max_share is not None and share > rule.max_share
        # A floor can only be judged once every grading is decided.
        under_floor = rule.min_share is not None and decided == total and share < rule.min_share
        out.append(
            {
                "level_code": rule.level_code,
                "max_share": rule.max_share,
                "min_share": rule.min_share,
                "decided": n,
                "total": total,
                "share": share,
                "all_decided": decided == total,
                "over_cap": over_cap,
                "under_floor": under_floor,
            }
        )
    return out
