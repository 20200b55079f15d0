"""Properties of scoring, with Hypothesis: sheet totals, levels at their bounds, the composite."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.errors import ValidationFailed
from service.scoring.composite import SourceValue, compose
from service.scoring.sheets import check_sheet
from service.standards.models import Adjustment, Indicator, Level, LevelScheme, Standard

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


@st.composite
def weighted_sources(draw: st.DrawFn) -> tuple[list[tuple[str, Decimal]], dict[str, SourceValue]]:
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
    values = {
        n: SourceValue(
            Decimal(draw(st.integers(min_value=0, max_value=1_000_000))) / 10_000, "drawn"
        )
        for n in names
    }
    return weights, values


@settings(max_examples=300, deadline=None)
@given(weighted_sources())
def test_weights_summing_to_100_keep_the_composite_within_bounds(
    case: tuple[list[tuple[str, Decimal]], dict[str, SourceValue]],
) -> None:
    weights, values = case
    result = compose(weights, values, four_levels())
    assert result.total is not None and result.unrounded is not None
    lowest = min(v.value for v in values.values())
    highest = max(v.value for v in values.values())
    assert lowest - CENT <= result.total <= highest + CENT
    assert result.total == result.unrounded.quantize(CENT, rounding=ROUND_HALF_UP)
    assert result.level is not None and result.level.lower_bound <= result.total


def test_rounding_is_half_up_once_on_the_weighted_sum() -> None:
    # 50% × 89.99 + 50% × 90.00 = 89.995 → 90.00 → 好 (rounded once, half up, as documented)
    result = compose(
        [("superior", Decimal(50)), ("self", Decimal(50))],
        {
            "superior": SourceValue(Decimal("89.99"), "x"),
            "self": SourceValue(Decimal("90.00"), "y"),
        },
        four_levels(),
    )
    assert result.unrounded == Decimal("89.995")
    assert result.total == Decimal("90.00")
    assert result.level is not None and result.level.label == "好"


def test_a_missing_source_leaves_the_composite_open() -> None:
    result = compose(
        [("superior", Decimal(60)), ("members", Decimal(40))],
        {"superior": SourceValue(Decimal(88), "x")},
        four_levels(),
    )
    assert result.total is None and result.missing == ["members"]
