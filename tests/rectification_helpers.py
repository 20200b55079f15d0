"""Rectification in tests: a grading rectifying, its items, their addresses."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.gradings.models import Grading
from tests.grading_helpers import walk


def rectifying(db: Session, grading: Grading, level: str = "poor") -> int:
    fresh = db.get_one(Grading, grading.id)
    walk(fresh, "rectification")
    fresh.level = level
    db.commit()
    return fresh.id


def item(**overrides: Any) -> dict[str, Any]:
    body = {
        "problem": "三会一课不规范",
        "cause": "支部书记重视不够",
        "measure": "每月固定主题党日",
        "target": "全年召开支部党员大会不少于4次",
        "deadline": "2026-06-30",
        "responsible": "王建国",
    }
    body.update(overrides)
    return body


def url(grading_id: int, tail: str = "") -> str:
    return f"/api/v1/gradings/{grading_id}/rectification{tail}"
