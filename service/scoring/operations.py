"""The self-rating and the superior's assessment (score sheets kept as versioned records), and
the composite score that combines them with the ballots."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.campaigns.models import Campaign, RatingSource
from service.context import Actor
from service.errors import Conflict, ValidationFailed
from service.gradings import records
from service.gradings.models import Approval, Grading, RecordVersion
from service.scoring.composite import (
    SHEET_SOURCES,
    Composite,
    SourceValue,
    ballot_source_values,
    compose,
)
from service.scoring.sheets import Totals, check_sheet, normalized
from service.standards.models import LevelScheme, Standard
from service.workflows.states import STAGE_OF_RECORD, GradingState


def _standard_and_scheme(session: Session, grading: Grading) -> tuple[Standard, LevelScheme]:
    standard = session.get_one(Standard, grading.standard_id)
    scheme_id = session.scalar(
        select(Campaign.level_scheme_id).where(Campaign.id == grading.campaign_id)
    )
    return standard, session.get_one(LevelScheme, scheme_id)


def scheme_of(session: Session, grading: Grading) -> LevelScheme:
    """The level scheme of the grading's campaign."""
    return _standard_and_scheme(session, grading)[1]


def _sheet_data(sheet: Mapping[str, Any], totals: Totals) -> dict[str, Any]:
    data = {
        "scores": [
            {k: v for k, v in entry.items() if v is not None} for entry in sheet.get("scores") or []
        ],
        "adjustments": list(sheet.get("adjustments") or []),
        "totals": {
            "indicators": totals.indicators,
            "bonus": totals.bonus,
            "deduction": totals.deduction,
            "total": totals.total,
        },
    }
    for extra in ("proposed_level", "explanation", "work_report", "note"):
        if sheet.get(extra) is not None:
            data[extra] = sheet[extra]
    return data


def write_sheet(
    session: Session, actor: Actor, grading: Grading, record_type: str, sheet: Mapping[str, Any]
) -> RecordVersion | Approval:
    """The self-rating (secretary) or the superior's assessment (reviewer), as a new version."""
    stage = STAGE_OF_RECORD[record_type]
    previous = records.current(session, grading.id, record_type, "main")
    if previous is None:
        grading.require_stage(GradingState(stage), "the first version of this sheet")
    standard, scheme = _standard_and_scheme(session, grading)
    totals = check_sheet(standard, sheet)
    level = sheet.get("proposed_level")
    if level is not None and level not in {lv.code for lv in scheme.levels}:
        raise ValidationFailed(
            "not a level of the campaign's scheme",
            errors={
                "proposed_level": [f"choose one of {', '.join(lv.code for lv in scheme.levels)}"]
            },
        )
    return records.write(
        session, actor, grading, record_type, _sheet_data(sheet, totals), reason=sheet.get("reason")
    )


def form_opinion(
    session: Session, actor: Actor, grading: Grading, data: Mapping[str, Any]
) -> RecordVersion | Approval:
    """基层党组织依据测评结果形成分类定级意见，并报上级审核: the branch's opinion, formed at a
    branch meeting from the counted ballots, before the superior reviews. Versioned like every
    record: a later version says why, and once evaluation is over it waits for a supervisor."""
    previous = records.current(session, grading.id, "branch_opinion", "main")
    tallies = [v.record_key for v in records.latest_versions(session, grading.id, "ballot_tally")]
    if previous is None:
        grading.require_stage(GradingState.EVALUATION, "the branch's opinion")
        if not tallies:
            raise Conflict(
                "the branch forms its opinion from the ballot: count the ballots first",
                errors={"level": ["no counted ballots yet"]},
            )
    _, scheme = _standard_and_scheme(session, grading)
    if data["level"] not in {lv.code for lv in scheme.levels}:
        raise ValidationFailed(
            "not a level of the campaign's scheme",
            errors={"level": [f"choose one of {', '.join(lv.code for lv in scheme.levels)}"]},
        )
    opinion = {
        "level": data["level"],
        "opinion": data["opinion"],
        "met_on": data["met_on"],
        "tallies": tallies,
    }
    return records.write(
        session, actor, grading, "branch_opinion", opinion, reason=data.get("reason")
    )


def source_values(session: Session, grading: Grading, standard: Standard) -> dict[str, SourceValue]:
    values: dict[str, SourceValue] = {}
    for source, record_type in SHEET_SOURCES.items():
        current = records.current(session, grading.id, record_type, "main")
        if current is not None:
            total = Decimal(str(current.data["totals"]["total"]))
            values[source] = SourceValue(
                normalized(total, standard),
                f"{record_type} v{current.version}: {total} of {standard.total_points}",
            )
    tallies = [t.data for t in records.latest_versions(session, grading.id, "ballot_tally")]
    values.update(ballot_source_values(tallies))
    return values


def composite(session: Session, grading: Grading) -> tuple[Composite, LevelScheme]:
    standard, scheme = _standard_and_scheme(session, grading)
    weights = [
        (s.source, s.weight)
        for s in session.scalars(
            select(RatingSource)
            .where(RatingSource.campaign_id == grading.campaign_id)
            .order_by(RatingSource.position)
        )
    ]
    return compose(weights, source_values(session, grading, standard), scheme), scheme
