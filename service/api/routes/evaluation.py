from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.routing import Ctx, Reply, operation, written_or_pending
from service.api.schemas.evaluation import (
    ApprovalOut,
    AssessmentIn,
    ScoreViewOut,
    SelfRatingIn,
    SheetOut,
    SurveyEntryCorrection,
    SurveyEntryIn,
    SurveyEntryOut,
    SurveyLedgerOut,
)
from service.api.scope import scoped
from service.errors import NotFound
from service.gradings.models import Grading
from service.records import operations as records
from service.records.models import RecordVersion
from service.scoring import operations as ops
from service.scoring.composite import ROUNDING
from service.survey import operations as survey

TAG = "evaluation"


def _entry(version: RecordVersion) -> dict[str, Any]:
    data = version.data
    return {
        "key": version.record_key,
        "version": version.version,
        **data,
        "method_label": survey.METHOD_LABELS[data["method"]],
        "created_by": version.created_by,
        "created_at": version.created_at,
        "reason": version.reason,
    }


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/survey-entries",
    summary="The survey ledger (调查摸底台账): entries with their problem and suggestion items",
    tag=TAG,
    responses={200: SurveyLedgerOut},
    errors=(404,),
)
def list_survey_entries(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    entries = records.latest_versions(ctx.session, grading.id, "survey_entry")
    return {
        "grading_id": grading.id,
        "items": [_entry(e) for e in sorted(entries, key=lambda v: int(v.record_key[1:]))],
    }


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/survey-entries",
    summary="Record what the working group found (during the survey stage)",
    tag=TAG,
    body=SurveyEntryIn,
    responses={201: SurveyEntryOut},
    errors=(403, 404, 409, 422),
)
def add_survey_entry(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.REVIEWER], "recording the survey")
    return Reply(_entry(survey.add_survey_entry(ctx.session, ctx.actor, grading, ctx.body)), 201)


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/survey-entries/<key>",
    summary="Correct an entry: a new version with a reason (a supervisor approves it once "
    "the survey stage is over: 202)",
    tag=TAG,
    body=SurveyEntryCorrection,
    responses={200: SurveyEntryOut, 202: ApprovalOut},
    errors=(403, 404, 409, 422),
)
def correct_survey_entry(ctx: Ctx, grading_id: int, key: str) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.REVIEWER], "correcting the survey")
    body = dict(ctx.body)
    reason = body.pop("reason")
    return written_or_pending(
        survey.correct_survey_entry(ctx.session, ctx.actor, grading, key, body, reason), _entry
    )


def _sheet(ctx: Ctx, grading: Grading, record_type: str) -> dict[str, Any]:
    versions = ctx.session.scalars(
        select(RecordVersion)
        .where(
            RecordVersion.grading_id == grading.id,
            RecordVersion.record_type == record_type,
            RecordVersion.record_key == "main",
        )
        .order_by(RecordVersion.version)
    ).all()
    if not versions:
        raise NotFound(f"grading {grading.id} has no {record_type.replace('_', '-')} yet")
    current = versions[-1]
    data = current.data
    return {
        "grading_id": grading.id,
        "kind": record_type,
        "version": current.version,
        "scores": data["scores"],
        "adjustments": data["adjustments"],
        "totals": data["totals"],
        "proposed_level": data.get("proposed_level"),
        "explanation": data.get("explanation"),
        "note": data.get("note"),
        "versions": [
            {
                "version": v.version,
                "created_by": v.created_by,
                "created_at": v.created_at,
                "reason": v.reason,
            }
            for v in versions
        ],
    }


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/self-rating",
    summary="The self-rating (自评): scores, evidence, proposed level, every version",
    tag=TAG,
    responses={200: SheetOut},
    errors=(404,),
)
def get_self_rating(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return _sheet(ctx, grading, "self_rating")


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/self-rating",
    summary="Enter the self-rating (the branch secretary); each save is a new version",
    tag=TAG,
    body=SelfRatingIn,
    responses={200: SheetOut, 202: ApprovalOut},
    errors=(403, 404, 409, 422),
    description="Scores never above an indicator's maximum; bonus/deduction items within their "
    "limits. Versions after the first need a reason; once submitted (the grading has "
    "left self_rating) a change waits for a supervisor's approval (202).",
)
def put_self_rating(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.SECRETARY], "entering the self-rating")
    result = ops.write_sheet(ctx.session, ctx.actor, grading, "self_rating", ctx.body)
    return written_or_pending(result, lambda _: _sheet(ctx, grading, "self_rating"))


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/assessment",
    summary="The superior's assessment (上级评定, 量化考核)",
    tag=TAG,
    responses={200: SheetOut},
    errors=(404,),
)
def get_assessment(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return _sheet(ctx, grading, "assessment")


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/assessment",
    summary="Enter the superior's assessment (a reviewer); each save is a new version",
    tag=TAG,
    body=AssessmentIn,
    responses={200: SheetOut, 202: ApprovalOut},
    errors=(403, 404, 409, 422),
)
def put_assessment(ctx: Ctx, grading_id: int) -> Any:
    grading, org = scoped(ctx, Grading, grading_id)
    ctx.caller.require(org, [Role.REVIEWER], "entering the assessment")
    result = ops.write_sheet(ctx.session, ctx.actor, grading, "assessment", ctx.body)
    return written_or_pending(result, lambda _: _sheet(ctx, grading, "assessment"))


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/score",
    summary="The composite score, step by step, and the level it reaches",
    tag=TAG,
    responses={200: ScoreViewOut},
    errors=(404,),
)
def get_score(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    result, scheme = ops.composite(ctx.session, grading)
    return {
        "grading_id": grading.id,
        "scheme": scheme.code,
        "steps": result.steps,
        "missing": result.missing,
        "unrounded": None if result.unrounded is None else str(result.unrounded),
        "total": result.total,
        "rounding": ROUNDING,
        "level": {"code": result.level.code, "label": result.level.label} if result.level else None,
    }
