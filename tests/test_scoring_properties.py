"""Properties of scoring, with Hypothesis: sheet totals, levels at their bounds, the composite."""

from __future__ import annotations

import itertools
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.errors import ValidationFailed
from service.scores import score_text
from service.scoring.composite import SourceValue, compose
from service.scoring.sheets import check_sheet, normalized
from service.standards.models import (
    Adjustment,
    Indicator,
    Level,
    LevelScheme,
    Standard,
    SubItem,
)

CENT = Decimal("0.01")


def four_levels() -> LevelScheme:
    bounds = [
        ("good", "好", "90"),
        ("fairly_good", "较好", "80"),
        ("average", "一般", "60"),
        ("poor", "较差", "0"),
    ]
    return LevelScheme(
        code="four_levels",
        levels=[
            Level(position=n, code=c, label=label, lower_bound=Decimal(b))
            for n, (c, label, b) in enumerate(bounds)
        ],
    )


@st.composite
def standards(draw: st.DrawFn) -> Standard:
    """A standard of 2–9 indicators whose maximums (in cents) sum to exactly 100."""
    count = draw(st.integers(min_value=2, max_value=9))
    cuts = sorted(
        draw(
            st.lists(
                st.integers(min_value=1, max_value=9_999),
                min_size=count - 1,
                max_size=count - 1,
                unique=True,
            )
        )
    )
    edges = [0, *cuts, 10_000]
    maxima = [Decimal(b - a) * CENT for a, b in itertools.pairwise(edges)]
    bonus_cap = Decimal(draw(st.integers(min_value=0, max_value=1000))) * CENT
    deduction_cap = Decimal(draw(st.integers(min_value=0, max_value=2000))) * CENT
    adjustments = []
    if bonus_cap > 0:
        adjustments.append(
            Adjustment(code="bonus", kind="bonus", name="加分", max_points=bonus_cap)
        )
    if deduction_cap > 0:
        adjustments.append(
            Adjustment(code="minus", kind="deduction", name="减分", max_points=deduction_cap)
        )
    return Standard(
        total_points=Decimal(100),
        bonus_cap=bonus_cap,
        deduction_cap=deduction_cap,
        indicators=[
            Indicator(code=f"i{n}", name=f"指标{n}", max_points=m, sub_items=[])
            for n, m in enumerate(maxima)
        ],
        adjustments=adjustments,
    )


def cents_up_to(maximum: Decimal) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=int(maximum / CENT)).map(lambda c: Decimal(c) * CENT)


@st.composite
def standard_and_sheet(draw: st.DrawFn) -> tuple[Standard, dict]:
    standard = draw(standards())
    scores = [
        {"indicator": i.code, "score": draw(cents_up_to(i.max_points))} for i in standard.indicators
    ]
    adjustments = [
        {"code": a.code, "points": draw(cents_up_to(a.max_points))} for a in standard.adjustments
    ]
    return standard, {"scores": scores, "adjustments": adjustments}


@settings(max_examples=200, deadline=None)
@given(standard_and_sheet())
def test_a_total_never_exceeds_the_maximum_unless_bonus_items_allow(
    case: tuple[Standard, dict],
) -> None:
    standard, sheet = case
    totals = check_sheet(standard, sheet)
    assert Decimal(0) <= totals.total <= standard.total_points + standard.bonus_cap
    assert totals.indicators <= standard.total_points
    expected = max(Decimal(0), totals.indicators + totals.bonus - totals.deduction)
    assert totals.total == expected.quantize(CENT, rounding=ROUND_HALF_UP)


@settings(max_examples=100, deadline=None)
@given(standard_and_sheet(), st.integers(min_value=1, max_value=500))
def test_a_score_above_its_indicator_maximum_is_refused(
    case: tuple[Standard, dict], over: int
) -> None:
    standard, sheet = case
    sheet["scores"][0]["score"] = standard.indicators[0].max_points + Decimal(over) * CENT
    with pytest.raises(ValidationFailed) as raised:
        check_sheet(standard, sheet)
    assert "scores.0.score" in raised.value.errors


@pytest.mark.parametrize(
    ("score", "level"),
    [
        ("100", "好"),
        ("90", "好"),
        ("89.99", "较好"),
        ("80", "较好"),
        ("79.99", "一般"),
        ("60", "一般"),
        ("59.99", "较差"),
        ("0", "较差"),
    ],
)
def test_boundaries_land_on_the_right_level(score: str, level: str) -> None:
    found = four_levels().level_for(Decimal(score))
    assert found is not None and found.label == level


def half_up(value: Fraction) -> Fraction:
    """The test's own rounding: to hundredths, halves up (scores are never negative)."""
    return Fraction(math.floor(value * 100 + Fraction(1, 2)), 100)


def level_of(total: Fraction) -> str:
    """The test's own reading of the four-level scheme: 90 / 80 / 60."""
    return next(code for code, bound in LEVEL_BOUNDS if total >= bound)


LEVEL_BOUNDS = [("good", 90), ("fairly_good", 80), ("average", 60), ("poor", 0)]


@st.composite
def weighted_sources(draw: st.DrawFn) -> tuple[list[tuple[str, Decimal]], dict[str, Fraction]]:
    """Weights in cents summing to 100; sheet sources with two decimals, ballot sources as the
    points of up to 60 ballots over their number (an average that need not terminate)."""
    names = draw(
        st.lists(
            st.sampled_from(["superior", "self", "members", "public", "service_recipients"]),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    cuts = sorted(
        draw(
            st.lists(
                st.integers(min_value=0, max_value=10_000),
                min_size=len(names) - 1,
                max_size=len(names) - 1,
            )
        )
    )
    edges = [0, *cuts, 10_000]
    weights = [(n, Decimal(b - a) * CENT) for n, a, b in zip(names, edges, edges[1:], strict=False)]
    values: dict[str, Fraction] = {}
    for name in names:
        if name in ("superior", "self"):
            values[name] = Fraction(draw(st.integers(min_value=0, max_value=10_000)), 100)
        else:
            ballots = draw(st.lists(st.sampled_from([100, 85, 70, 50]), min_size=1, max_size=60))
            values[name] = Fraction(sum(ballots), len(ballots))
    return weights, values


@settings(max_examples=500, deadline=None)
@given(weighted_sources())
def test_the_composite_is_the_exact_weighted_sum_rounded_once(
    case: tuple[list[tuple[str, Decimal]], dict[str, Fraction]],
) -> None:
    weights, values = case
    result = compose(
        weights, {n: SourceValue(v, "drawn") for n, v in values.items()}, four_levels()
    )
    expected = sum((Fraction(w) * values[n] / 100 for n, w in weights), Fraction(0))
    assert result.unrounded == expected
    assert Fraction(result.total) == half_up(expected)
    assert result.level is not None and result.level.code == level_of(half_up(expected))
    assert min(values.values()) - Fraction(1, 100) <= Fraction(result.total)
    assert Fraction(result.total) <= max(values.values()) + Fraction(1, 100)


def test_rounding_is_half_up_once_on_the_weighted_sum() -> None:
    # 50% × 89.99 + 50% × 90.00 = 89.995 → 90.00 → 好 (rounded once, half up, as documented)
    result = compose(
        [("superior", Decimal(50)), ("self", Decimal(50))],
        {
            "superior": SourceValue(Fraction("89.99"), "x"),
            "self": SourceValue(Fraction("90.00"), "y"),
        },
        four_levels(),
    )
    assert result.unrounded == Fraction("89.995")
    assert result.total == Decimal("90.00")
    assert result.level is not None and result.level.label == "好"


def test_a_non_terminating_average_is_not_rounded_before_the_composite() -> None:
    # members 6 × 100 + 1 × 85 = 685/7 = 97.857142…: exact 89.994142… → 89.99 较好 (rounding the
    # average to 97.86 first would give 89.995 → 90.00 好)
    result = compose(
        [("superior", Decimal(50)), ("members", Decimal(30)), ("self", Decimal(20))],
        {
            "superior": SourceValue(Fraction("84.81"), "x"),
            "members": SourceValue(Fraction(685, 7), "y"),
            "self": SourceValue(Fraction("91.16"), "z"),
        },
        four_levels(),
    )
    assert result.total == Decimal("89.99")
    assert result.level is not None and result.level.code == "fairly_good"


def test_a_missing_source_leaves_the_composite_open() -> None:
    result = compose(
        [("superior", Decimal(60)), ("members", Decimal(40))],
        {"superior": SourceValue(Fraction(88), "x")},
        four_levels(),
    )
    assert result.total is None and result.missing == ["members"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Fraction(725, 8), "90.63"),  # 90.625: half up, not half even
        (Fraction(685, 7), "97.86"),
        (Fraction(89995, 1000), "90.00"),
        (Fraction(899949, 10000), "89.99"),
        (Decimal("0.005"), "0.01"),
        (Decimal(15), "15.00"),
    ],
)
def test_one_rounding_rule_and_one_spelling(value: Fraction | Decimal, shown: str) -> None:
    assert score_text(value) == shown


def _split(draw: st.DrawFn, cents: int, parts: int) -> list[int]:
    """`cents` split into `parts` positive amounts."""
    cuts = sorted(
        draw(
            st.lists(
                st.integers(min_value=1, max_value=cents - 1),
                min_size=parts - 1,
                max_size=parts - 1,
                unique=True,
            )
        )
    )
    return [b - a for a, b in itertools.pairwise([0, *cuts, cents])]


@st.composite
def rich_sheets(draw: st.DrawFn) -> tuple[Standard, dict[str, Any], list[int], list[int]]:
    """A standard whose total need not be 100, some indicators refined into sub-items, several
    bonus and deduction items whose limits may add up beyond their caps; and a sheet scoring it.
    Returns the standard, the sheet, and the drawn cents of scores and of adjustments (signed)."""
    total = draw(st.sampled_from([60, 80, 100, 120, 150]))
    maxima = _split(draw, total * 100, draw(st.integers(min_value=2, max_value=6)))
    indicators, scores, drawn = [], [], []
    for n, cents in enumerate(maxima):
        refined = cents >= 3 and draw(st.booleans())
        subs = _split(draw, cents, draw(st.integers(min_value=2, max_value=3))) if refined else []
        indicators.append(
            Indicator(
                code=f"i{n}",
                name=f"指标{n}",
                max_points=Decimal(cents) * CENT,
                sub_items=[
                    SubItem(code=f"s{m}", name=f"子项{m}", max_points=Decimal(c) * CENT)
                    for m, c in enumerate(subs)
                ],
            )
        )
        if subs:
            parts = [draw(st.integers(min_value=0, max_value=c)) for c in subs]
            drawn += parts
            scores.append(
                {
                    "indicator": f"i{n}",
                    "sub_items": [
                        {"code": f"s{m}", "score": Decimal(p) * CENT} for m, p in enumerate(parts)
                    ],
                }
            )
        else:
            part = draw(st.integers(min_value=0, max_value=cents))
            drawn.append(part)
            scores.append({"indicator": f"i{n}", "score": Decimal(part) * CENT})
    adjustments, items, signed = [], [], []
    for kind, sign in (("bonus", 1), ("deduction", -1)):
        for m in range(draw(st.integers(min_value=0, max_value=3))):
            limit = draw(st.integers(min_value=1, max_value=500))
            items.append(
                Adjustment(
                    code=f"{kind}{m}", kind=kind, name=kind, max_points=Decimal(limit) * CENT
                )
            )
            points = draw(st.integers(min_value=0, max_value=limit))
            adjustments.append({"code": f"{kind}{m}", "points": Decimal(points) * CENT})
            signed.append(sign * points)
    standard = Standard(
        total_points=Decimal(total),
        bonus_cap=Decimal(draw(st.integers(min_value=0, max_value=800))) * CENT,
        deduction_cap=Decimal(draw(st.integers(min_value=0, max_value=800))) * CENT,
        indicators=indicators,
        adjustments=items,
    )
    return standard, {"scores": scores, "adjustments": adjustments}, drawn, signed


@settings(max_examples=300, deadline=None)
@given(rich_sheets())
def test_a_sheet_total_is_the_drawn_scores_summed_by_the_test(
    case: tuple[Standard, dict[str, Any], list[int], list[int]],
) -> None:
    standard, sheet, drawn, signed = case
    bonus = sum(p for p in signed if p > 0)
    deduction = -sum(p for p in signed if p < 0)
    if bonus > standard.bonus_cap * 100 or deduction > standard.deduction_cap * 100:
        with pytest.raises(ValidationFailed) as raised:
            check_sheet(standard, sheet)
        assert "adjustments" in raised.value.errors
        return
    totals = check_sheet(standard, sheet)
    assert totals.total == Decimal(max(0, sum(drawn) + bonus - deduction)) * CENT
    exact_total = Fraction(max(0, sum(drawn) + bonus - deduction), 100)
    assert normalized(totals.total, standard) == exact_total * 100 / Fraction(standard.total_points)
