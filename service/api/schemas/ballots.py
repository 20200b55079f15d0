from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.schemas.common import (
    PageQuery,
    Score,
    id_field,
    query_id,
    strict_int,
    text,
    total_field,
)
from service.workflows.states import BallotSessionState

CODE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,40}$", error="letters, digits, '_' or '-', at most 40")


class CategoryIssueIn(Schema):
    code = fields.String(
        required=True, validate=CODE, metadata={"description": "a category of the campaign"}
    )
    issued = strict_int(required=True, minimum=1, maximum=5000)
    eligible = strict_int(
        minimum=1,
        maximum=5000,
        metadata={
            "description": "应到: for party members it comes from the graded organizations' "
            "rolls (send it only to confirm); for invited categories, how many were invited "
            "(default: the codes issued)"
        },
    )


OVER_ISSUE_REASON = text(
    2000,
    allow_none=True,
    metadata={
        "description": "why more codes than people eligible (the superior's override: "
        "someone holding teller or supervisor above every graded organization; audited)"
    },
)


class BallotSessionIn(Schema):
    campaign_id = id_field(required=True)
    title = text(200, required=True, metadata={"description": "e.g. 凤凰镇党员群众测评会"})
    grading_ids = fields.List(id_field(), required=True, validate=validate.Length(min=1, max=200))
    categories = fields.List(
        fields.Nested(CategoryIssueIn), required=True, validate=validate.Length(min=1, max=10)
    )
    asks = fields.String(
        validate=validate.OneOf(["level", "indicators"]),
        metadata={"description": "a level per organization (default) or a score per indicator"},
    )
    over_issue_reason = OVER_ISSUE_REASON


class AttendanceCategoryIn(Schema):
    code = fields.String(required=True, validate=CODE)
    present = strict_int(required=True, minimum=0, maximum=5000, metadata={"description": "实到"})


class AttendanceIn(Schema):
    categories = fields.List(
        fields.Nested(AttendanceCategoryIn), required=True, validate=validate.Length(min=1, max=10)
    )
    reason = text(2000, allow_none=True, metadata={"description": "required to change it"})


class CategoryOut(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)
    source = fields.String(required=True)
    eligible = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "应到 (party members: the rolls); null for a session from before"},
    )
    present = fields.Integer(
        allow_none=True, required=True, metadata={"description": "实到, once recorded"}
    )
    issued = fields.Integer(required=True)
    returned = fields.Integer(
        allow_none=True, required=True, metadata={"description": "shown once the session is closed"}
    )


class BallotSessionOut(Schema):
    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    title = fields.String(required=True)
    asks = fields.String(required=True)
    stage = fields.String(
        required=True,
        metadata={
            "description": "evaluation (测评) or promotion (满意度测评): where its gradings are"
        },
    )
    state = fields.String(required=True)
    quorum = fields.String(
        required=True, metadata={"description": "the share of those eligible whose ballots count"}
    )
    held_on = fields.Date(required=True)
    grading_ids = fields.List(fields.Integer(), required=True)
    categories = fields.List(fields.Nested(CategoryOut), required=True)
    results = fields.List(
        fields.Dict(),
        allow_none=True,
        required=True,
        metadata={"description": "per grading, once counted"},
    )
    ballots = fields.Integer(
        allow_none=True, metadata={"description": "sealed ballots in the box, once counted"}
    )
    box_digest = fields.String(
        allow_none=True, metadata={"description": "the digest counting committed to"}
    )
    void_reason = fields.String(allow_none=True)
    over_issue_reason = fields.String(allow_none=True, required=True)


class BallotSessionPage(Schema):
    items = fields.List(fields.Nested(BallotSessionOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class BallotSessionQuery(PageQuery):
    campaign_id = query_id(metadata={"description": "the sessions of this campaign"})
    grading_id = query_id(metadata={"description": "the sessions that asked about this grading"})
    state = fields.String(validate=validate.OneOf([s.value for s in BallotSessionState]))
    within = query_id(metadata={"description": "held by committees in this subtree"})


class ScoreAnswerIn(Schema):
    indicator = fields.String(required=True, validate=CODE)
    score = Score(required=True, minimum="0", maximum="1000")


class AnswerIn(Schema):
    grading_id = id_field(required=True)
    level = fields.String(
        validate=CODE, metadata={"description": "a level code, or 'unknown' (不了解)"}
    )
    scores = fields.List(fields.Nested(ScoreAnswerIn), validate=validate.Length(max=50))


class BallotIn(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "the one-time code printed on the ballot"},
    )
    answers = fields.List(
        fields.Nested(AnswerIn), required=True, validate=validate.Length(min=1, max=200)
    )


class BallotAccepted(Schema):
    accepted = fields.Boolean(required=True)
    session = fields.String(required=True)
    session_id = fields.Integer(required=True)
    receipt = fields.String(
        required=True,
        metadata={
            "description": "a fingerprint of the sealed ballot (first 50 bits of its SHA-256, "
            "Crockford base32, e.g. 7KQ2M-XB4RT): keep it to check, after counting, that the "
            "ballot was counted"
        },
    )


class VoidIn(Schema):
    reason = text(2000, required=True)


class BulletinBoardOut(Schema):
    session_id = fields.Integer(required=True)
    title = fields.String(required=True)
    ballots = fields.Integer(required=True, metadata={"description": "sealed ballots counted"})
    box_digest = fields.String(
        required=True,
        metadata={
            "description": "SHA-256 over the sorted SHA-256 digests of the sealed ballots, one a "
            "line; the same value the counting event in the audit trail committed to"
        },
    )
    receipts = fields.List(fields.String(), required=True)


class ReceiptOut(Schema):
    session_id = fields.Integer(required=True)
    receipt = fields.String(required=True)
    counted = fields.Boolean(required=True)


class PaperCategoryIn(Schema):
    code = fields.String(required=True, validate=CODE)
    eligible = strict_int(
        minimum=1,
        maximum=100_000,
        metadata={"description": "应到, as in a session (party members: the roll)"},
    )
    present = strict_int(
        required=True, minimum=0, maximum=100_000, metadata={"description": "实到"}
    )
    issued = strict_int(required=True, minimum=0, maximum=100_000)
    returned = strict_int(required=True, minimum=0, maximum=100_000)
    invalid = strict_int(required=True, minimum=0, maximum=100_000)
    distribution = fields.Dict(
        keys=fields.String(validate=CODE),
        values=strict_int(minimum=0, maximum=100_000),
        required=True,
        metadata={"description": "level code (or unknown) → ballots"},
    )


class PaperTallyIn(Schema):
    categories = fields.List(
        fields.Nested(PaperCategoryIn), required=True, validate=validate.Length(min=1, max=10)
    )
    over_issue_reason = OVER_ISSUE_REASON


class PaperTallyCorrection(PaperTallyIn):
    reason = text(2000, required=True)


class TallyOut(Schema):
    grading_id = fields.Integer(required=True)
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    kind = fields.String(required=True)
    categories = fields.List(fields.Dict(), required=True)
    sources = fields.Dict(required=True)
    created_by = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)


class TallyList(Schema):
    items = fields.List(fields.Nested(TallyOut), required=True)


class BallotChoiceOut(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class BallotIndicatorOut(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    max_points = fields.String(required=True)


class SelfRatingHeardOut(Schema):
    proposed_level = fields.String(
        allow_none=True, required=True, metadata={"description": "自我认级"}
    )
    explanation = fields.String(
        allow_none=True, required=True, metadata={"description": "自我认级说明"}
    )
    work_report = fields.String(
        allow_none=True, required=True, metadata={"description": "工作情况报告"}
    )


class BallotQuestionOut(Schema):
    grading_id = fields.Integer(required=True)
    organization_name = fields.String(required=True)
    self_rating = fields.Nested(
        SelfRatingHeardOut,
        allow_none=True,
        required=True,
        metadata={"description": "what the meeting hears before it votes (the self-rating's)"},
    )
    choices = fields.List(fields.Nested(BallotChoiceOut))
    indicators = fields.List(fields.Nested(BallotIndicatorOut))


class BallotFormOut(Schema):
    session = fields.String(required=True)
    category = fields.String(required=True)
    asks = fields.String(required=True)
    questions = fields.List(fields.Nested(BallotQuestionOut), required=True)


class CodesQuery(Schema):
    format = fields.String(
        validate=validate.OneOf(["pdf", "svg", "csv"]),
        metadata={
            "description": "pdf: A4 pages of 15 cut-out cards with cut marks, to print; svg "
            "(default): the same codes as one drawing; csv: one row per code"
        },
    )
