from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.duties import with_duty
from service.api.records import current_or_404, stage_record, versions_of, write_record
from service.api.routing import Ctx, operation
from service.api.schemas.evaluation import (
    ApprovalOut,
    AssessmentIn,
    BranchOpinionIn,
    BranchOpinionOut,
    ScoreViewOut,
    SelfRatingIn,
    SheetOut,
    SurveyEntryCorrection,
    SurveyEntryIn,
    SurveyEntryOut,
    SurveyLedgerOut,
)
from service.api.scope import scoped
from service.campaigns.procedure import Duty
from service.errors import NotFound
from service.gradings import records
from service.gradings.models import Approval, Grading, RecordVersion
from service.scores import exact_text
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
    description=with_duty(None, Duty.SURVEY),
)
def add_survey_entry(ctx: Ctx, grading_id: int) -> Any:
    return write_record(
        ctx,
        grading_id,
        Role.REVIEWER,
        "recording the survey",
        lambda grading: survey.add_survey_entry(ctx.session, ctx.actor, grading, ctx.body),
        lambda _, version: _entry(version),
        201,
        Duty.SURVEY,
    )


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
    description=with_duty(None, Duty.SURVEY),
)
def correct_survey_entry(ctx: Ctx, grading_id: int, key: str) -> Any:
    body = dict(ctx.body)
    reason = body.pop("reason")
    return write_record(
        ctx,
        grading_id,
        Role.REVIEWER,
        "correcting the survey",
        lambda grading: survey.correct_survey_entry(
            ctx.session, ctx.actor, grading, key, body, reason
        ),
        lambda _, version: _entry(version),
        duty=Duty.SURVEY,
    )


def _sheet(record_type: str) -> Callable[[Ctx, Grading], dict[str, Any]]:
    def render(ctx: Ctx, grading: Grading) -> dict[str, Any]:
        versions = records.versions(ctx.session, grading.id, record_type, "main")
        wanted = ctx.query.get("version")
        chosen = [v for v in versions if wanted is None or v.version == wanted]
        if not chosen:
            which = f"no version {wanted} of its" if wanted else "no"
            raise NotFound(f"grading {grading.id} has {which} {record_type.replace('_', '-')}")
        current = chosen[-1]
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
            "work_report": data.get("work_report"),
            "note": data.get("note"),
            "created_by": current.created_by,
            "created_at": current.created_at,
            "reason": current.reason,
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

    return render


def _write_sheet(record_type: str) -> Callable[[Ctx, Grading], RecordVersion | Approval]:
    return lambda ctx, grading: ops.write_sheet(
        ctx.session, ctx.actor, grading, record_type, ctx.body
    )


stage_record(
    "self-rating",
    tag=TAG,
    out=SheetOut,
    body=SelfRatingIn,
    role=Role.SECRETARY,
    doing="entering the self-rating",
    write=_write_sheet("self_rating"),
    render=_sheet("self_rating"),
    get=(
        "get_self_rating",
        "The self-rating (自评): scores, evidence, proposed level, every version",
    ),
    put=(
        "put_self_rating",
        "Enter the self-rating (the branch secretary); each save is a new version",
    ),
    description="Scores never above an indicator's maximum; bonus/deduction items within their "
    "limits. Versions after the first need a reason; once submitted (the grading has "
    "left self_rating) a change waits for a supervisor's approval (202).",
)
stage_record(
    "assessment",
    tag=TAG,
    out=SheetOut,
    body=AssessmentIn,
    role=Role.REVIEWER,
    doing="entering the assessment",
    write=_write_sheet("assessment"),
    render=_sheet("assessment"),
    get=("get_assessment", "The superior's assessment (上级评定, 量化考核)"),
    put=(
        "put_assessment",
        "Enter the superior's assessment (a reviewer); each save is a new version",
    ),
    duty=Duty.ASSESSMENT,
)


def _opinion(ctx: Ctx, grading: Grading) -> dict[str, Any]:
    version = current_or_404(ctx, grading, "branch_opinion")
    scheme = ops.scheme_of(ctx.session, grading)
    labels = {lv.code: lv.label for lv in scheme.levels}
    return {
        "grading_id": grading.id,
        "version": version.version,
        **version.data,
        "level_label": labels.get(version.data["level"], version.data["level"]),
        "created_by": version.created_by,
        "created_at": version.created_at,
        "reason": version.reason,
        "versions": versions_of(ctx, grading, "branch_opinion"),
    }


stage_record(
    "branch-opinion",
    tag=TAG,
    out=BranchOpinionOut,
    body=BranchOpinionIn,
    role=Role.SECRETARY,
    doing="forming the branch's opinion",
    write=lambda ctx, grading: ops.form_opinion(ctx.session, ctx.actor, grading, ctx.body),
    render=_opinion,
    get=("get_branch_opinion", "The branch's opinion formed from the ballot (分类定级意见)"),
    put=(
        "put_branch_opinion",
        "The branch's opinion from the ballot, for the superior's review (the secretary)",
    ),
    description="基层党组织依据测评结果形成分类定级意见，并报上级审核: formed at a branch meeting "
    "(met_on) once the ballots are counted (409 before), during evaluation; a level of the "
    "campaign's scheme and the opinion. Evaluation closes only with it, unless the campaign "
    "sets decision_config.branch_opinion to false. A later version needs a reason; after "
    "evaluation it waits for a supervisor (202).",
)


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
        "unrounded": None if result.unrounded is None else exact_text(result.unrounded),
        "total": result.total,
        "rounding": ROUNDING,
        "level": {"code": result.level.code, "label": result.level.label} if result.level else None,
    }
