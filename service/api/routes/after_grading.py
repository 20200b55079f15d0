"""Records once a level stands: the 组织生活会, the 自查报告, measures for a 较差 organization,
an exemplary organization's 典型经验 (service.rectification.after_grading)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.accounts.models import Role
from service.api.records import current_or_404, stage_record
from service.api.routing import Ctx
from service.api.schemas.common import text
from service.gradings.models import Grading
from service.rectification import after_grading as ops

TAG = "rectification"


class RecordOut(Schema):
    grading_id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    data = fields.Dict(required=True, metadata={"description": "the record as written"})
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    reason = fields.String(allow_none=True, required=True)


class LifeMeetingIn(Schema):
    held_on = fields.Date(required=True)
    chaired_by = text(100, required=True)
    attendees = fields.List(text(50), required=True, validate=validate.Length(min=1, max=500))
    problems_found = fields.List(
        text(1000), validate=validate.Length(max=50), metadata={"description": "查摆的问题"}
    )
    lessons = text(4000, required=True, metadata={"description": "经验教训"})
    reason = text(2000, allow_none=True, metadata={"description": "required to correct"})


class SelfCheckIn(Schema):
    written_on = fields.Date(required=True)
    report = text(8000, required=True, metadata={"description": "自查报告"})
    findings = fields.List(text(1000), validate=validate.Length(max=50))
    regraded_level = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "对照分类定级的标准重新定级: the level the organization finds for "
            "itself now, a level of the campaign's scheme (the superior's 复查 decides)"
        },
    )
    reason = text(2000, allow_none=True, metadata={"description": "required to correct"})


class MeasureIn(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(ops.MEASURES)),
        metadata={
            "description": "adjust_leadership 调整班子, refer_to_discipline 移送纪检司法机关, "
            "work_team 工作组进驻, first_secretary 选派第一书记"
        },
    )
    taken_on = fields.Date(required=True)
    description = text(2000, required=True)


class WeakMeasuresIn(Schema):
    measures = fields.List(
        fields.Nested(MeasureIn), required=True, validate=validate.Length(min=1, max=20)
    )
    reason = text(2000, allow_none=True, metadata={"description": "required to correct"})


class StrategyTaskIn(Schema):
    task = text(40, required=True, metadata={"description": "抓书记、强班子 … (the campaign's)"})
    goal = text(1000, required=True)
    measures = fields.List(text(1000), required=True, validate=validate.Length(min=1, max=20))
    term = fields.String(
        validate=validate.OneOf(["near", "long"]),
        metadata={"description": "near 近期, long 中长期"},
    )


class StrategyIn(Schema):
    tasks = fields.List(
        fields.Nested(StrategyTaskIn), required=True, validate=validate.Length(min=1, max=12)
    )
    reason = text(2000, allow_none=True, metadata={"description": "required to correct"})


class ExemplaryIn(Schema):
    experience = text(8000, required=True, metadata={"description": "典型经验"})
    publicized_on = fields.Date(allow_none=True, metadata={"description": "宣传推广的日期"})
    channels = text(500, allow_none=True, metadata={"description": "how it was publicized"})
    reason = text(2000, allow_none=True, metadata={"description": "required to correct"})


def _render(record_type: str) -> Any:
    def render(ctx: Ctx, grading: Grading) -> dict[str, Any]:
        found = current_or_404(ctx, grading, record_type)
        return {
            "grading_id": grading.id,
            "version": found.version,
            "data": found.data,
            "created_by": found.created_by,
            "created_at": found.created_at,
            "reason": found.reason,
        }

    return render


def _writer(write: Any) -> Any:
    def run(ctx: Ctx, grading: Grading) -> Any:
        return write(ctx.session, ctx.actor, grading, ctx.body)

    return run


for path, record_type, body, role, doing, write, put, get, description in (
    (
        "life-meeting",
        "life_meeting",
        LifeMeetingIn,
        Role.SECRETARY,
        "recording the 组织生活会",
        ops.life_meeting,
        ("put_life_meeting", "The branch's 组织生活会 on its level: problems found, 经验教训"),
        ("get_life_meeting", "The branch's 组织生活会 on its level"),
        "Once the level stands (定级 and after): date, who chaired, who attended, the problems "
        "found and the lessons drawn. The branch secretary.",
    ),
    (
        "self-check-report",
        "self_check_report",
        SelfCheckIn,
        Role.SECRETARY,
        "filing the self-check report",
        ops.self_check_report,
        ("put_self_check_report", "The 自查报告 of 回头看, before or during 整改"),
        ("get_self_check_report", "The 自查报告 of 回头看"),
        "回头看 as the seeds write it: the organization checks itself against the standards "
        "before and during 整改 (in rectification or re_review), not only after every item is "
        "closed. The branch secretary.",
    ),
    (
        "weak-measures",
        "weak_measures",
        WeakMeasuresIn,
        Role.REVIEWER,
        "recording measures for a weak organization",
        ops.weak_measures,
        ("put_weak_measures", "Measures taken for a 较差 organization (调整班子, 移送纪检司法…)"),
        ("get_weak_measures", "Measures taken for a 较差 organization"),
        "Only for an organization at the lowest level, once it stands: 调整班子, 移送纪检司法机关, "
        "工作组进驻, 选派第一书记 — each with its date and what was done. A reviewer above it.",
    ),
    (
        "strategy",
        "strategy",
        StrategyIn,
        Role.REVIEWER,
        "setting the organization's strategy",
        ops.strategy,
        ("put_strategy", "一组织一策: the superior's plan for this organization, task by task"),
        ("get_strategy", "一组织一策 for this organization"),
        "分类指导 as the seeds ask: for each task (抓书记、强班子, 抓发展、明思路 … or the "
        "campaign's decision_config.rectification_tasks) a goal, measures and a term (近期 / "
        "中长期), during rectification or 回头看. A reviewer above it.",
    ),
    (
        "exemplary",
        "exemplary",
        ExemplaryIn,
        Role.REVIEWER,
        "recording an exemplary experience",
        ops.exemplary,
        ("put_exemplary", "An exemplary organization's 典型经验, to publicize (总结宣传先进)"),
        ("get_exemplary", "An exemplary organization's 典型经验"),
        "Only for an organization at the top level, once it stands: the experience, and when "
        "and how it was publicized. A reviewer above it.",
    ),
):
    stage_record(
        path,
        tag=TAG,
        out=RecordOut,
        body=body,
        role=role,
        doing=doing,
        write=_writer(write),
        render=_render(record_type),
        put=put,
        get=get,
        description=description,
    )
