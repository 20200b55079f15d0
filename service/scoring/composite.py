"""The composite score: each rating source on the 100-point scale, weighted, summed, rounded once.

    composite = round_half_up( Σ weight_s × value_s / 100 , 0.01 )

value_s is the source's score on the 100-point scale: the superior's assessment and the self-rating
are their sheet totals scaled by 100 / the standard's total; a ballot source (members, the public,
service recipients) is the average points of its valid ballots over every counted tally. The level
is the first level of the campaign's scheme whose lower bound the composite reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.campaigns.models import SOURCE_LABELS, RatingSourceKind
from service.scores import round_score
from service.standards.models import Level, LevelScheme

SHEET_SOURCES = {
    RatingSourceKind.SUPERIOR.value: "assessment",
    RatingSourceKind.SELF.value: "self_rating",
}
ROUNDING = "ROUND_HALF_UP to 0.01, once, on the weighted sum"


@dataclass
class SourceValue:
    value: Decimal  # on the 100-point scale, exact
    basis: str  # where it came from, for a person checking by hand
    ballots: int = 0  # valid ballots behind a ballot source


@dataclass
class Composite:
    steps: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unrounded: Decimal | None = None
    total: Decimal | None = None
    level: Level | None = None


def ballot_source_values(tallies: list[dict[str, Any]]) -> dict[str, SourceValue]:
    """Average points per source over every counted tally, weighted by valid ballots."""
    sums: dict[str, tuple[Decimal, int]] = {}
    for tally in tallies:
        for source, figures in (tally.get("sources") or {}).items():
            valid = int(figures["valid"])
            points = Decimal(str(figures["points"]))
            total, count = sums.get(source, (Decimal(0), 0))
            sums[source] = (total + points * valid, count + valid)
    return {
        source: SourceValue(total / count, f"{count} valid ballots", count)
        for source, (total, count) in sums.items()
        if count > 0
    }


def compose(
    weights: list[tuple[str, Decimal]], values: dict[str, SourceValue], scheme: LevelScheme
) -> Composite:
    result = Composite()
    weighted_sum = Decimal(0)
    for source, weight in weights:
        label = SOURCE_LABELS.get(RatingSourceKind(source), source)
        found = values.get(source)
        if found is None:
            result.missing.append(source)
            result.steps.append(
                {
                    "source": source,
                    "label": label,
                    "weight": weight,
                    "value": None,
                    "weighted": None,
                    "basis": "not yet available",
                }
            )
            continue
        weighted = weight * found.value / Decimal(100)
        weighted_sum += weighted
        result.steps.append(
            {
                "source": source,
                "label": label,
                "weight": weight,
                "value": round_score(found.value),
                "weighted": round_score(weighted),
                "basis": found.basis,
            }
        )
    if result.missing:
        return result
    result.unrounded = weighted_sum
    result.total = round_score(weighted_sum)
    result.level = scheme.level_for(result.total)
    return result
