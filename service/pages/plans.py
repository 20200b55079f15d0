"""整改方案向党员群众公开: an organization's approved rectification plan as a public page —
its problems, measures, targets, deadlines, who answers for each and how far it has come —
and, per campaign, the organizations whose plans are public."""

from __future__ import annotations

from flask import request
from sqlalchemy import select
from werkzeug.wrappers import Response

from service import calendar
from service.campaigns.models import Campaign
from service.errors import NotFound
from service.gradings import records
from service.gradings.models import Grading, RecordVersion
from service.organizations.models import Organization
from service.pages.web import known_id, page, unit_of_work, web
from service.rectification import operations as rectification
from service.survey.classification import TERMS

ITEM_STATUS = {"open": "未开始", "in_progress": "整改中", "submitted": "待销号", "closed": "已销号"}


@web.get("/plans")
def plans() -> Response:
    """The organizations of a campaign whose plans are approved (and so public)."""
    raw = request.args.get("campaign", "")
    with unit_of_work() as db:
        campaign = db.get(Campaign, known_id(raw, "campaign")) if raw else None
        if campaign is None:
            raise NotFound("no such campaign")
        approved = (
            select(RecordVersion.grading_id)
            .where(
                RecordVersion.record_type == "rectification_plan",
                RecordVersion.record_key == "main",
            )
            .distinct()
        )
        listed = db.execute(
            select(Grading.id, Organization.name)
            .join(Organization, Organization.id == Grading.organization_id)
            .where(Grading.campaign_id == campaign.id, Grading.id.in_(approved))
            .order_by(Organization.path)
        ).all()
    return page("plans.html", heading=f"{campaign.name} 整改方案公开", listed=listed)


@web.get("/plans/<int:grading_id>")
def plan(grading_id: int) -> Response:
    with unit_of_work() as db:
        grading = db.get(Grading, known_id(grading_id, "grading"))
        approved = (
            records.current(db, grading.id, "rectification_plan", "main") if grading else None
        )
        if grading is None or approved is None:
            raise NotFound("no approved rectification plan")  # a plan is public once approved
        org = db.get_one(Organization, grading.organization_id)
        helpers = records.current(db, grading.id, "rectification_helpers", "main")
        items = rectification.ledger(db, [grading], calendar.today(), False)
        closed = sum(1 for i in items if i["status"] == "closed")
    return page(
        "plan.html",
        heading=f"{org.name}整改方案",
        org=org,
        helpers=helpers.data if helpers else {},
        items=items,
        closed=closed,
        statuses=ITEM_STATUS,
        terms=TERMS,
        approved_on=calendar.local_date(approved.created_at),
    )
