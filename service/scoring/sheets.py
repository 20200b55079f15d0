"""Score sheets (self-rating, superior assessment) checked against the campaign's standard.

A sheet gives every indicator of the standard once: its score (never above the indicator's
maximum) or, for an indicator with sub-items, a score per sub-item (the indicator's score is
their sum). Bonus and deduction items (加减分) stay within their own limits and the standard's
caps. The total is

    total = Σ indicator scores + Σ bonus − Σ deduction, floored at 0,

so it never exceeds the standard's total except by what its bonus cap allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from service.errors import ValidationFailed
from service.scores import exact, round_score
from service.standards.models import Standard


@dataclass(frozen=True)
class Totals:
    indicators: Decimal
    bonus: Decimal
    deduction: Decimal
    total: Decimal


def check_sheet(standard: Standard, sheet: Mapping[str, Any]) -> Totals:
    """Raise ValidationFailed naming every bad field; return the totals of a good sheet."""
    errors: dict[str, list[str]] = {}
    given: Sequence[Mapping[str, Any]] = sheet.get("scores") or []
    by_code = {i.code: i for i in standard.indicators}
    seen: set[str] = set()
    indicator_sum = Decimal(0)
    for n, entry in enumerate(given):
        code = entry["indicator"]
        indicator = by_code.get(code)
        if indicator is None:
            errors[f"scores.{n}.indicator"] = [f"the standard has no indicator {code!r}"]
            continue
        if code in seen:
            errors[f"scores.{n}.indicator"] = [f"{code!r} is scored twice"]
            continue
        seen.add(code)
        score = entry.get("score")
        if indicator.sub_items:
            subs = {s["code"]: s["score"] for s in entry.get("sub_items") or []}
            expected = {s.code for s in indicator.sub_items}
            if set(subs) != expected:
                errors[f"scores.{n}.sub_items"] = [
                    f"score each sub-item exactly once: {', '.join(sorted(expected))}"
                ]
                continue
            for m, sub in enumerate(indicator.sub_items):
                if subs[sub.code] > sub.max_points:
                    errors[f"scores.{n}.sub_items.{m}.score"] = [
                        f"{subs[sub.code]} is above the sub-item's maximum {sub.max_points}"
                    ]
            sub_total = sum(subs.values(), Decimal(0))
            if score is not None and score != sub_total:
                errors[f"scores.{n}.score"] = [f"is not the sum of its sub-items ({sub_total})"]
            score = sub_total
        elif score is None:
            errors[f"scores.{n}.score"] = ["required (this indicator has no sub-items)"]
            continue
        if score > indicator.max_points:
            errors.setdefault(f"scores.{n}.score", []).append(
                f"{score} is above the indicator's maximum {indicator.max_points}"
            )
        indicator_sum += score
    missing = [code for code in by_code if code not in seen]
    if missing:
        errors["scores"] = [f"indicators not scored: {', '.join(missing)}"]

    items = {a.code: a for a in standard.adjustments}
    sums = {"bonus": Decimal(0), "deduction": Decimal(0)}
    used: set[str] = set()
    for n, entry in enumerate(sheet.get("adjustments") or []):
        item = items.get(entry["code"])
        if item is None:
            errors[f"adjustments.{n}.code"] = [f"the standard has no item {entry['code']!r}"]
            continue
        if entry["code"] in used:
            errors[f"adjustments.{n}.code"] = ["each item once"]
            continue
        used.add(entry["code"])
        if entry["points"] > item.max_points:
            errors[f"adjustments.{n}.points"] = [f"above the item's limit {item.max_points}"]
        sums[item.kind] += entry["points"]
    if sums["bonus"] > standard.bonus_cap:
        errors["adjustments"] = [
            f"bonus points {sums['bonus']} exceed the cap {standard.bonus_cap}"
        ]
    if sums["deduction"] > standard.deduction_cap:
        errors.setdefault("adjustments", []).append(
            f"deductions {sums['deduction']} exceed the cap {standard.deduction_cap}"
        )
    if errors:
        raise ValidationFailed("the score sheet does not fit the standard", errors=errors)
    total = max(Decimal(0), indicator_sum + sums["bonus"] - sums["deduction"])
    return Totals(indicator_sum, sums["bonus"], sums["deduction"], round_score(total))


def normalized(total: Decimal, standard: Standard) -> Fraction:
    """A sheet's total on the 100-point scale the level schemes use (exact; rounded later)."""
    return exact(total) * 100 / exact(standard.total_points)
