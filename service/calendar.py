"""Working days: Monday to Friday, less the configured holidays (HOLIDAYS, e.g. 清明, 五一);
and the date in Beijing, where every campaign is run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))  # no daylight saving in China


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


def beijing_date(moment: datetime | None) -> date | None:
    """The Beijing calendar date of a stored (UTC) moment."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(BEIJING).date()


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
