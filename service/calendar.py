"""Calendar dates and working days, where the campaign is run.

Timestamps are stored in UTC; every calendar date — today, deadlines, a notice's first and last
day, the day of a meeting — is the date in TIMEZONE (default Asia/Shanghai): at 23:30 UTC it is
already tomorrow in Beijing.

Working days follow the State Council's schedule as the `chinesecalendar` package knows it:
Monday to Friday, less the public holidays, plus the weekend days worked in exchange (调休上班).
HOLIDAYS and EXTRA_WORKDAYS override it locally (a county's own day off; a correction before
the package catches up). A date in a year the package does not know is refused with
`CalendarUnknown`, never guessed."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import chinese_calendar

from service.errors import CalendarUnknown

BEIJING = ZoneInfo("Asia/Shanghai")

clock: Callable[[], float] = time.time  # tests set it to see the service at another moment
_zone: tzinfo = BEIJING
_holidays: frozenset[date] = frozenset()
_workdays: frozenset[date] = frozenset()


def configure(
    holidays: frozenset[date] = frozenset(),
    extra_workdays: frozenset[date] = frozenset(),
    zone: str = "Asia/Shanghai",
) -> None:
    global _holidays, _workdays, _zone
    _holidays, _workdays, _zone = holidays, extra_workdays, ZoneInfo(zone)


def zone() -> tzinfo:
    return _zone


def now() -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def today() -> date:
    """Today's date where the campaign is run (worked out once per second of the clock)."""
    global _today
    second = int(clock() // 1)
    known = _today
    if known[0] == second and known[1] is _zone:
        return known[2]
    day = datetime.fromtimestamp(second, UTC).astimezone(_zone).date()
    _today = (second, _zone, day)
    return day


_today: tuple[int, tzinfo | None, date] = (0, None, date.min)  # (second, zone, its date)


def local_date(moment: datetime | None) -> date | None:
    """The local calendar date of a stored (UTC) moment."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(_zone).date()


def is_working_day(day: date) -> bool:
    if day in _workdays:
        return True
    if day in _holidays:
        return False
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarUnknown(
            f"the working-day calendar does not know {day.year} yet ({exc}); upgrade the "
            "chinesecalendar package once the State Council publishes that year's holidays"
        ) from exc


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself not counted)."""
    current, added = start, 0
    while added < days:
        current += timedelta(days=1)
        if is_working_day(current):
            added += 1
    return current
