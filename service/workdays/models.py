"""The State Council's holiday schedule (放假调休) of a year as the 组织部 entered it: data, not a
package release. A year entered here overrides the `chinesecalendar` package for that year."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class CalendarYear(Base):
    """A year whose schedule was entered: from which notice, by whom, when."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    notice: Mapped[str] = mapped_column(Text)  # e.g. 国务院办公厅关于2027年部分节假日安排的通知
    entered_by: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CalendarDay(Base):
    """One day of an entered year that is not what its weekday says: a holiday (休) on a
    weekday, or a working day (班, 调休上班) on a weekend."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday
    name: Mapped[str | None] = mapped_column(String(40))  # 春节, 国庆节 …

    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)
