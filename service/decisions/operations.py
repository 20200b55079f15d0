"""Proposing a level (the decision record) and flagging vetoes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.campaigns.models import VetoRule
from service.context import Actor
from service.errors import ScoreIncomplete, StageNotOpen, ValidationFailed
from service.gradings import records
from service.gradings.models import Approval, Grading, RecordVersion
from service.scoring.operations import composite
from service.workflows.states import GradingState

# Vetoes are flagged before the decision (afterwards a flag is a correction, approved).
VETO_STAGES = (GradingState.EVALUATION, GradingState.SUPERIOR_REVIEW)


def propose(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion | Approval:
    """The reviewer's proposal: the computed level, or another one with a reason."""
    grading.require_stage(GradingState.SUPERIOR_REVIEW, "a level proposal")
    result, scheme = composite(session, grading)
    if result.total is None or result.level is None:
        missing = ", ".join(result.missing) or "a level for the score"
        raise ScoreIncomplete(
            f"the composite score is not complete: missing {missing}",
            missing=result.missing,
        )
    level = body["level"]
    if level not in {lv.code for lv in scheme.levels}:
        raise ValidationFailed(
            "not a level of the campaign's scheme",
            errors={"level": [f"choose one of {', '.join(lv.code for lv in scheme.levels)}"]},
        )
    reason = body.get("reason")
    if level != result.level.code and not (reason and reason.strip()):
        raise ValidationFailed(
            f"the computed level is {result.level.code} ({result.level.label}); deciding another "
            "level needs a reason",
            errors={"reason": ["required when the level differs from the computed one"]},
        )
    data = {
        "level": level,
        "computed_level": result.level.code,
        "composite": result.total,
        "reason": reason,
        "new_org_exception": body.get("new_org_exception"),
    }
    return records.write(session, actor, grading, "decision", data, reason=reason)


def flag_vetoes(
    session: Session, actor: Actor, grading: Grading, body: Mapping[str, Any]
) -> RecordVersion | Approval:
    known = set(
        session.scalars(select(VetoRule.code).where(VetoRule.campaign_id == grading.campaign_id))
    )
    for n, flag in enumerate(body["flags"]):
        if flag["code"] not in known:
            raise ValidationFailed(
                "not a veto rule of the campaign",
                errors={
                    f"flags.{n}.code": [
                        f"the campaign's rules are {', '.join(sorted(known)) or 'none'}"
                    ]
                },
            )
    if (
        grading.state not in VETO_STAGES
        and records.current(session, grading.id, "veto_flags", "main") is None
    ):
        raise StageNotOpen(
            f"vetoes are flagged before the decision; the grading is {grading.state}",
            state=grading.state,
        )
    return records.write(
        session,
        actor,
        grading,
        "veto_flags",
        {"flags": list(body["flags"])},
        reason=body.get("reason"),
    )
