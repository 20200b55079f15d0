"""The survey ledger (调查摸底台账): the working group's entries, with problems and suggestions
that become items with stable ids (E1-P1, E1-S1…) the rectification plan can point to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from service.campaigns.models import Campaign
from service.context import Actor
from service.errors import NotFound, ValidationFailed
from service.gradings import records
from service.gradings.models import Approval, Grading, RecordVersion
from service.survey import classification
from service.workflows.states import GradingState

SURVEY_METHODS = ("meeting", "household_visit", "questionnaire", "interview", "phone", "email")
METHOD_LABELS = {
    "meeting": "座谈会",
    "household_visit": "走访入户",
    "questionnaire": "问卷调查",
    "interview": "个别访谈",
    "phone": "电话",
    "email": "电子邮件",
}


def add_survey_entry(
    session: Session, actor: Actor, grading: Grading, entry: Mapping[str, Any]
) -> RecordVersion:
    """A new ledger entry; problems and suggestions become items with stable ids (P1, S1…)."""
    grading.require_stage(GradingState.SURVEY, "a survey entry")
    existing = records.latest_versions(session, grading.id, "survey_entry")
    key = f"E{len(existing) + 1}"
    _check_categories(session, grading, entry)
    written = records.write(
        session, actor, grading, "survey_entry", _ledger_data(key, entry), key=key
    )
    assert isinstance(written, RecordVersion)
    return written


def correct_survey_entry(
    session: Session,
    actor: Actor,
    grading: Grading,
    key: str,
    entry: Mapping[str, Any],
    reason: str,
) -> RecordVersion | Approval:
    if records.current(session, grading.id, "survey_entry", key) is None:
        raise NotFound(f"grading {grading.id} has no survey entry {key}")
    _check_categories(session, grading, entry)
    return records.write(
        session, actor, grading, "survey_entry", _ledger_data(key, entry), key=key, reason=reason
    )


def _check_categories(session: Session, grading: Grading, entry: Mapping[str, Any]) -> None:
    """Each problem's category, when given, is one of the campaign's, one per problem."""
    given = entry.get("problem_categories")
    if given is None:
        return
    problems = entry.get("problems") or []
    if len(given) != len(problems):
        raise ValidationFailed(
            f"{len(given)} categories for {len(problems)} problems",
            detail_zh=f"给了 {len(given)} 个问题类别，但问题有 {len(problems)} 个："
            "每个问题一个类别",
            errors={"problem_categories": ["one category per problem, in order"]},
        )
    known = classification.categories(
        session.get_one(Campaign, grading.campaign_id).decision_config
    )
    classification.require_known("problem_categories", given, known)


def _ledger_data(key: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    categories = entry.get("problem_categories") or []
    return {
        "method": entry["method"],
        "date": entry["date"].isoformat(),
        "counts": dict(entry.get("counts") or {}),
        "problems": [
            {"id": f"{key}-P{n + 1}", "text": t}
            | ({"category": categories[n]} if n < len(categories) else {})
            for n, t in enumerate(entry.get("problems") or [])
        ],
        "areas": {
            code: {"finding": area["finding"], "note": area.get("note")}
            for code, area in (entry.get("areas") or {}).items()
        },
        "suggestions": [
            {"id": f"{key}-S{n + 1}", "text": t}
            for n, t in enumerate(entry.get("suggestions") or [])
        ],
        "note": entry.get("note"),
    }
