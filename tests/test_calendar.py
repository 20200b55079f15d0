"""Calendar dates are the campaign's (Asia/Shanghai), working days the State Council's — with
调休 — and a year nobody has entered yet never stops a 公示: its end is counted on weekends
alone, warned, and corrected (later, never earlier) once the 组织部 enters the year."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import calendar, migrate
from service.audit.models import AuditEvent
from service.campaigns.models import CampaignPhase
from service.config import Settings
from service.db import make_engine
from service.events.models import OutboxEvent
from service.events.worker import Worker
from service.gradings.models import Grading
from service.verification.state import diverged
from service.workdays import notice
from service.workdays import operations as workdays
from service.workdays.models import CalendarDay, CalendarYear
from tests.conftest import Api, assert_problem, cli_in_process
from tests.decision_helpers import approve, decide, propose, scored


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
    # five working days: 30 September, then 9, 10, 11 (the 调休 Saturday) and 13 October
    assert grading.publicity_ends_on == date(2025, 10, 13)
    assert grading.publicity_ends_estimated is False


def test_local_overrides_add_a_day_off_and_a_working_day() -> None:
    calendar.configure(frozenset({date(2026, 6, 1)}), frozenset({date(2026, 6, 6)}))
    try:
        assert not calendar.is_working_day(date(2026, 6, 1))  # a Monday the county gave off
        assert calendar.is_working_day(date(2026, 6, 6))  # a Saturday it works
    finally:
        calendar.configure()


def test_a_notice_counts_its_first_day_when_that_is_a_working_day() -> None:
    # published Monday 7 December 2026 for five working days: 7–11 December, not to the 14th
    assert calendar.notice_ends(date(2026, 12, 7), 5) == (date(2026, 12, 11), False)
    # published on a Saturday: the count starts on Monday
    assert calendar.notice_ends(date(2026, 12, 5), 5) == (date(2026, 12, 11), False)


# A 2027 schedule shaped like the State Council's notice, for these tests only (the dates are
# this file's, not necessarily the published ones): 元旦 Friday 1 January; 国庆 1–7 October with
# Saturday 9 October worked; and Saturday 9 January worked (to show a correction never
# shortens a notice).
SCHEDULE_2027 = {
    "notice": "国务院办公厅关于2027年部分节假日安排的通知（测试用）",
    "holidays": [
        {"date": "2027-01-01", "name": "元旦"},
        *({"date": f"2027-10-0{d}", "name": "国庆节"} for d in (1, 4, 5, 6, 7)),
    ],
    "workdays": [
        {"date": "2027-01-09", "name": "调休"},
        {"date": "2027-10-09", "name": "国庆节"},
    ],
}


def decided_on(api: Api, db: Session, moment: list[float], day: str, key: str) -> dict[str, Any]:
    """A grading decided at 10:00 Beijing time on `day`, as the API shows it then."""
    moment[0] = at(f"{day}T02:00:00")
    grading_id = scored(db, api, key, superior="70", members="70", own="70")
    propose(api, grading_id, "average")
    answer = approve(api, decide(api, grading_id))
    assert answer.status_code == 200, answer.get_json()
    body: dict[str, Any] = api.get(f"/api/v1/gradings/{grading_id}").get_json()
    return body


def test_a_year_nobody_entered_is_counted_on_weekends_warned_and_corrected_later(
    api: Api, db: Session, moment: list[float]
) -> None:
    assert calendar.source(2027) == "weekends"
    # Monday 28 December 2026: 28–31 December, then Friday 1 January 2027 (a holiday nobody
    # entered yet, counted as a working day)
    winter = decided_on(api, db, moment, "2026-12-28", "A1-01")
    assert winter["state"] == "publicity"
    assert (winter["publicity_ends_on"], winter["publicity_ends_estimated"]) == (
        "2027-01-01",
        True,
    )
    [warning] = winter["warnings"]
    assert (
        warning["code"] == "calendar_estimated"
        and "2027年节假日安排尚未录入" in warning["message_zh"]
    )
    # Thursday 30 September 2027: 30 September, 1, 4, 5, 6 October on weekends alone
    autumn = decided_on(api, db, moment, "2027-09-30", "A1-02")
    assert (autumn["publicity_ends_on"], autumn["publicity_ends_estimated"]) == (
        "2027-10-06",
        True,
    )
    # the notice and the metrics say so too
    campaign_id = api.world.campaigns["open"].id
    page = api.client.get(f"/notice/{campaign_id}").get_data(as_text=True)
    assert "（暂定）" in page and "暂按双休日推算" in page
    metrics = api.client.get("/metrics").get_data(as_text=True)
    assert "grading_publicity_ends_estimated 2.0" in metrics
    assert 'grading_calendar_year_known{year="2027"} 0.0' in metrics

    entered = api.put("/api/v1/calendar/2027", json=SCHEDULE_2027, who="root_admin")
    assert entered.status_code == 200, entered.get_json()
    body = entered.get_json()
    assert body["source"] == "entered" and body["entered_by"] == "root_admin"
    assert sorted(body["corrected"]) == sorted([winter["id"], autumn["id"]])

    db.expire_all()
    # 28–31 December and Monday 4 January; 30 September, 8, 9 (worked), 11 and 12 October
    fixed = {g: db.get_one(Grading, g) for g in (winter["id"], autumn["id"])}
    assert fixed[winter["id"]].publicity_ends_on == date(2027, 1, 4)
    assert fixed[autumn["id"]].publicity_ends_on == date(2027, 10, 12)
    assert not any(g.publicity_ends_estimated for g in fixed.values())
    # audited as a change with its version, told to portals, and the replayed state agrees
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "grading.reschedule", AuditEvent.entity_id == str(winter["id"])
        )
    ).one()
    assert event.before["publicity_ends_on"] == "2027-01-01"
    assert event.after == {
        "publicity_ends_on": "2027-01-04",
        "estimated": False,
        "version": winter["version"] + 1,
    }
    told = db.scalars(select(OutboxEvent).where(OutboxEvent.type == "publicity.rescheduled"))
    assert {e.data["grading_id"] for e in told} == {winter["id"], autumn["id"]}
    assert diverged(db) == []
    shown = api.get(f"/api/v1/gradings/{winter['id']}").get_json()
    assert shown["warnings"] == [] and shown["publicity_ends_on"] == "2027-01-04"
    assert "（暂定）" not in api.client.get(f"/notice/{campaign_id}").get_data(as_text=True)


def test_entering_a_year_never_shortens_a_notice_already_published(
    api: Api, db: Session, moment: list[float]
) -> None:
    # Friday 8 January 2027: 8, 11, 12, 13, 14 on weekends alone; with Saturday 9 January worked
    # the schedule would end it on the 13th — the 14th already published stands
    decided = decided_on(api, db, moment, "2027-01-08", "A1-01")
    assert decided["publicity_ends_on"] == "2027-01-14"
    assert api.put("/api/v1/calendar/2027", json=SCHEDULE_2027, who="root_admin").status_code == 200
    db.expire_all()
    grading = db.get_one(Grading, decided["id"])
    assert (grading.publicity_ends_on, grading.publicity_ends_estimated) == (
        date(2027, 1, 14),
        False,
    )


def test_the_worker_corrects_an_estimate_made_while_another_process_entered_the_year(
    api: Api, db: Session, moment: list[float], settings: Settings, session_factory: Any
) -> None:
    decided = decided_on(api, db, moment, "2026-12-28", "A1-01")
    assert decided["publicity_ends_estimated"]
    # entered by another process whose correction did not see this decision yet
    db.add(CalendarYear(year=2027, notice="通知", entered_by="root_admin"))
    db.add(CalendarDay(day=date(2027, 1, 1), year=2027, kind="holiday", name="元旦"))
    db.commit()
    assert Worker(settings, session_factory).reschedule() == [decided["id"]]
    db.expire_all()
    assert db.get_one(Grading, decided["id"]).publicity_ends_on == date(2027, 1, 4)
    assert Worker(settings, session_factory).reschedule() == []  # once


def test_only_an_admin_at_the_root_enters_a_year(api: Api) -> None:
    refused = api.put("/api/v1/calendar/2027", json=SCHEDULE_2027, who="admin")  # a county's
    assert_problem(refused, 403, "forbidden")
    assert api.get("/api/v1/calendar/2027", who="secretary").get_json()["source"] == "weekends"
    assert api.get("/api/v1/calendar/2026").get_json()["source"] == "package"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"holidays": [{"date": "2027-01-02"}]}, "holidays.0.date"),  # a Saturday
        ({"holidays": [{"date": "2026-12-31"}]}, "holidays.0.date"),  # another year
        ({"workdays": [{"date": "2027-01-04"}]}, "workdays.0.date"),  # a Monday
        (
            {"holidays": [{"date": "2027-01-01"}, {"date": "2027-01-01"}]},
            "holidays.1.date",
        ),
    ],
)
def test_a_schedule_that_does_not_fit_the_year_is_refused_whole(
    api: Api, db: Session, change: dict[str, Any], field: str
) -> None:
    refused = api.put("/api/v1/calendar/2027", json={**SCHEDULE_2027, **change}, who="root_admin")
    body = assert_problem(refused, 422, "validation-error")
    assert field in body["errors"]
    assert db.get(CalendarYear, 2027) is None  # nothing half-written


def test_a_year_out_of_range_or_a_bad_date_is_a_clear_4xx(api: Api) -> None:
    assert_problem(api.get("/api/v1/calendar/1999"), 404, "not-found")
    garbled = {**SCHEDULE_2027, "holidays": [{"date": "2027-02-30"}]}
    body = assert_problem(
        api.put("/api/v1/calendar/2027", json=garbled, who="root_admin"), 422, "validation-error"
    )
    assert "holidays" in body["errors"]


def test_entering_a_year_again_replaces_it_and_audits_before_and_after(
    api: Api, db: Session
) -> None:
    assert api.put("/api/v1/calendar/2027", json=SCHEDULE_2027, who="root_admin").status_code == 200
    again = {**SCHEDULE_2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}]}
    assert api.put("/api/v1/calendar/2027", json=again, who="root_admin").status_code == 200
    shown = api.get("/api/v1/calendar/2027").get_json()
    assert [d["date"] for d in shown["holidays"]] == ["2027-01-01"]
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "calendar.enter").order_by(AuditEvent.id)
    ).all()
    assert events[0].before is None and len(events[0].after["holidays"]) == 6
    assert len(events[1].before["holidays"]) == 6 and events[1].after["holidays"] == ["2027-01-01"]
    workdays.fresh(db, now=True)
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 10, 4))  # no longer a holiday


NOTICE_2026 = """国务院办公厅关于2026年部分节假日安排的通知
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
"""


def test_the_notice_as_published_reads_as_the_package_knows_the_year() -> None:
    read = notice.parse(NOTICE_2026)
    assert (read.year, read.title) == (2026, "国务院办公厅关于2026年部分节假日安排的通知")
    holidays = {e["date"] for e in read.holidays}
    worked = {e["date"] for e in read.workdays}
    day, differs = date(2026, 1, 1), []
    while day.year == 2026:
        counted = day in worked or (day.weekday() < 5 and day not in holidays)
        if counted != chinese_calendar.is_workday(day):
            differs.append(day)
        day += timedelta(days=1)
    assert differs == [] and len(holidays) == 19 and len(worked) == 6


def test_a_notice_day_in_another_year_is_left_out_and_said() -> None:
    text = (
        "国务院办公厅关于2019年部分节假日安排的通知\n"
        "一、元旦：2018年12月30日至2019年1月1日放假调休，共3天。2018年12月29日（星期六）上班。\n"
    )
    read = notice.parse(text)
    assert [e["date"] for e in read.holidays] == [date(2019, 1, 1)]
    assert read.workdays == []
    assert read.left_out == ["2018-12-31 元旦", "2018-12-29 元旦"]


def test_text_that_is_no_holiday_notice_is_refused_with_the_reason() -> None:
    with pytest.raises(notice.NoticeUnreadable, match="no title"):
        notice.parse("hello")
    with pytest.raises(notice.NoticeUnreadable, match="no numbered holiday lines"):
        notice.parse("关于2027年部分节假日安排的通知\n放假")


NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知（测试用）
一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、国庆节：10月1日（周五）至7日（周四）放假调休，共7天。10月9日（周六）上班。
"""


def test_the_import_command_enters_the_notice_and_a_dry_run_writes_nothing(
    tmp_path: Path, fresh_database_url: Any
) -> None:
    url = fresh_database_url("calendar_import")
    migrate.upgrade(url)
    file = tmp_path / "2027.txt"
    file.write_text(NOTICE_2027, encoding="utf-8")
    dry = cli_in_process(url, "calendar", "import", str(file), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "2027 holidays (6): 2027-01-01 元旦, 2027-10-01 国庆节" in dry.output
    assert "2027 workdays (1): 2027-10-09 国庆节" in dry.output
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.get(CalendarYear, 2027) is None
    entered = cli_in_process(url, "calendar", "import", str(file))
    assert entered.exit_code == 0, entered.output
    assert "entered 2027: 国务院办公厅关于2027年部分节假日安排的通知" in entered.output
    with Session(engine) as session:
        assert workdays.entered(session)[2027][1] == frozenset({date(2027, 10, 9)})
        assert session.scalars(
            select(AuditEvent.actor_username).where(AuditEvent.action == "calendar.enter")
        ).all() == ["cli"]
    engine.dispose()


def test_the_import_command_names_what_is_wrong_in_one_line(
    tmp_path: Path, fresh_database_url: Any
) -> None:
    saturday = tmp_path / "bad.json"
    saturday.write_text(
        json.dumps({"year": 2027, "notice": "通知全文", "holidays": [{"date": "2027-01-02"}]}),
        encoding="utf-8",
    )
    url = fresh_database_url("calendar_refused")
    migrate.upgrade(url)
    refused = cli_in_process(url, "calendar", "import", str(saturday))
    assert refused.exit_code == 1
    assert "a weekend day is a day off already" in refused.output
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a notice", encoding="utf-8")
    unread = cli_in_process(url, "calendar", "import", str(garbage))
    assert unread.exit_code == 1 and "no title" in unread.output
