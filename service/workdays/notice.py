"""Reading the State Council's notice (国务院办公厅关于YYYY年部分节假日安排的通知) as published:
one numbered line per holiday, e.g.

    二、春节：2月6日（农历除夕、周六）至14日（农历正月初八、周日）放假调休，共9天。2月20日（周六）上班。

A sentence with 放假 gives the days off (a range 至, or single days); one with 上班 the weekend
days worked. Parenthesised remarks (周六, 农历…) are dropped; a date without a month or a year
takes them from the date before it. Weekend days inside a holiday are off anyway and are not
listed; a date outside the notice's year is reported and left out (enter that year for it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

TITLE = re.compile(r"关于(\d{4})年部分节假日安排的通知")
ITEM = re.compile(r"^\s*[一二三四五六七八九十]+\s*[、.．]\s*(?P<name>[^：:]+)[：:](?P<rest>.+)$")
REMARK = re.compile(r"（[^）]*）|\([^)]*\)")
DAY = re.compile(r"(?:(\d{4})\s*年)?\s*(?:(\d{1,2})\s*月)?\s*(\d{1,2})\s*日")


class NoticeUnreadable(ValueError):
    """The text is not a holiday notice this reader understands (says which line)."""


@dataclass
class Notice:
    year: int
    title: str
    holidays: list[dict[str, object]] = field(default_factory=list)
    workdays: list[dict[str, object]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # dates outside the year


def _dates(sentence: str, year: int) -> list[date]:
    found: list[date] = []
    y, m = year, None
    for yy, mm, dd in DAY.findall(sentence):
        y = int(yy) if yy else y
        m = int(mm) if mm else m
        if m is None:
            raise NoticeUnreadable(f"a day without its month: {sentence}")
        try:
            found.append(date(y, m, int(dd)))
        except ValueError as exc:
            raise NoticeUnreadable(f"not a date ({exc}): {sentence}") from exc
    return found


def parse(text: str, year: int | None = None) -> Notice:
    title = TITLE.search(text)
    if title is None and year is None:
        raise NoticeUnreadable(
            "no title 关于YYYY年部分节假日安排的通知 to take the year from: give --year"
        )
    the_year = year if year is not None else int(title.group(1))  # type: ignore[union-attr]
    notice = Notice(
        the_year, f"国务院办公厅{title.group(0)}" if title else f"{the_year}年节假日安排"
    )
    items = 0
    for line in text.splitlines():
        item = ITEM.match(line)
        if item is None:
            continue
        items += 1
        name = item.group("name").strip()
        for sentence in REMARK.sub("", item.group("rest")).split("。"):
            days = _dates(sentence, the_year)
            if "放假" in sentence and days:
                if "至" in sentence and len(days) == 2:  # a range: every day from one to the other
                    span = [days[0] + timedelta(n) for n in range((days[1] - days[0]).days + 1)]
                else:
                    span = days
                for day in span:
                    if day.weekday() < 5:
                        _put(notice, notice.holidays, day, name)
            elif "上班" in sentence:
                for day in days:
                    _put(notice, notice.workdays, day, name)
    if items == 0:
        raise NoticeUnreadable("no numbered holiday lines (一、元旦：…) were found")
    return notice


def _put(notice: Notice, into: list[dict[str, object]], day: date, name: str) -> None:
    if day.year != notice.year:
        notice.left_out.append(f"{day.isoformat()} {name}")
        return
    if all(entry["date"] != day for entry in into):
        into.append({"date": day, "name": name[:40]})
