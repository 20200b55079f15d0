"""The composite score: each rating source on the 100-point scale, weighted, summed, rounded once.

    composite = round_half_up( Σ weight_s × value_s / 100 , 0.01 )

value_s is the source's score on the 100-point scale, exact (a Fraction): the superior's
assessment and the self-rating are their sheet totals scaled by 100 / the standard's total; a
ballot source (members, the public, service recipients) is the points its valid ballots earned
over every counted tally divided by their number — from the tallies' counts, never from a
rounded average. The sum is rounded once; the level is the first level of the campaign's
scheme whose lower bound the rounded composite reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from service.campaigns.models import SOURCE_LABELS, RatingSourceKind
from service.scores import exact, exact_text, round_score
from service.standards.models import Level, LevelScheme

SHEET_SOURCES = {
    RatingSourceKind.SUPERIOR.value: "assessment",
    RatingSourceKind.SELF.value: "self_rating",
}
ROUNDING = "ROUND_HALF_UP to 0.01, once, on the weighted sum"


@dataclass
class SourceValue:
    value: Fraction  # on the 100-point scale, exact
    basis: str  # where it came from, for a person checking by hand
    ballots: int = 0  # valid ballots behind a ballot source


@dataclass
class Composite:
    steps: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unrounded: Fraction | None = None
    total: Decimal | None = None
    level: Level | None = None


def category_earned(category: dict[str, Any]) -> Fraction:
    """The points a category's valid ballots earned on the 100-point scale, exactly: stored as
    `earned` (a choice's points × its ballots) or as indicator `sums` over the standard's
    `scale`; a tally written before these were kept falls back to its rounded average."""
    if "sums" in category:
        scored = sum((exact(v) for v in category["sums"].values()), Fraction(0))
        return scored * 100 / exact(category["scale"])
    if "earned" in category:
        return exact(category["earned"])
    return exact(category["points"]) * int(category["valid"])


def ballot_source_values(tallies: list[dict[str, Any]]) -> dict[str, SourceValue]:
    """Each ballot source's points per valid ballot over every counted tally, exactly."""
    sums: dict[str, tuple[Fraction, int]] = {}
    for tally in tallies:
        for category in tally.get("categories") or []:
            valid = int(category.get("valid") or 0)
            if not valid:
                continue
            total, count = sums.get(category["source"], (Fraction(0), 0))
            sums[category["source"]] = (total + category_earned(category), count + valid)
    return {
        source: SourceValue(total / count, f"{count} valid ballots", count)
        for source, (total, count) in sums.items()
    }


def compose(
    weights: list[tuple[str, Decimal]], values: dict[str, SourceValue], scheme: LevelScheme
) -> Composite:
    result = Composite()
    weighted_sum = Fraction(0)
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
        weighted = exact(weight) * found.value / 100
        weighted_sum += weighted
        result.steps.append(
            {
                "source": source,
                "label": label,
                "weight": weight,
                "value": round_score(found.value),
                "weighted": round_score(weighted),
                "exact": exact_text(weighted),
                "basis": found.basis,
            }
        )
    if result.missing:
        return result
    result.unrounded = weighted_sum
    result.total = round_score(weighted_sum)
    result.level = scheme.level_for(result.total)
    return result
