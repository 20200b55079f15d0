"""Calendar dates and working days, where the campaign is run.

Timestamps are stored in UTC; every calendar date — today, deadlines, a notice's first and last
day, the day of a meeting — is the date in TIMEZONE (default Asia/Shanghai): at 23:30 UTC it is
already tomorrow in Beijing.

Working days follow the State Council's schedule: Monday to Friday, less the public holidays,
plus the weekend days worked in exchange (调休上班). A year's schedule comes from, in order:
1. HOLIDAYS and EXTRA_WORKDAYS (a county's own day off, a local correction);
2. the year as the 组织部 entered it from the State Council's notice (service.workdays: data,
   audited — a county need not wait for a package release);
3. the `chinesecalendar` package;
4. for a year none of these knows: the weekends alone — never a refusal. Such a date is an
   estimate: `working_days_after` says so, the decision records it, the answer, the notice and
   the metrics warn, and entering the year later corrects it (never shortening a period
   already published)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import chinese_calendar

BEIJING = ZoneInfo("Asia/Shanghai")

clock: Callable[[], float] = time.time  # tests set it to see the service at another moment
_zone: tzinfo = BEIJING
_holidays: frozenset[date] = frozenset()
_workdays: frozenset[date] = frozenset()

# The years the 组织部 entered: year -> (holidays, working weekend days). Read from the database
# by service.workdays.fresh in the session of whoever asks, again once it is a minute old
# (another process may have entered a year meanwhile).
Schedule = tuple[frozenset[date], frozenset[date]]
REFRESH_SECONDS = 60.0
_entered: dict[int, Schedule] = {}
_loaded_at = float("-inf")
guessed_years: set[int] = set()  # years counted on weekends alone since the process started


def stale() -> bool:
    return time.monotonic() - _loaded_at > REFRESH_SECONDS


def refresh(years: dict[int, Schedule]) -> None:
    """The entered years as just read."""
    global _entered, _loaded_at
    _entered, _loaded_at = years, time.monotonic()


def forget() -> None:
    """Nothing known of the entered years until they are read again (one was just entered)."""
    global _entered, _loaded_at
    _entered, _loaded_at = {}, float("-inf")


@contextmanager
def assuming(year: int, schedule: Schedule) -> Iterator[None]:
    """Count `year` by `schedule` for a moment (the transaction entering it, before it commits)."""
    before = _entered.get(year)
    _entered[year] = schedule
    try:
        yield
    finally:
        if before is None:
            _entered.pop(year, None)
        else:
            _entered[year] = before


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def source(year: int) -> str:
    """Where a year's schedule comes from: entered, package, or weekends (an estimate)."""
    if year in _entered:
        return "entered"
    return "package" if package_knows(year) else "weekends"


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


def _working(day: date) -> tuple[bool, bool]:
    """(is it a working day, is that an estimate — its year counted on weekends alone)."""
    if day in _workdays:
        return True, False
    if day in _holidays:
        return False, False
    entered = _entered.get(day.year)
    if entered is not None:
        holidays, weekend_workdays = entered
        if day in weekend_workdays:
            return True, False
        return day.weekday() < 5 and day not in holidays, False
    try:
        return bool(chinese_calendar.is_workday(day)), False
    except NotImplementedError:
        guessed_years.add(day.year)
        return day.weekday() < 5, True


def is_working_day(day: date) -> bool:
    return _working(day)[0]


def working_days_after(start: date, days: int) -> tuple[date, bool]:
    """The date `days` working days after `start` (start itself not counted), and whether it is
    an estimate (a year nobody entered and the package does not know: weekends only)."""
    current, added, estimated = start, 0, False
    while added < days:
        current += timedelta(days=1)
        working, guessed = _working(current)
        estimated |= guessed
        if working:
            added += 1
    return current, estimated


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself not counted)."""
    return working_days_after(start, days)[0]


def notice_ends(first_day: date, days: int) -> tuple[date, bool]:
    """The last day of a notice of `days` working days published on `first_day`, counting that
    day if it is a working day (公示 7 December, a Monday, for five days: to the 11th, not the
    14th), and whether that is an estimate."""
    return working_days_after(first_day - timedelta(days=1), days)
