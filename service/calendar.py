"""Working days: Monday to Friday, less the configured holidays (HOLIDAYS, e.g. 清明, 五一)."""

from __future__ import annotations

from datetime import date, timedelta

_holidays: frozenset[date] = frozenset()


def configure(holidays: frozenset[date]) -> None:
    global _holidays
    _holidays = holidays


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself not counted)."""
    current, added = start, 0
    while added < days:
        current += timedelta(days=1)
        if is_working_day(current):
            added += 1
    return current
