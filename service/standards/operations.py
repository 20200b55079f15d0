"""Standards (versioned, frozen once a campaign uses them) and level schemes (immutable)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.audit.operations import record
from service.context import Actor
from service.db import Base
from service.errors import Duplicate, NotFound, StandardFrozen, ValidationFailed
from service.organizations.operations import domain_codes
from service.standards.models import (
    Adjustment,
    Indicator,
    Level,
    LevelScheme,
    Standard,
    SubItem,
)
from service.workflows.states import CampaignStatus


def get_standard(session: Session, standard_id: int) -> Standard:
    standard = session.get(Standard, standard_id)
    if standard is None:
        raise NotFound(f"standard {standard_id} was not found")
    return standard


def is_frozen(session: Session, standard: Standard) -> bool:
    """A version that an opened (or closed) campaign has used never changes again.

    The standards sit a layer below the campaigns that use them (docs/architecture.md): the
    campaigns' tables are read by name, not through the campaigns package."""
    tables = Base.metadata.tables
    uses, campaigns = tables["campaign_standards"], tables["campaigns"]
    used = session.scalar(
        select(uses.c.id)
        .join(campaigns, campaigns.c.id == uses.c.campaign_id)
        .where(
            uses.c.standard_id == standard.id,
            campaigns.c.status != CampaignStatus.DRAFT.value,
        )
        .limit(1)
    )
    return used is not None


def snapshot(standard: Standard) -> dict[str, Any]:
    return {
        "domain": standard.domain,
        "version": standard.version,
        "name": standard.name,
        "description": standard.description,
        "total_points": standard.total_points,
        "bonus_cap": standard.bonus_cap,
        "deduction_cap": standard.deduction_cap,
        "indicators": [
            {
                "code": i.code,
                "name": i.name,
                "max_points": i.max_points,
                "description": i.description,
                "guidance": i.guidance,
                "sub_items": [
                    {
                        "code": s.code,
                        "name": s.name,
                        "max_points": s.max_points,
                        "description": s.description,
                    }
                    for s in i.sub_items
                ],
            }
            for i in standard.indicators
        ],
        "adjustments": [
            {
                "code": a.code,
                "kind": a.kind,
                "name": a.name,
                "max_points": a.max_points,
                "description": a.description,
            }
            for a in standard.adjustments
        ],
    }


def _validate_content(data: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    total = Decimal(data["total_points"])
    indicators: Sequence[Mapping[str, Any]] = data["indicators"]
    if not indicators:
        errors["indicators"] = ["at least one indicator is required"]
    indicator_sum = sum((Decimal(i["max_points"]) for i in indicators), Decimal(0))
    if indicators and indicator_sum != total:
        errors["indicators"] = [
            f"the indicators' maximums sum to {indicator_sum}, not to the total {total}"
        ]
    codes: set[str] = set()
    for n, indicator in enumerate(indicators):
        if indicator["code"] in codes:
            errors[f"indicators.{n}.code"] = [f"{indicator['code']!r} is used twice"]
        codes.add(indicator["code"])
        subs = indicator.get("sub_items") or []
        if subs:
            sub_sum = sum((Decimal(s["max_points"]) for s in subs), Decimal(0))
            if sub_sum != Decimal(indicator["max_points"]):
                errors[f"indicators.{n}.sub_items"] = [
                    f"the sub-items' maximums sum to {sub_sum}, not to the indicator's "
                    f"{indicator['max_points']}"
                ]
            sub_codes = [s["code"] for s in subs]
            if len(set(sub_codes)) != len(sub_codes):
                errors[f"indicators.{n}.sub_items"] = ["sub-item codes must be unique"]
    caps = {
        "bonus": Decimal(data.get("bonus_cap") or 0),
        "deduction": Decimal(data.get("deduction_cap") or 0),
    }
    adjustment_codes: set[str] = set()
    for n, item in enumerate(data.get("adjustments") or []):
        if item["code"] in adjustment_codes:
            errors[f"adjustments.{n}.code"] = [f"{item['code']!r} is used twice"]
        adjustment_codes.add(item["code"])
        if Decimal(item["max_points"]) > caps[item["kind"]]:
            errors[f"adjustments.{n}.max_points"] = [
                f"exceeds the standard's {item['kind']} cap of {caps[item['kind']]}"
            ]
    if errors:
        raise ValidationFailed("the standard is not consistent", errors=errors)


def _fill(standard: Standard, data: Mapping[str, Any]) -> None:
    standard.name = data["name"]
    standard.description = data.get("description")
    standard.total_points = Decimal(data["total_points"])
    standard.bonus_cap = Decimal(data.get("bonus_cap") or 0)
    standard.deduction_cap = Decimal(data.get("deduction_cap") or 0)
    standard.indicators = [
        Indicator(
            position=n,
            code=i["code"],
            name=i["name"],
            max_points=Decimal(i["max_points"]),
            description=i.get("description"),
            guidance=i.get("guidance"),
            sub_items=[
                SubItem(
                    position=m,
                    code=s["code"],
                    name=s["name"],
                    max_points=Decimal(s["max_points"]),
                    description=s.get("description"),
                )
                for m, s in enumerate(i.get("sub_items") or [])
            ],
        )
        for n, i in enumerate(data["indicators"])
    ]
    standard.adjustments = [
        Adjustment(
            position=n,
            code=a["code"],
            kind=a["kind"],
            name=a["name"],
            max_points=Decimal(a["max_points"]),
            description=a.get("description"),
        )
        for n, a in enumerate(data.get("adjustments") or [])
    ]


def create_standard(
    session: Session, actor: Actor, data: Mapping[str, Any], supersedes: Standard | None = None
) -> Standard:
    domain = data["domain"]
    if domain not in domain_codes(session):
        raise ValidationFailed(f"unknown 领域 {domain!r}", errors={"domain": ["unknown 领域"]})
    _validate_content(data)
    latest = session.scalar(select(func.max(Standard.version)).where(Standard.domain == domain))
    standard = Standard(
        domain=domain,
        version=(latest or 0) + 1,
        created_by=actor.username,
        supersedes_id=supersedes.id if supersedes else None,
    )
    _fill(standard, data)
    session.add(standard)
    session.flush()
    record(
        session,
        actor,
        "standard.create",
        "standard",
        standard.id,
        after=snapshot(standard),
        reason=data.get("reason"),
    )
    return standard


def update_standard(
    session: Session, actor: Actor, standard: Standard, changes: Mapping[str, Any]
) -> Standard:
    if is_frozen(session, standard):
        raise StandardFrozen(
            f"version {standard.version} of this standard is used by a campaign and is frozen; "
            f"publish a new version instead (POST /api/v1/standards/{standard.id}/versions)",
            new_version_url=f"/api/v1/standards/{standard.id}/versions",
        )
    before = snapshot(standard)
    merged = {**before, **{k: v for k, v in changes.items() if k != "reason"}}
    _validate_content(merged)
    # Old rows go first: the UPDATE would otherwise insert new codes before deleting old ones.
    standard.indicators = []
    standard.adjustments = []
    session.flush()
    _fill(standard, merged)
    session.flush()
    after = snapshot(standard)
    if after != before:
        record(
            session,
            actor,
            "standard.update",
            "standard",
            standard.id,
            before=before,
            after=after,
            reason=changes.get("reason"),
        )
    return standard


def publish_new_version(
    session: Session, actor: Actor, standard: Standard, changes: Mapping[str, Any]
) -> Standard:
    base = snapshot(standard)
    data = {**base, **dict(changes), "domain": standard.domain}
    return create_standard(session, actor, data, supersedes=standard)


def get_scheme(session: Session, scheme_id: int) -> LevelScheme:
    scheme = session.get(LevelScheme, scheme_id)
    if scheme is None:
        raise NotFound(f"level scheme {scheme_id} was not found")
    return scheme


def create_scheme(session: Session, actor: Actor, data: Mapping[str, Any]) -> LevelScheme:
    if session.scalar(select(LevelScheme.id).where(LevelScheme.code == data["code"])) is not None:
        raise Duplicate(
            f"a level scheme with code {data['code']!r} exists already",
            errors={"code": ["is taken"]},
        )
    levels = data["levels"]
    errors: dict[str, list[str]] = {}
    if len(levels) < 2:
        errors["levels"] = ["a scheme needs at least two levels"]
    bounds = [Decimal(level["lower_bound"]) for level in levels]
    if any(a <= b for a, b in itertools.pairwise(bounds)):
        errors["levels"] = ["levels are listed best first, with strictly decreasing lower bounds"]
    codes = [level["code"] for level in levels]
    if len(set(codes)) != len(codes):
        errors["levels"] = ["level codes must be unique"]
    if errors:
        raise ValidationFailed("the level scheme is not consistent", errors=errors)
    scheme = LevelScheme(
        code=data["code"],
        name=data["name"],
        builtin=False,
        levels=[
            Level(
                position=n,
                code=level["code"],
                label=level["label"],
                lower_bound=Decimal(level["lower_bound"]),
            )
            for n, level in enumerate(levels)
        ],
    )
    session.add(scheme)
    session.flush()
    record(
        session,
        actor,
        "level_scheme.create",
        "level_scheme",
        scheme.id,
        after={
            "code": scheme.code,
            "name": scheme.name,
            "levels": [
                {"code": lv.code, "label": lv.label, "lower_bound": lv.lower_bound}
                for lv in scheme.levels
            ],
        },
    )
    return scheme


def listed(filters: Mapping[str, Any]) -> Any:
    """The standards, by 领域 (every version: a frozen one stays readable)."""
    query = select(Standard)
    if "domain" in filters:
        query = query.where(Standard.domain == filters["domain"])
    return query


def schemes() -> Any:
    return select(LevelScheme)
