"""The working-day calendar as data: a year's holidays and 调休 as the 组织部 entered them from
the State Council's notice (service.workdays), and where each year's schedule comes from."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.api.blueprint import api
from service.api.routes.audit import root_admin
from service.api.routing import Ctx, operation
from service.errors import NotFound
from service.workdays import operations as workdays

TAG = "calendar"
YEARS = range(2000, 2101)


class DayIn(Schema):
    date = fields.Date(required=True)
    name = fields.String(
        load_default=None, validate=validate.Length(max=40), metadata={"example": "春节"}
    )


class DayOut(Schema):
    date = fields.Date(required=True)
    name = fields.String(allow_none=True, required=True)


class CalendarIn(Schema):
    notice = fields.String(
        required=True,
        validate=validate.Length(min=4, max=300),
        metadata={
            "description": "the notice the schedule is taken from",
            "example": "国务院办公厅关于2027年部分节假日安排的通知",
        },
    )
    holidays = fields.List(
        fields.Nested(DayIn),
        required=True,
        validate=validate.Length(max=60),
        metadata={"description": "the weekdays off (休); weekends are off already"},
    )
    workdays = fields.List(
        fields.Nested(DayIn),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "the weekend days worked in exchange (调休上班)"},
    )


class CalendarOut(Schema):
    year = fields.Integer(required=True)
    source = fields.String(
        required=True,
        validate=validate.OneOf(["entered", "package", "weekends"]),
        metadata={
            "description": "entered: as the 组织部 entered it; package: the chinesecalendar "
            "package; weekends: nobody knows the year yet — dates in it are estimates counted "
            "on weekends alone, corrected when the year is entered"
        },
    )
    notice = fields.String(allow_none=True, required=True)
    entered_by = fields.String(allow_none=True, required=True)
    entered_at = fields.DateTime(allow_none=True, required=True)
    holidays = fields.List(fields.Nested(DayOut), required=True)
    workdays = fields.List(fields.Nested(DayOut), required=True)
    corrected = fields.List(
        fields.Integer(),
        metadata={"description": "the gradings whose estimated 公示 end was corrected"},
    )


def _year(year: int) -> int:
    if year not in YEARS:
        raise NotFound(f"the calendar covers the years {YEARS[0]} to {YEARS[-1]}, not {year}")
    return year


@operation(
    api,
    "GET",
    "/calendar/<int:year>",
    summary="A year's working-day calendar: where it comes from and its holidays and 调休",
    tag=TAG,
    responses={200: CalendarOut},
    errors=(404,),
    description="Any signed-in caller. `source` says whether the year was entered, comes from "
    "the chinesecalendar package (its days are then not listed here), or is unknown — then "
    "every 公示 end in it is an estimate counted on weekends alone.",
)
def get_calendar(ctx: Ctx, year: int) -> Any:
    return workdays.schedule(ctx.session, _year(year))


@operation(
    api,
    "PUT",
    "/calendar/<int:year>",
    summary="Enter a year's holidays and 调休 from the State Council's notice (an admin at the "
    "root)",
    tag=TAG,
    body=CalendarIn,
    responses={200: CalendarOut},
    errors=(403, 404, 422),
    description="Replaces what was entered for the year (audited as `calendar.enter`, before → "
    "after) and overrides the package for it. Every 公示 whose end was estimated over the year "
    "is corrected at once (`grading.reschedule`): later if the holidays lengthen it, never "
    "earlier than the date already published. Also `python -m service calendar import FILE`.",
)
def put_calendar(ctx: Ctx, year: int) -> Any:
    root = root_admin(ctx, "entering the holiday calendar")
    body = ctx.body
    corrected = workdays.enter(
        ctx.session,
        ctx.actor,
        _year(year),
        body["notice"],
        body["holidays"],
        body["workdays"],
        root,
    )
    return {**workdays.schedule(ctx.session, year), "source": "entered", "corrected": corrected}
