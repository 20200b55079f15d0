"""领导小组: the group a committee forms to lead a campaign's work ("成立了工作领导小组" — 组长,
副组长, 成员, where its office sits), one per committee and campaign. Each change is a new version
with a reason (the first needs none), audited; the campaign's committee sees which committees
below it have formed theirs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.audit.operations import jsonable, record
from service.campaigns.models import Campaign
from service.context import Actor
from service.db import Base, JSONType, UTCDateTime, utcnow
from service.errors import ValidationFailed
from service.organizations.models import Organization, OrgKind, OrgStatus


class LeadingGroup(Base):
    """One version of a committee's 领导小组 for a campaign; never changed, a change is the next
    version."""

    __tablename__ = "leading_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    leader: Mapped[str] = mapped_column(String(100))  # 组长
    deputies: Mapped[Any] = mapped_column(JSONType)  # 副组长
    members: Mapped[Any] = mapped_column(JSONType)  # 成员
    office: Mapped[str | None] = mapped_column(String(300))  # 办公室设在…
    formed_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("campaign_id", "organization_id", "version"),)

    def out(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "campaign_id": self.campaign_id,
            "organization_id": self.organization_id,
            "version": self.version,
            "name": self.name,
            "leader": self.leader,
            "deputies": list(self.deputies or []),
            "members": list(self.members or []),
            "office": self.office,
            "formed_on": self.formed_on,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at,
            "reason": self.reason,
        }


def form(
    session: Session,
    actor: Actor,
    campaign: Campaign,
    committee: Organization,
    body: Mapping[str, Any],
) -> LeadingGroup:
    """The committee's group for the campaign, as the next version (a change says why)."""
    last = session.scalar(
        select(func.max(LeadingGroup.version)).where(
            LeadingGroup.campaign_id == campaign.id,
            LeadingGroup.organization_id == committee.id,
        )
    )
    reason = body.get("reason")
    if last and not (reason and reason.strip()):
        raise ValidationFailed(
            f"version {last} of this 领导小组 is recorded: a change needs a reason",
            detail_zh=f"该领导小组已记录第 {last} 版：调整须说明理由",
            errors={"reason": ["required to change the group"]},
        )
    group = LeadingGroup(
        campaign_id=campaign.id,
        organization_id=committee.id,
        version=(last or 0) + 1,
        name=body["name"],
        leader=body["leader"],
        deputies=list(body.get("deputies") or []),
        members=list(body.get("members") or []),
        office=body.get("office"),
        formed_on=body["formed_on"],
        recorded_by=actor.username,
        reason=reason,
    )
    session.add(group)
    session.flush()
    out = group.out()
    record(
        session,
        actor,
        "leading_group.form" if group.version == 1 else "leading_group.change",
        "leading_group",
        group.id,
        organization_id=committee.id,
        after=jsonable({k: v for k, v in out.items() if k not in ("id", "recorded_at")}),
        reason=reason,
    )
    return group


def versions(session: Session, campaign: Campaign, committee: Organization) -> list[LeadingGroup]:
    return list(
        session.scalars(
            select(LeadingGroup)
            .where(
                LeadingGroup.campaign_id == campaign.id,
                LeadingGroup.organization_id == committee.id,
            )
            .order_by(LeadingGroup.version)
        )
    )


def overview(session: Session, campaign: Campaign, root: Organization, visible: Any) -> list[Any]:
    """Every active committee of the campaign's subtree the caller sees (grassroots ones, which
    are graded, aside), with its latest group or none (未成立)."""
    committees = session.scalars(
        select(Organization)
        .where(
            Organization.path.startswith(root.path, autoescape=True),
            Organization.kind == OrgKind.COMMITTEE.value,
            Organization.grassroots.is_(False),
            Organization.status == OrgStatus.ACTIVE.value,
            visible,
        )
        .order_by(Organization.path)
    ).all()
    latest = {
        g.organization_id: g
        for g in session.scalars(
            select(LeadingGroup)
            .where(LeadingGroup.campaign_id == campaign.id)
            .order_by(LeadingGroup.version)
        )
    }
    return [
        {
            "organization_id": c.id,
            "organization_name": c.name,
            "formed": c.id in latest,
            "status_label": "已成立" if c.id in latest else "未成立",
            "group": latest[c.id].out() if c.id in latest else None,
        }
        for c in committees
    ]
