"""The survey ledger (调查摸底台账): the working group's entries, with problems and suggestions
that become items with stable ids (E1-P1, E1-S1…) the rectification plan can point to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from service.context import Actor
from service.errors import NotFound
from service.gradings.models import Approval, Grading
from service.records import operations as records
from service.records.models import RecordVersion
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
    return records.write(
        session, actor, grading, "survey_entry", _ledger_data(key, entry), key=key, reason=reason
    )


def _ledger_data(key: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "method": entry["method"],
        "date": entry["date"].isoformat(),
        "counts": dict(entry.get("counts") or {}),
        "problems": [
            {"id": f"{key}-P{n + 1}", "text": t} for n, t in enumerate(entry.get("problems") or [])
        ],
        "suggestions": [
            {"id": f"{key}-S{n + 1}", "text": t}
            for n, t in enumerate(entry.get("suggestions") or [])
        ],
        "note": entry.get("note"),
    }
