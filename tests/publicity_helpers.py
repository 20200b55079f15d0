"""A grading in publicity (公示) for tests, its notice period running."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from service import calendar
from service.gradings.models import Grading
from tests.grading_helpers import walk


def in_publicity(db: Session, grading: Grading, *, over: bool = False) -> int:
    fresh = db.get_one(Grading, grading.id)
    walk(fresh, "publicity")
    fresh.level = "average"
    today = calendar.today()
    fresh.publicity_starts_on = today - timedelta(days=20 if over else 0)
    fresh.publicity_ends_on = today - timedelta(days=10) if over else today + timedelta(days=7)
    db.commit()
    return fresh.id
