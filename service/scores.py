"""Scores are exact, never float. One rounding rule for the whole product:

    round half up (四舍五入) to 0.01, once, on the exact value

Values are computed exactly — Decimal where the inputs are decimals, Fraction where a division
does not terminate (an average of 7 ballots, a standard whose total is not 100) — and rounded
only when a score is shown or decided on: a level, a composite, satisfaction, a share. Inputs
with more than two decimal places are refused rather than rounded silently, and every score
leaves the service spelled with two decimals ("15.00").
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import Numeric

SCORE_PLACES = Decimal("0.01")
ScoreColumn = Numeric(7, 2, asdecimal=True)

Exact = Decimal | Fraction | int


def exact(value: Exact | str) -> Fraction:
    """The value as an exact fraction (a Decimal or its string converts without loss)."""
    if isinstance(value, str):
        value = Decimal(value)
    return Fraction(value)


def round_score(value: Exact) -> Decimal:
    """Half up to two places, exactly (a Fraction is never squeezed through a float)."""
    if isinstance(value, Decimal):
        return value.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)
    hundredths = Fraction(value) * 100
    magnitude = math.floor(abs(hundredths) + Fraction(1, 2))
    return (Decimal(magnitude if hundredths >= 0 else -magnitude) / 100).quantize(SCORE_PLACES)


def score_text(value: Exact) -> str:
    """The one spelling of a score: two decimals."""
    return str(round_score(value))


def exact_text(value: Fraction) -> str:
    """An exact value for a person checking by hand: the decimal if it terminates, else the
    decimal to 12 places followed by its fraction (e.g. '97.857142857143… (685/7)')."""
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den == 1:
        return str(Decimal(value.numerator) / Decimal(value.denominator))
    approx = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("1e-12"))
    return f"{approx}… ({value.numerator}/{value.denominator})"
