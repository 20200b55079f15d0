"""Scores are Decimal, never float. One rounding rule for the whole product:

    quantize to 0.01 with ROUND_HALF_UP (四舍五入 to two decimal places)

applied whenever a score is stored or a computed score is shown. Inputs with more than two
decimal places are refused rather than rounded silently.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Numeric

SCORE_PLACES = Decimal("0.01")
ScoreColumn = Numeric(7, 2, asdecimal=True)


def round_score(value: Decimal) -> Decimal:
    return value.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)
