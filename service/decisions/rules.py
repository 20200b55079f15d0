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
from sqlalchemy.orm import Session, aliased

from service.campaigns.models import Campaign, QuotaRule, QuotaScope, VetoRule
from service.gradings import records
from service.gradings.models import Grading
from service.organizations.models import Organization, OrgKind
from service.scores import exact, round_score
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
    """Levels standing in the whole campaign (every scope)."""
    return _counts(session, campaign_id, None, exclude)[1]


def _deciding_unit_of(org: Any) -> Any:
    """SQL: the nearest committee above an organization — the one that decides its level."""
    committee = aliased(Organization)
    return (
        select(committee.id)
        .where(
            committee.kind == OrgKind.COMMITTEE.value,
            committee.id != org.id,
            org.path.startswith(committee.path),
        )
        .order_by(func.length(committee.path).desc())
        .limit(1)
        .scalar_subquery()
    )


def deciding_unit(session: Session, org: Organization) -> Organization:
    committee_id = session.scalar(
        select(_deciding_unit_of(Organization)).where(Organization.id == org.id)
    )
    return session.get_one(Organization, committee_id) if committee_id else org


def _counts(
    session: Session, campaign_id: int, unit: Organization | None, exclude: int | None = None
) -> tuple[int, dict[str, int]]:
    """(organizations taking part, levels standing) in the campaign, or only those `unit`
    decides — the denominator counts every grading of the scope, decided or not."""
    query = (
        select(Grading.state, Grading.level, func.count())
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Grading.campaign_id == campaign_id)
        .group_by(Grading.state, Grading.level)
    )
    if unit is not None:
        query = query.where(
            Organization.path.startswith(unit.path, autoescape=True),
            _deciding_unit_of(Organization) == unit.id,
        )
    total, decided = 0, dict[str, int]()
    for state, level, n in session.execute(query).all():
        total += n
        if state in LEVEL_STANDS and level is not None:
            decided[level] = decided.get(level, 0) + n
    if exclude is not None:
        row = session.execute(
            select(Grading.state, Grading.level).where(Grading.id == exclude)
        ).first()
        if row is not None and row[0] in LEVEL_STANDS and row[1] is not None:
            decided[row[1]] -= 1
    return total, decided


def _scope_unit(session: Session, rule: QuotaRule, campaign: Campaign, org: Organization) -> Any:
    if rule.scope == QuotaScope.COMMITTEE:
        return deciding_unit(session, org)
    return None  # the whole campaign


def _caps(grading: Grading, ctx: GuardContext) -> list[tuple[QuotaRule, str, int, int]]:
    """For each cap on the proposed level: (rule, scope name, already decided, taking part)."""
    level = proposed_level(ctx.session, grading)
    if level is None:
        return []
    caps = ctx.session.scalars(
        select(QuotaRule).where(
            QuotaRule.campaign_id == grading.campaign_id,
            QuotaRule.level_code == level,
            QuotaRule.max_share.is_not(None),
        )
    ).all()
    if not caps:
        return []
    if ctx.for_update:  # serialize deciders of one campaign: the counts below stay true
        ctx.session.execute(
            select(Campaign.id).where(Campaign.id == grading.campaign_id).with_for_update()
        )
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    org = ctx.session.get_one(Organization, grading.organization_id)
    out = []
    for cap in caps:
        unit = _scope_unit(ctx.session, cap, campaign, org)
        total, decided = _counts(ctx.session, campaign.id, unit, exclude=grading.id)
        name = unit.name if unit is not None else "全部"
        out.append((cap, name, decided.get(level, 0), total))
    return out


def within_cap(grading: Grading, ctx: GuardContext) -> bool:
    return all(
        (already + 1) * 100 <= exact(cap.max_share) * total  # type: ignore[arg-type]
        for cap, _, already, total in _caps(grading, ctx)
    )


def cap_detail(grading: Grading, ctx: GuardContext) -> str | None:
    """Which scope's cap the decision would pass, e.g. '凤凰镇党委: 好 4 of 21 (cap 20.00%)'."""
    level = proposed_level(ctx.session, grading)
    passed = [
        f"{name}: {level} {already} of {total} (cap {cap.max_share}%)"
        for cap, name, already, total in _caps(grading, ctx)
        if (already + 1) * 100 > exact(cap.max_share) * total  # type: ignore[arg-type]
    ]
    return "; ".join(passed) or None


def floors_met(grading: Grading, ctx: GuardContext) -> bool:
    """Floors are judged on the committee's whole batch: once every grading is decided."""
    campaign = ctx.session.get_one(Campaign, grading.campaign_id)
    return not any(rule["under_floor"] for rule in quota_status(ctx.session, campaign))


def quota_status(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Every quota rule in every scope it applies to: decided, taking part, share, headroom."""
    out = []
    units: list[Organization | None] = [None]
    if any(rule.scope == QuotaScope.COMMITTEE for rule in campaign.quota_rules):
        unit_ids = session.scalars(
            select(_deciding_unit_of(Organization))
            .select_from(Grading)
            .join(Organization, Organization.id == Grading.organization_id)
            .where(Grading.campaign_id == campaign.id)
            .distinct()
        ).all()
        deciding = [session.get_one(Organization, i) for i in unit_ids if i is not None]
        units = [None, *sorted(deciding, key=lambda o: o.path)]
    counted = {id(u): _counts(session, campaign.id, u) for u in units}
    top = session.get_one(Organization, campaign.organization_id)
    for rule in campaign.quota_rules:
        for unit in units:
            if (unit is None) != (rule.scope == QuotaScope.CAMPAIGN):
                continue
            total, decided = counted[id(unit)]
            n = decided.get(rule.level_code, 0)
            all_decided = sum(decided.values()) == total
            share = round_score(Fraction(n * 100, total)) if total else round_score(0)
            cap_count = (
                None if rule.max_share is None else int(exact(rule.max_share) * total // 100)
            )
            out.append(
                {
                    "level_code": rule.level_code,
                    "scope": rule.scope,
                    "unit_id": (unit or top).id,
                    "unit_name": (unit or top).name,
                    "max_share": rule.max_share,
                    "min_share": rule.min_share,
                    "decided": n,
                    "total": total,
                    "share": share,
                    "headroom": None if cap_count is None else max(0, cap_count - n),
                    "all_decided": all_decided,
                    "over_cap": rule.max_share is not None and share > rule.max_share,
                    # A floor can only be judged once every grading of its scope is decided.
                    "under_floor": rule.min_share is not None
                    and all_decided
                    and share < rule.min_share,
                }
            )
    return out
