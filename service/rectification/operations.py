"""整改: helpers for weak organizations, the plan of items, each item closed only when verified.

An item's lifecycle is service.rectification.workflow; every step is a new version of
the item's record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.operations import jsonable
from service.campaigns.models import Campaign
from service.context import Actor
from service.errors import (
    HelpersRequired,
    NotFound,
    PlanApproved,
    PlanEmpty,
    PlanFull,
    PlanNotApproved,
    ValidationFailed,
)
from service.gradings import records
from service.gradings.models import Grading, RecordVersion
from service.rectification.workflow import RECTIFICATION_ITEM_WORKFLOW, RECTIFICATION_PLAN_WORKFLOW
from service.standards.models import LevelScheme
from service.survey import classification
from service.workflows.states import GradingState, ItemStatus, PlanStatus


@dataclass
class _Item:
    """What the item workflow moves: the data of the item's next version (its `status`)."""

    data: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @status.setter
    def status(self, value: str) -> None:
        self.data["status"] = value


@dataclass
class _Plan:
    """What the plan workflow moves: a grading's plan, approved once its record is written."""

    status: str

    @classmethod
    def of(cls, session: Session, grading: Grading) -> _Plan:
        approved = records.current(session, grading.id, "rectification_plan", "main") is not None
        return cls((PlanStatus.APPROVED if approved else PlanStatus.DRAFTING).value)


def needs_helpers(session: Session, grading: Grading) -> bool:
    """Organizations rated in the two lowest levels get a paired leader and a liaison."""
    scheme_id = session.scalar(
        select(Campaign.level_scheme_id).where(Campaign.id == grading.campaign_id)
    )
    scheme = session.get_one(LevelScheme, scheme_id)
    lowest_two = {lv.code for lv in scheme.levels[-2:]}
    return grading.level in lowest_two


def assign_helpers(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion:
    grading.require_stage(GradingState.RECTIFICATION, "assigning helpers")
    written = records.write(
        session,
        actor,
        grading,
        "rectification_helpers",
        dict(body),
        reason=body.get("reason")
        or (
            "调整挂点"
            if records.current(session, grading.id, "rectification_helpers", "main")
            else None
        ),
    )
    assert isinstance(written, RecordVersion)
    return written


# A plan is read whole (GET …/rectification): it is capped instead of paginated.
MAX_PLAN_ITEMS = 100


def add_item(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion:
    grading.require_stage(GradingState.RECTIFICATION, "planning")
    if _Plan.of(session, grading).status != PlanStatus.DRAFTING:
        raise PlanApproved("the plan is approved; items are no longer added")
    if body.get("problem_ref") and not _survey_item_exists(session, grading, body["problem_ref"]):
        raise ValidationFailed(
            "no such survey finding",
            errors={"problem_ref": ["not a finding of this grading's survey"]},
        )
    config = session.get_one(Campaign, grading.campaign_id).decision_config
    for field, known in (
        ("category", classification.categories(config)),
        ("task", classification.tasks(config)),
    ):
        if body.get(field):
            classification.require_known(field, [body[field]], known)
    held = len(records.latest_versions(session, grading.id, "rectification_item"))
    if held >= MAX_PLAN_ITEMS:
        raise PlanFull(f"the plan holds {held} items, the most one plan may hold")
    key = f"I{held + 1}"
    data = {
        **jsonable(dict(body)),
        "status": ItemStatus.OPEN.value,
        "evidence": None,
        "returned_reason": None,
    }
    written = records.write(session, actor, grading, "rectification_item", data, key=key)
    assert isinstance(written, RecordVersion)
    return written


def _survey_item_exists(session: Session, grading: Grading, ref: str) -> bool:
    for entry in records.latest_versions(session, grading.id, "survey_entry"):
        if any(p["id"] == ref for p in entry.data.get("problems") or []):
            return True
    return False


def approve_plan(session: Session, actor: Actor, grading: Grading) -> RecordVersion:
    grading.require_stage(GradingState.RECTIFICATION, "approving the plan")
    plan = _Plan.of(session, grading)
    RECTIFICATION_PLAN_WORKFLOW.check(plan, "approve")  # 409 plan-approved: once
    items = records.latest_versions(session, grading.id, "rectification_item")
    if not items:
        raise PlanEmpty("a plan needs at least one item")
    if needs_helpers(session, grading):
        helpers = records.current(session, grading.id, "rectification_helpers", "main")
        data = helpers.data if helpers else {}
        missing = [k for k in ("paired_leader", "liaison") if not data.get(k)]
        if missing:
            raise HelpersRequired(
                f"an organization rated {grading.level} gets a paired leader (挂点领导) and a "
                f"liaison (联络员) before its plan is approved; missing: {', '.join(missing)}",
                missing=missing,
            )
    RECTIFICATION_PLAN_WORKFLOW.apply(plan, "approve")
    written = records.write(
        session,
        actor,
        grading,
        "rectification_plan",
        {"approved_by": actor.username, "items": [i.record_key for i in items]},
    )
    assert isinstance(written, RecordVersion)
    return written


def step(
    session: Session, actor: Actor, grading: Grading, key: str, action: str, body: Mapping[str, Any]
) -> RecordVersion:
    grading.require_stage(GradingState.RECTIFICATION, "working on items")
    current = records.current(session, grading.id, "rectification_item", key)
    if current is None:
        raise NotFound(f"grading {grading.id} has no rectification item {key}")
    if _Plan.of(session, grading).status != PlanStatus.APPROVED:
        raise PlanNotApproved("the plan is not approved yet")
    item = _Item(dict(current.data))
    RECTIFICATION_ITEM_WORKFLOW.check(item, action, reason=body.get("reason"))
    if action == "submit":
        if not (body.get("evidence") or "").strip():
            raise ValidationFailed(
                "submitting an item for closing needs evidence", errors={"evidence": ["required"]}
            )
        item.data["evidence"] = body["evidence"]
    if action == "return":
        item.data["returned_reason"] = body["reason"]
    if action == "close" and not item.data.get("evidence"):
        raise ValidationFailed(
            "an item closes only with evidence", errors={"evidence": ["missing"]}
        )
    RECTIFICATION_ITEM_WORKFLOW.apply(item, action)
    reason = (
        body.get("reason")
        or {"start": "开始整改", "submit": "申请销号", "close": "验收销号", "return": "退回"}[
            action
        ]
    )
    written = records.write(
        session, actor, grading, "rectification_item", item.data, key=key, reason=reason
    )
    assert isinstance(written, RecordVersion)
    return written


def ledger(
    session: Session, gradings: list[Grading], today: date, overdue_only: bool
) -> list[dict[str, Any]]:
    out = []
    for grading in gradings:
        pairing = records.current(session, grading.id, "rectification_pairing", "main")
        partner = pairing.data["partner_name"] if pairing else None
        for item in records.latest_versions(session, grading.id, "rectification_item"):
            deadline = date.fromisoformat(item.data["deadline"])
            overdue = item.data["status"] != ItemStatus.CLOSED and deadline < today
            if overdue_only and not overdue:
                continue
            out.append(
                {
                    "grading_id": grading.id,
                    "key": item.record_key,
                    "version": item.version,
                    **{
                        k: item.data.get(k)
                        for k in (
                            "problem",
                            "problem_ref",
                            "cause",
                            "measure",
                            "target",
                            "deadline",
                            "responsible",
                            "status",
                            "evidence",
                            "returned_reason",
                            "category",
                            "task",
                            "term",
                            "priority",
                        )
                    },
                    "overdue": overdue,
                    "paired_with": partner,
                }
            )
    return out
