"""Entering a year's holiday schedule (放假调休) from the State Council's notice, and what follows:
every 公示 whose end was estimated for that year (weekends only) gets its end corrected — later,
never earlier than the date already published."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service import calendar
from service.audit.operations import record
from service.campaigns.models import Campaign
from service.context import Actor
from service.errors import ValidationFailed
from service.gradings.models import Grading
from service.workdays.models import CalendarDay, CalendarYear
from service.workflows.states import UNDER_PUBLICITY


def entered(session: Session) -> dict[int, calendar.Schedule]:
    """Every entered year: its holidays and its working weekend days."""
    found: dict[int, tuple[set[date], set[date]]] = {
        year: (set(), set()) for year in session.scalars(select(CalendarYear.year))
    }
    for day, year, kind in session.execute(
        select(CalendarDay.day, CalendarDay.year, CalendarDay.kind)
    ):
        if year in found:
            found[year][0 if kind == "holiday" else 1].add(day)
    return {y: (frozenset(h), frozenset(w)) for y, (h, w) in found.items()}


def fresh(session: Session, *, now: bool = False) -> None:
    """The calendar counts by the years entered as this session sees them, read again when
    what this process knows is a minute old (`now`: at once)."""
    if now or calendar.stale():
        calendar.refresh(entered(session))


def schedule(session: Session, year: int) -> dict[str, Any]:
    """A year as the service counts it: where its schedule comes from, and its days."""
    fresh(session)
    entered = session.get(CalendarYear, year)
    days = session.scalars(
        select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)
    ).all()
    return {
        "year": year,
        "source": calendar.source(year),
        "notice": entered.notice if entered else None,
        "entered_by": entered.entered_by if entered else None,
        "entered_at": entered.entered_at if entered else None,
        "holidays": [{"date": d.day, "name": d.name} for d in days if d.kind == "holiday"],
        "workdays": [{"date": d.day, "name": d.name} for d in days if d.kind == "workday"],
    }


def _check(year: int, holidays: Sequence[Mapping[str, Any]], workdays: Sequence[Any]) -> None:
    errors: dict[str, list[str]] = {}
    seen: set[date] = set()
    for field, entries in (("holidays", holidays), ("workdays", workdays)):
        for n, entry in enumerate(entries):
            day: date = entry["date"]
            where = f"{field}.{n}.date"
            if day.year != year:
                errors[where] = [f"not in {year}"]
            elif day in seen:
                errors[where] = ["given twice"]
            elif field == "holidays" and day.weekday() >= 5:
                errors[where] = ["a weekend day is a day off already: list weekdays"]
            elif field == "workdays" and day.weekday() < 5:
                errors[where] = ["a weekday is a working day already: list the weekends worked"]
            seen.add(day)
    if errors:
        raise ValidationFailed("the schedule does not fit the year", errors=errors)


def enter(
    session: Session,
    actor: Actor,
    year: int,
    notice: str,
    holidays: Sequence[Mapping[str, Any]],
    workdays: Sequence[Mapping[str, Any]],
    root_id: int | None,
) -> list[int]:
    """The year's schedule, replacing what was entered before (audited, before → after); then
    every 公示 estimated over that year is corrected. Returns the gradings corrected."""
    _check(year, holidays, workdays)
    fresh(session, now=True)
    before = schedule(session, year)
    session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    existing = session.get(CalendarYear, year)
    if existing is None:
        session.add(CalendarYear(year=year, notice=notice, entered_by=actor.username))
    else:
        existing.notice, existing.entered_by = notice, actor.username
    for kind, entries in (("holiday", holidays), ("workday", workdays)):
        for entry in entries:
            session.add(
                CalendarDay(day=entry["date"], year=year, kind=kind, name=entry.get("name"))
            )
    session.flush()
    assumed = (
        frozenset(e["date"] for e in holidays),
        frozenset(e["date"] for e in workdays),
    )
    after = {**schedule(session, year), "source": "entered"}
    record(
        session,
        actor,
        "calendar.enter",
        "calendar_year",
        year,
        organization_id=root_id,
        before=_days(before) if before["source"] == "entered" else None,
        after=_days(after),
        reason=notice,
    )
    with calendar.assuming(year, assumed):  # this transaction's schedule, before it commits
        corrected = correct_estimates(session, actor, f"{year}年节假日安排已录入：{notice}")
    calendar.forget()  # the next question reads what was committed
    return corrected


def _days(shown: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "notice": shown["notice"],
        "holidays": [str(d["date"]) for d in shown["holidays"]],
        "workdays": [str(d["date"]) for d in shown["workdays"]],
    }


def correct_estimates(session: Session, actor: Actor, reason: str) -> list[int]:
    """Every 公示 whose end was an estimate, counted again by the calendar as it now stands;
    where that changes anything (the end, or that it is an estimate) the grading is corrected and
    audited — later, never earlier than the date already published. The worker runs it hourly
    too: a decision estimated by a process that had not yet read a year entered meanwhile."""
    corrected = []
    for grading in session.scalars(
        select(Grading)
        .where(
            Grading.publicity_ends_estimated.is_(True),
            Grading.state.in_(UNDER_PUBLICITY),  # a notice already closed keeps its dates
            Grading.publicity_starts_on.is_not(None),
            Grading.publicity_ends_on.is_not(None),
        )
        .order_by(Grading.id)
    ):
        assert grading.publicity_starts_on is not None and grading.publicity_ends_on is not None
        days = _publicity_days(session, grading)
        ends, still = calendar.notice_ends(grading.publicity_starts_on, days)
        new_end = max(ends, grading.publicity_ends_on)  # never shorter than what was published
        if new_end == grading.publicity_ends_on and still:
            continue  # nothing known yet that changes it
        before = {
            "publicity_ends_on": str(grading.publicity_ends_on),
            "estimated": True,
            "version": grading.version,
        }
        grading.publicity_ends_on, grading.publicity_ends_estimated = new_end, still
        session.flush()
        record(
            session,
            actor,
            "grading.reschedule",
            "grading",
            grading.id,
            organization_id=grading.organization_id,
            before=before,
            after={
                "publicity_ends_on": str(new_end),
                "estimated": still,
                "version": grading.version,
            },
            reason=reason,
        )
        corrected.append(grading.id)
    return corrected


def _publicity_days(session: Session, grading: Grading) -> int:
    from_campaign = session.scalar(
        select(Campaign.publicity_working_days).where(Campaign.id == grading.campaign_id)
    )
    return int(from_campaign or 5)
