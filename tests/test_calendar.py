"""Calendar dates are the campaign's (Asia/Shanghai), working days the State Council's — with
调休 — and a year the calendar does not know is refused, not guessed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from service import calendar
from service.campaigns.models import CampaignPhase
from service.errors import CalendarUnknown
from service.gradings.models import Grading
from tests.conftest import Api, assert_problem
from tests.test_decisions import approve, decide, propose, scored


@pytest.fixture
def moment() -> Iterator[list[float]]:
    """Set the service's clock: moment[0] = a Unix time."""
    held = [0.0]
    calendar.clock = lambda: held[0]
    yield held
    calendar.clock = __import__("time").time


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_at_2330_utc_it_is_already_tomorrow_in_beijing(moment: list[float]) -> None:
    moment[0] = at("2026-05-03T23:30:00")
    assert calendar.today() == date(2026, 5, 4)
    moment[0] = at("2026-05-03T15:59:00")
    assert calendar.today() == date(2026, 5, 3)


def test_days_left_count_from_the_date_in_beijing(
    api: Api, db: Session, moment: list[float]
) -> None:
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    db.execute(
        update(CampaignPhase)
        .where(CampaignPhase.campaign_id == grading.campaign_id, CampaignPhase.phase == "survey")
        .values(due_on=date(2026, 5, 10))
    )
    db.commit()
    moment[0] = at("2026-05-03T23:30:00")  # 07:30 on 4 May in Beijing
    shown = api.get(f"/api/v1/gradings/{grading.id}").get_json()
    assert shown["state"] == "survey" and shown["deadline"] == "2026-05-10"
    assert shown["days_left"] == 6  # from 4 May; the UTC date would say 7


def test_the_national_day_holiday_and_its_make_up_saturday_are_counted(
    api: Api, db: Session, moment: list[float]
) -> None:
    # 2025: 1–8 October off; Sunday 28 September and Saturday 11 October worked (调休)
    assert not calendar.is_working_day(date(2025, 10, 6))
    assert calendar.is_working_day(date(2025, 10, 11)) and calendar.is_working_day(
        date(2025, 9, 28)
    )
    moment[0] = at("2025-09-30T02:00:00")  # 10:00 on 30 September in Beijing
    grading_id = scored(db, api, "A1-01", superior="70", members="70", own="70")
    propose(api, grading_id, "average")
    assert approve(api, decide(api, grading_id)).status_code == 200
    db.expire_all()
    grading = db.get_one(Grading, grading_id)
    assert grading.publicity_starts_on == date(2025, 9, 30)
    # five working days: 9, 10, 11 (the 调休 Saturday), 13, 14 October
    assert grading.publicity_ends_on == date(2025, 10, 14)


def test_local_overrides_add_a_day_off_and_a_working_day() -> None:
    calendar.configure(frozenset({date(2026, 6, 1)}), frozenset({date(2026, 6, 6)}))
    try:
        assert not calendar.is_working_day(date(2026, 6, 1))  # a Monday the county gave off
        assert calendar.is_working_day(date(2026, 6, 6))  # a Saturday it works
    finally:
        calendar.configure()


def test_a_year_the_calendar_does_not_know_is_refused_not_guessed(
    api: Api, db: Session, moment: list[float]
) -> None:
    with pytest.raises(CalendarUnknown, match="does not know 2099"):
        calendar.add_working_days(date(2099, 3, 2), 5)
    moment[0] = at("2099-03-02T02:00:00")
    grading_id = scored(db, api, "A1-01", superior="70", members="70", own="70")
    propose(api, grading_id, "average")
    refused = approve(api, decide(api, grading_id))
    assert_problem(refused, 503, "calendar-unknown")
    db.expire_all()
    assert db.get_one(Grading, grading_id).state == "superior_review"  # nothing half-written
