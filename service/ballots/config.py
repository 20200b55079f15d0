"""A campaign's ballot configuration, with the defaults the seed documents suggest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from service.standards.models import LevelScheme

DEFAULT_CATEGORIES = [
    {"code": "members", "label": "党员", "source": "members"},
    {"code": "public_reps", "label": "群众代表", "source": "public"},
    {"code": "deputies", "label": "两代表一委员", "source": "public"},
    {"code": "service_users", "label": "服务对象", "source": "service_recipients"},
]
# Points of a level choice by its position in the scheme (best first): 好 100, 较好 85, 一般 70,
# 较差 50 for the four-level scheme, as in the seed documents' examples.
POINTS_BY_POSITION = ["100", "85", "70", "50", "30", "10"]
DEFAULT_QUORUM = "0.6666"  # returned ≥ 2/3 of issued (6 of 9 counts)
UNKNOWN = "unknown"  # 不了解: excluded from the points


def ballot_config(campaign_config: dict[str, Any] | None, scheme: LevelScheme) -> dict[str, Any]:
    config = dict(campaign_config or {})
    config.setdefault("categories", DEFAULT_CATEGORIES)
    config.setdefault(
        "choice_points",
        {
            lv.code: POINTS_BY_POSITION[min(n, len(POINTS_BY_POSITION) - 1)]
            for n, lv in enumerate(scheme.levels)
        },
    )
    config.setdefault("allow_unknown", True)
    config.setdefault("quorum", DEFAULT_QUORUM)
    return config


def choice_points(config: dict[str, Any]) -> dict[str, Decimal]:
    return {code: Decimal(str(points)) for code, points in config["choice_points"].items()}
