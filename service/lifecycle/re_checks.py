"""复查 (回头看 as D2 writes it): "各地各单位要成立工作组，对基层党组织分类定级工作进行一次全面
复查" — a work group of the superior re-checks many organizations at once. Each result is the
grading's `re_check` record (the group, the day, the findings, whether 三打两建 problems were
found); a level to be adjusted ("一律调整为较差等次") also asks a supervisor to reopen the
grading's review (reopen_review, four eyes), with the findings as the reason.

A sheet is written whole or not at all: a row that cannot be written refuses the request,
naming the row, and nothing of the others stays behind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.audit.operations import jsonable
from service.campaigns.models import Campaign
from service.context import Actor
from service.errors import StageNotOpen, ValidationFailed
from service.gradings import records
from service.gradings.models import Approval, Grading, RecordVersion
from service.lifecycle.operations import request_transition
from service.standards.models import LevelScheme
from service.workflows.states import GRADING_STATE_LABELS, GradingState

OUTCOMES = {"confirmed": "维持原定等次", "adjust": "调整等次，重新评定"}
REOPEN = "reopen_review"


@dataclass(frozen=True)
class Checked:
    grading: Grading
    written: RecordVersion
    approval: Approval | None  # the reopening asked for, when the level is to be adjusted


def check_rows(
    session: Session, campaign: Campaign, rows: Sequence[tuple[Grading, Mapping[str, Any]]]
) -> None:
    """Refuse the sheet before anything is written: a grading of another campaign or not in 回头看
    (409 stage-not-open), an unknown proposed level, an adjustment without one (422)."""
    levels = [lv.code for lv in session.get_one(LevelScheme, campaign.level_scheme_id).levels]
    errors: dict[str, list[str]] = {}
    for n, (grading, row) in enumerate(rows):
        if grading.campaign_id != campaign.id:
            errors[f"results.{n}.grading_id"] = [f"grading {grading.id} is not of this campaign"]
        proposed = row.get("proposed_level")
        if row["outcome"] == "adjust" and proposed is None:
            errors[f"results.{n}.proposed_level"] = ["required to adjust the level"]
        elif proposed is not None and proposed not in levels:
            errors[f"results.{n}.proposed_level"] = [f"one of {', '.join(levels)}"]
    if errors:
        raise ValidationFailed("the re-check sheet has rows that cannot be written", errors=errors)
    for n, (grading, _) in enumerate(rows):
        if grading.state != GradingState.RE_REVIEW:
            label = GRADING_STATE_LABELS.get(grading.state, grading.state)
            raise StageNotOpen(
                f"results[{n}]: grading {grading.id} is in {grading.state}; a re-check is "
                "written during re_review (回头看)",
                detail_zh=f"第{n + 1}行：评定 {grading.id} 处于“{label}”，复查须在“回头看”时录入",
                state=grading.state,
            )


def write_sheet(
    session: Session,
    actor: Actor,
    group: Mapping[str, Any],
    checked_on: Any,
    rows: Sequence[tuple[Grading, Mapping[str, Any]]],
) -> list[Checked]:
    """Each row's re_check record, and for an adjustment the reopening's approval request."""
    done = []
    for grading, row in rows:
        data = jsonable(
            {
                "work_group": dict(group),
                "checked_on": checked_on,
                "outcome": row["outcome"],
                "findings": list(row.get("findings") or []),
                "three_strikes_issue": bool(row.get("three_strikes_issue")),
                "proposed_level": row.get("proposed_level"),
            }
        )
        written = records.write(session, actor, grading, "re_check", data, reason=row.get("reason"))
        assert isinstance(written, RecordVersion)  # in its stage: written, never asked for
        approval = None
        if row["outcome"] == "adjust":
            why = "；".join(row.get("findings") or []) or OUTCOMES["adjust"]
            reason = f"复查（{group['name']}，{checked_on}）：{why}"
            approval = request_transition(session, actor, grading, REOPEN, reason).approval
        done.append(Checked(grading, written, approval))
    return done
