"""公示 and complaints: the public notice, filing, investigating and answering complaints."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts.access import Principal
from service.audit.operations import record
from service.campaigns.models import Campaign
from service.context import Actor
from service.db import utcnow
from service.errors import NotFound, NotInPublicity, ValidationFailed
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.organizations.operations import domain_codes
from service.publicity.models import Complaint
from service.publicity.workflow import COMPLAINT_WORKFLOW
from service.standards.models import LevelScheme
from service.workflows.states import UNDER_PUBLICITY, ComplaintState

TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def notice_scope(
    session: Session, campaign_id: int, area_id: int | None
) -> tuple[Campaign, Organization, Organization]:
    """The campaign, its committee (who publishes the notice) and the area noticed: the
    committee's own subtree unless an area inside it is asked for."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} was not found")
    committee = session.get_one(Organization, campaign.organization_id)
    if area_id is None:
        return campaign, committee, committee
    area = session.get(Organization, area_id)
    if area is None or not area.path.startswith(committee.path):
        raise NotFound("no such area in this campaign", errors={"area": ["not found"]})
    return campaign, committee, area


def _noticed(query: Any, campaign: Campaign, area: Organization) -> Any:
    return query.join(Organization, Organization.id == Grading.organization_id).where(
        Grading.campaign_id == campaign.id,
        Grading.state.in_(UNDER_PUBLICITY),
        Organization.path.startswith(area.path, autoescape=True),
    )


def notice_size(session: Session, campaign: Campaign, area: Organization) -> int:
    """How many organizations of the area are under publicity."""
    return int(session.scalar(_noticed(select(func.count(Grading.id)), campaign, area)) or 0)


def notice(
    session: Session,
    campaign: Campaign,
    area: Organization,
    *,
    after_path: str = "",
    limit: int | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """The organizations of an area under publicity, with their levels and the period, in tree
    order, each with its organization's path (the keyset of the next page: `after_path`)."""
    scheme = session.get_one(LevelScheme, campaign.level_scheme_id)
    labels = {lv.code: lv.label for lv in scheme.levels}
    domains = domain_codes(session)
    rows = session.execute(
        _noticed(select(Grading, Organization), campaign, area)
        .where(Organization.path > after_path)
        .order_by(Organization.path)
        .limit(limit)
    ).all()
    return [
        (
            o.path,
            {
                "grading_id": g.id,
                "organization": o.name,
                "domain": o.domain,
                "domain_label": domains.get(o.domain or ""),
                "level": g.level,
                "level_label": labels.get(g.level or ""),
                "publicity_starts_on": g.publicity_starts_on,
                "publicity_ends_on": g.publicity_ends_on,
                "publicity_ends_estimated": g.publicity_ends_estimated,
            },
        )
        for g, o in rows
    ]


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(12))


def tracking_code_for(secret: str, nonce: str) -> str:
    """The tracking code of the complaint filed from the form that carried `nonce`: the same
    form sent twice files one complaint (the code is unique), and without the secret the code
    cannot be told from the form."""
    digest = hmac.new(secret.encode(), f"complaint:{nonce}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:10], "big")
    chars = []
    for _ in range(12):
        number, rest = divmod(number, len(TRACKING_ALPHABET))
        chars.append(TRACKING_ALPHABET[rest])
    return "".join(chars)


def normalize_tracking_code(typed: str) -> str:
    return re.sub(r"[\s\-]", "", typed).upper()


def file_complaint(
    session: Session,
    grading_id: int,
    text: str,
    contact: str | None,
    *,
    tracking_code: str | None = None,
) -> Complaint:
    grading = session.get(Grading, grading_id)
    if grading is None:
        raise NotFound(f"grading {grading_id} was not found", errors={"grading_id": ["not found"]})
    if grading.state not in UNDER_PUBLICITY:
        raise NotInPublicity(
            "this grading is not under publicity: complaints are filed while it is publicly noticed"
        )
    complaint = Complaint(
        grading_id=grading.id,
        text=text,
        contact=contact,
        tracking_code=tracking_code or new_tracking_code(),
    )
    session.add(complaint)
    session.flush()
    # The filer may stay anonymous: no address, no request id in the trail.
    record(
        session,
        Actor(account_id=None, username="public", role=None),
        "complaint.file",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        after={"complaint_id": complaint.id, "anonymous": contact is None},
    )
    return complaint


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"complaint {complaint_id} was not found")
    return complaint


def assign(session: Session, actor: Actor, complaint: Complaint) -> Complaint:
    """Take the complaint up (or over, from another reviewer) to investigate it."""
    before = {"state": complaint.state, "assigned_to": complaint.assigned_to}
    taken = "assign" if complaint.state == ComplaintState.RECEIVED else "reassign"
    COMPLAINT_WORKFLOW.fire(complaint, taken)
    complaint.assigned_to = actor.username
    session.flush()
    grading = session.get_one(Grading, complaint.grading_id)
    record(
        session,
        actor,
        "complaint.assign",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        before={"complaint_id": complaint.id, **before},
        after={
            "complaint_id": complaint.id,
            "state": complaint.state,
            "assigned_to": actor.username,
        },
    )
    return complaint


def record_answer(
    session: Session,
    actor: Actor,
    complaint: Complaint,
    findings: str,
    reply: str,
    upheld: bool,
) -> Grading:
    """The findings (调查核实) and the reply (反馈), on the complaint and in the trail; the
    complaint's grading. What an upheld complaint does to the grading is the lifecycle's step
    (service.lifecycle.complaints.answer), which calls this."""
    COMPLAINT_WORKFLOW.check(complaint, "answer")
    if complaint.assigned_to != actor.username:
        raise ValidationFailed(
            "the complaint is answered by the reviewer investigating it",
            errors={"assigned_to": [f"assigned to {complaint.assigned_to}"]},
        )
    COMPLAINT_WORKFLOW.apply(complaint, "answer")
    complaint.findings, complaint.reply, complaint.upheld = findings, reply, upheld
    complaint.answered_at = utcnow()
    session.flush()
    grading = session.get_one(Grading, complaint.grading_id)
    record(
        session,
        actor,
        "complaint.answer",
        "grading",
        grading.id,
        organization_id=grading.organization_id,
        after={"complaint_id": complaint.id, "upheld": upheld},
        reason=findings,
    )
    return grading


def find_by_code(session: Session, code: str) -> Complaint:
    complaint = session.scalars(
        select(Complaint).where(Complaint.tracking_code == normalize_tracking_code(code)[:20])
    ).first()
    if complaint is None:
        raise NotFound("no complaint has this tracking code")
    return complaint


def listed(principal: Principal, filters: Mapping[str, Any]) -> Any:
    """The complaints about gradings the caller sees, by state and grading."""
    query = (
        select(Complaint)
        .join(Grading, Grading.id == Complaint.grading_id)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(principal.visible_filter(Organization.path))
    )
    for name in ("state", "grading_id"):
        if name in filters:
            query = query.where(getattr(Complaint, name) == filters[name])
    return query
