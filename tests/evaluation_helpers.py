"""Evaluation sheets in tests: an entry per indicator, the sheet of seven, their addresses."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.world import SEVEN


def entry(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "method": "questionnaire",
        "date": "2026-03-20",
        "counts": {"questionnaires_issued": 40, "questionnaires_returned": 37},
        "problems": ["三会一课记录不全", "活动阵地设施老化"],
        "suggestions": ["增加党员活动日"],
    }
    body.update(overrides)
    return body


def sheet(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scores": [
            {"indicator": code, "score": str(points - 1), "evidence": f"{name}材料"}
            for code, name, points in SEVEN
        ],
        "adjustments": [{"code": "honours", "points": "2"}],
        "proposed_level": "fairly_good",
        "explanation": "对照标准逐项自查",
    }
    body.update(overrides)
    return body


def url(api: Api, tail: str, key: str = "A1-01") -> str:
    return f"/api/v1/gradings/{api.world.gradings[key].id}/{tail}"
