"""公示 for people: the notice of a campaign's area (to read on a phone and to print for the
notice board), the complaint form, and the page that shows a complaint's reply."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import segno
from flask import redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from service import calendar
from service.api.routing import public_base
from service.api.throttle import throttle_complaints
from service.calendar import local_date
from service.campaigns.models import Campaign
from service.errors import NotFound, NotInPublicity, TooManyRequests
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.pages.web import known_id, page, settings, unit_of_work, web
from service.publicity import operations as ops
from service.publicity.models import Complaint
from service.standards.models import LevelScheme
from service.workflows.states import UNDER_PUBLICITY, CampaignStatus

TEXT_MAX, CONTACT_MAX = 2000, 200
FORM_MAX_AGE = 24 * 3600  # a complaint form is filled in within a day


@web.get("/notice", strict_slashes=False)
def notices() -> Response:
    with unit_of_work() as db:
        campaigns = db.scalars(
            select(Campaign)
            .where(Campaign.status != CampaignStatus.DRAFT)
            .order_by(Campaign.year.desc(), Campaign.id)
        ).all()
    return page("notices.html", heading="公示", campaigns=campaigns)


# A printed notice is one area's; past this many rows the page asks for an area instead.
NOTICE_PAGE_ROWS = 1000


@web.get("/notice/<int:campaign_id>")
def notice(campaign_id: int) -> Response:
    raw_area = request.args.get("area", "")
    area_id = known_id(raw_area, "area") if raw_area else None
    with unit_of_work() as db:
        campaign, committee, area = ops.notice_scope(db, known_id(campaign_id, "campaign"), area_id)
        rows = ops.notice(db, campaign, area, limit=NOTICE_PAGE_ROWS + 1)
        items = [item for _, item in rows[:NOTICE_PAGE_ROWS]]
        areas = db.scalars(
            select(Organization)
            .where(
                Organization.parent_id == committee.id,
                Organization.kind == "committee",
            )
            .order_by(Organization.path)
        ).all()
    periods = sorted(
        {(i["publicity_starts_on"], i["publicity_ends_on"]) for i in items},
        key=lambda period: tuple(day or date.max for day in period),  # a date not set: last
    )
    published = min((start for start, _ in periods if start), default=calendar.today())
    notice_url = public_base() + request.full_path.rstrip("?")
    # the printed notice on a village's board: a phone scans its way to this page
    qr = segno.make(notice_url, error="m").svg_inline(
        scale=3, omitsize=True, title="扫码查看公示、提出意见"
    )
    return page(
        "notice.html",
        heading=f"{committee.name}关于{campaign.name}结果的公示",
        campaign=campaign,
        committee=committee,
        area=area,
        areas=areas,
        items=items,
        truncated=len(rows) > NOTICE_PAGE_ROWS,
        periods=periods,
        estimated=any(i["publicity_ends_estimated"] for i in items),
        published=published,
        today=calendar.today(),
        notice_url=notice_url,
        notice_qr=Markup(qr),
        contact=area.notice_contact or committee.notice_contact,
    )


def _forms() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings().secret_key, salt="complaint-form")


def _grading_under_publicity(db: Any, raw: str) -> tuple[Grading, Organization, str]:
    grading = db.get(Grading, known_id(raw, "grading"))
    if grading is None:
        raise NotFound("no such grading")
    if grading.state not in UNDER_PUBLICITY:
        raise NotInPublicity("this grading is not under publicity")
    org = db.get_one(Organization, grading.organization_id)
    campaign = db.get_one(Campaign, grading.campaign_id)
    scheme = db.get_one(LevelScheme, campaign.level_scheme_id)
    label = next((lv.label for lv in scheme.levels if lv.code == grading.level), "")
    return grading, org, label


@web.get("/complaints/new")
def complaint_form() -> Response:
    with unit_of_work() as db:
        grading, org, label = _grading_under_publicity(db, request.args.get("grading", ""))
        return _complaint_page(grading, org, label, _forms().dumps(secrets.token_urlsafe(16)))


def _complaint_page(
    grading: Grading,
    org: Organization,
    label: str,
    token: str,
    errors: dict[str, str] | None = None,
    text: str = "",
    contact: str = "",
    status: int | None = None,
) -> Response:
    return page(
        "complaint_form.html",
        status or (422 if errors else 200),
        private=True,
        heading="对公示结果提出意见",
        grading=grading,
        org=org,
        level_label=label,
        token=token,
        errors=errors or {},
        text=text,
        contact=contact,
        text_max=TEXT_MAX,
        contact_max=CONTACT_MAX,
        limit=settings().complaint_page_limit,
        window_minutes=settings().complaint_window_seconds // 60,
    )


@web.post("/complaints")
def file_complaint() -> Response:
    form = request.form
    text, contact = form.get("text", "").strip(), form.get("contact", "").strip()
    with unit_of_work() as db:
        grading, org, label = _grading_under_publicity(db, form.get("grading", ""))
        try:
            nonce = _forms().loads(form.get("token", ""), max_age=FORM_MAX_AGE)
        except BadSignature:
            return page(
                "explain.html",
                400,
                private=True,
                heading="表单已过期",
                text="这个表单打开太久了，请重新打开后填写。",
                kind="expired",
            )
        errors = {}
        if not text:
            errors["text"] = "请写下您的意见。"
        elif len(text) > TEXT_MAX:
            errors["text"] = f"意见最多 {TEXT_MAX} 字，现在是 {len(text)} 字。"
        if len(contact) > CONTACT_MAX:
            errors["contact"] = f"联系方式最多 {CONTACT_MAX} 字。"
        if errors:
            return _complaint_page(grading, org, label, form["token"], errors, text, contact)
        code = ops.tracking_code_for(settings().secret_key, nonce)
        if db.scalar(select(Complaint.id).where(Complaint.tracking_code == code)):
            return redirect(url_for("web.complaint_status", code=code), 303)  # sent twice
        db.commit()  # only reads so far: the attempt is counted in a transaction of its own
        try:
            throttle_complaints(page=True)
        except TooManyRequests as limited:
            # the form again, with what was typed: the same form files it once the hour is over
            wait = -(-int(limited.extra["retry_after"]) // 60)
            reply = _complaint_page(
                grading,
                org,
                label,
                form["token"],
                {
                    "limit": f"这个网络提交的意见太多了，请约 {wait} 分钟后再点“提交意见”。"
                    "您写的内容还在下面，不用重写。"
                },
                text,
                contact,
                429,
            )
            reply.headers["Retry-After"] = str(limited.extra["retry_after"])
            return reply
        try:
            with db.begin_nested():
                ops.file_complaint(db, grading.id, text, contact or None, tracking_code=code)
        except IntegrityError:  # the same form, sent twice at once: the other one filed it
            pass
    return redirect(url_for("web.complaint_status", code=code), 303)


@web.get("/complaints/track")
def track_complaint() -> Response:
    typed = request.args.get("code")
    if typed is None:
        return page("complaint_track.html", heading="查询意见的答复")
    return redirect(url_for("web.complaint_status", code=ops.normalize_tracking_code(typed[:40])))


@web.get("/complaints/<code>")
def complaint_status(code: str) -> Response:
    with unit_of_work() as db:
        complaint = ops.find_by_code(db, code)
        grading = db.get_one(Grading, complaint.grading_id)
        org = db.get_one(Organization, grading.organization_id)
        return page(
            "complaint_status.html",
            private=True,
            heading="意见的办理情况",
            complaint=complaint,
            org=org,
            received_on=local_date(complaint.received_at),
            answered_on=local_date(complaint.answered_at),
        )


@web.app_template_filter("grouped")
def grouped(code: str) -> str:
    """A tracking code in groups of four, easier to copy: ABCD-EFGH-JKMN."""
    return "-".join(code[n : n + 4] for n in range(0, len(code), 4))
