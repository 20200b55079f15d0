"""Ballot sessions: open (codes issued, the box's key pair made), submit (a sealed ballot into
the box), close, count (quorum, then the box opened in memory), void; and paper tallies entered
by the teller. See service/ballots/box.py and docs/decisions/0017."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import CursorResult, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from service import calendar
from service.accounts.access import Principal
from service.audit.operations import record
from service.ballots import box, codes
from service.ballots.config import UNKNOWN, ballot_config, choice_points
from service.ballots.models import (
    BallotCategory,
    BallotCode,
    BallotSession,
    BallotSessionGrading,
    SealedBallot,
)
from service.ballots.workflow import BALLOT_SESSION_WORKFLOW
from service.campaigns.models import Campaign, RatingSourceKind
from service.context import Actor
from service.errors import (
    AttendanceMismatch,
    BallotBoxLocked,
    BallotRoll,
    BallotSessionWrongState,
    CodeRejected,
    IdempotencyKeyReused,
    NotFound,
    QuorumNotMet,
    StageNotOpen,
    ValidationFailed,
)
from service.gradings import records
from service.gradings.models import Approval, Grading, RecordVersion
from service.organizations.models import Organization
from service.organizations.operations import in_subtree
from service.scores import exact, round_score
from service.scoring.composite import category_earned
from service.standards.models import LevelScheme, Standard
from service.workflows.states import BallotSessionState, GradingState

# A ballot meeting rates during evaluation, or measures satisfaction for a promotion.
BALLOT_STAGES = (GradingState.EVALUATION, GradingState.PROMOTION)


def _scheme(session: Session, campaign: Campaign) -> LevelScheme:
    return session.get_one(LevelScheme, campaign.level_scheme_id)


def config_of(session: Session, campaign: Campaign) -> dict[str, Any]:
    return ballot_config(campaign.ballot_config, _scheme(session, campaign))


def get_session(session: Session, session_id: int) -> BallotSession:
    found = session.get(BallotSession, session_id)
    if found is None:
        raise NotFound(f"ballot session {session_id} was not found")
    return found


def _common_ancestor(orgs: list[Organization]) -> int:
    paths = [o.path.strip("/").split("/") for o in orgs]
    common: list[str] = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return int(common[-1]) if common else int(paths[0][0])


def _rule(code: str, zh: str, en: str) -> dict[str, str]:
    return {"code": code, "message_zh": zh, "message_en": en}


def required_ballots(quorum: Decimal, eligible: int) -> int:
    """How many ballots must come back: the quorum's share of those eligible, rounded up."""
    return int((quorum * eligible).to_integral_value(rounding="ROUND_CEILING"))


def fit_roll(
    categories: Sequence[Mapping[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    orgs: Sequence[Organization],
    quorum: Decimal,
    over_issue_reason: str | None,
) -> list[int]:
    """Who may vote in each category (应到): party members from the graded organizations' rolls
    (正式 + 预备党员; a general branch's counts its branches'), the others as declared
    (`eligible`, or the codes issued to them). Codes beyond that need the superior's
    `over_issue_reason`; too few codes to ever reach the quorum are refused. Each refusal is a
    `ballot-roll` problem naming its rule."""
    # A general branch's roll counts its branches' members: an organization under another one
    # rated by the same meeting adds nobody.
    counted = [o for o in orgs if not any(o is not a and o.path.startswith(a.path) for a in orgs)]
    roll = sum(o.member_count for o in counted)
    names = "、".join(o.name for o in counted)
    eligible: list[int] = []
    over: list[str] = []
    for n, category in enumerate(categories):
        issued = category["issued"]
        if known[category["code"]]["source"] == RatingSourceKind.MEMBERS:
            if roll == 0:
                raise BallotRoll(
                    f"the roll of {names} has no members: record full_members and "
                    "probationary_members (PATCH /organizations/{id}) first",
                    errors={f"categories.{n}.code": ["the roll has no members"]},
                    rule=_rule(
                        "roll_known",
                        f"{names}的党员名册为空：请先登记正式党员和预备党员人数",
                        f"the roll of {names} has no members",
                    ),
                )
            declared = category.get("eligible")
            if declared is not None and declared != roll:
                raise BallotRoll(
                    f"category {category['code']}: the roll says {roll} members, not {declared}",
                    errors={f"categories.{n}.eligible": [f"the roll says {roll}"]},
                    rule=_rule(
                        "eligible_from_roll",
                        f"党员应到人数以名册为准（{roll}人），不能另填",
                        f"party members eligible come from the roll ({roll})",
                    ),
                    eligible=roll,
                )
            allowed = roll
        else:
            allowed = category.get("eligible") or issued
        if issued > allowed:
            over.append(f"categories.{n}.issued")
        eligible.append(allowed)
    if over and not over_issue_reason:
        raise BallotRoll(
            "more codes than people eligible: the superior may issue them with over_issue_reason",
            errors={field: ["more codes than people eligible"] for field in over},
            rule=_rule(
                "codes_within_roll",
                "发出的票不能多于应到人数（确需多发，须由上级说明理由）",
                "no more codes than people eligible (unless the superior gives a reason)",
            ),
            eligible=sum(eligible),
            issued=sum(c["issued"] for c in categories),
        )
    if over_issue_reason and not over:
        raise BallotRoll(
            "over_issue_reason is only for issuing more codes than people eligible",
            errors={"over_issue_reason": ["no category has more codes than people eligible"]},
            rule=_rule(
                "over_issue_reason",
                "只有发票多于应到人数时才需要说明理由",
                "a reason is only for more codes than people eligible",
            ),
        )
    issued_total = sum(c["issued"] for c in categories)
    required = required_ballots(quorum, sum(eligible))
    if issued_total < required:
        raise BallotRoll(
            f"{issued_total} codes for {sum(eligible)} people eligible can never reach the "
            f"quorum: counting needs {required} ballots ({quorum:.2%} of those eligible)",
            errors={"categories": [f"at least {required} codes"]},
            rule=_rule(
                "quorum_reachable",
                f"应到{sum(eligible)}人，发出{issued_total}张票，永远达不到法定比例（需收回{required}张）",
                f"{issued_total} codes for {sum(eligible)} eligible cannot reach the quorum "
                f"({required})",
            ),
            eligible=sum(eligible),
            issued=issued_total,
            required=required,
        )
    return eligible


def open_session(
    session: Session,
    actor: Actor,
    campaign: Campaign,
    gradings: list[tuple[Grading, Organization]],
    data: Mapping[str, Any],
    *,
    box_secret: str,
) -> BallotSession:
    config = config_of(session, campaign)
    known = {c["code"]: c for c in config["categories"]}
    errors: dict[str, list[str]] = {}
    for n, category in enumerate(data["categories"]):
        if category["code"] not in known:
            errors[f"categories.{n}.code"] = [f"the campaign's categories are {', '.join(known)}"]
    codes_given = [c["code"] for c in data["categories"]]
    if len(set(codes_given)) != len(codes_given):
        errors["categories"] = ["each category once"]
    for grading, _ in gradings:
        if grading.campaign_id != campaign.id:
            errors["grading_ids"] = [f"grading {grading.id} belongs to another campaign"]
    if errors:
        raise ValidationFailed("the ballot session does not fit the campaign", errors=errors)
    # A ballot meeting rates during evaluation, or measures satisfaction (群众满意度测评) for a
    # promotion; one session serves one purpose.
    stages = {g.state for g, _ in gradings}
    not_ready = [g.id for g, _ in gradings if g.state not in BALLOT_STAGES]
    if not_ready or len(stages) > 1:
        raise StageNotOpen(
            f"gradings {', '.join(map(str, not_ready or [g.id for g, _ in gradings]))} are not all "
            "in the evaluation stage (or all in promotion)",
            grading_ids=not_ready,
        )
    quorum = Decimal(str(config["quorum"]))
    over_issue_reason = data.get("over_issue_reason")
    eligible = fit_roll(
        data["categories"], known, [o for _, o in gradings], quorum, over_issue_reason
    )
    asks = data.get("asks", "level")
    ballot = BallotSession(
        campaign_id=campaign.id,
        organization_id=_common_ancestor([o for _, o in gradings]),
        title=data["title"],
        asks=asks,
        stage=stages.pop(),
        state=BallotSessionState.OPEN,
        quorum=quorum,
        held_on=calendar.today(),
        opened_by=actor.username,
        over_issue_reason=over_issue_reason,
        categories=[
            BallotCategory(
                position=n,
                code=c["code"],
                label=known[c["code"]]["label"],
                source=known[c["code"]]["source"],
                issued=c["issued"],
                eligible=eligible[n],
            )
            for n, c in enumerate(data["categories"])
        ],
        gradings=[BallotSessionGrading(grading_id=g.id) for g, _ in gradings],
    )
    session.add(ballot)
    session.flush()
    issued: set[str] = set()
    for category in ballot.categories:
        for _ in range(category.issued):
            code = codes.new_code()
            while code in issued:  # pragma: no cover - 50 bits
                code = codes.new_code()
            issued.add(code)
            session.add(BallotCode(session_id=ballot.id, category=category.code, code=code))
    keys = box.new_keys(box_secret, ballot.id)
    ballot.box_public_key, ballot.box_private_key_wrapped = keys.public, keys.wrapped_private
    session.flush()
    record(
        session,
        actor,
        "ballot_session.open",
        "ballot_session",
        ballot.id,
        organization_id=ballot.organization_id,
        after={
            "title": ballot.title,
            "asks": asks,
            "stage": ballot.stage,
            "gradings": [g.id for g, _ in gradings],
            "issued": {c.code: c.issued for c in ballot.categories},
            "eligible": {c.code: c.eligible for c in ballot.categories},
        },
        reason=over_issue_reason,
    )
    return ballot


def check_present(figures: Mapping[str, tuple[int, int | None]]) -> None:
    """实到 never above 应到: category code -> (present, eligible — None for a session from
    before the roll, which has nothing to hold it to)."""
    over = {
        code: (present, eligible)
        for code, (present, eligible) in figures.items()
        if eligible is not None and present > eligible
    }
    if over:
        raise BallotRoll(
            "more people present than eligible: "
            + ", ".join(f"{code} {n} > {e}" for code, (n, e) in over.items()),
            errors={f"categories.{code}": [f"at most {e}"] for code, (_, e) in over.items()},
            rule=_rule(
                "present_within_roll",
                "实到人数不能多于应到人数",
                "no more people present than eligible",
            ),
        )


def record_attendance(
    session: Session,
    actor: Actor,
    ballot: BallotSession,
    present: Mapping[str, int],
    reason: str | None = None,
) -> BallotSession:
    """实到: who came, per category, recorded at the meeting (before counting). Never more than
    those eligible; a second recording says why."""
    if ballot.state not in (BallotSessionState.OPEN, BallotSessionState.CLOSED):
        raise BallotSessionWrongState(
            f"the session is {ballot.state}; attendance is recorded before counting",
            state=ballot.state,
        )
    by_code = {c.code: c for c in ballot.categories}
    errors: dict[str, list[str]] = {}
    for code in present:
        if code not in by_code:
            errors[f"categories.{code}"] = [f"the session's categories are {', '.join(by_code)}"]
    missing = [code for code in by_code if code not in present]
    if missing:
        errors["categories"] = [f"every category's attendance: {', '.join(missing)} missing"]
    if errors:
        raise ValidationFailed("the attendance does not fit the session", errors=errors)
    check_present({code: (n, by_code[code].eligible) for code, n in present.items()})
    recorded = any(c.present is not None for c in ballot.categories)
    if recorded and not (reason and reason.strip()):
        raise ValidationFailed(
            "the attendance was recorded already: a change needs a reason",
            errors={"reason": ["required to change the attendance"]},
        )
    before = {c.code: c.present for c in ballot.categories}
    for code, n in present.items():
        by_code[code].present = n
    session.flush()
    record(
        session,
        actor,
        "ballot_session.attendance",
        "ballot_session",
        ballot.id,
        organization_id=ballot.organization_id,
        before={"present": before} if recorded else None,
        after={"present": {c.code: c.present for c in ballot.categories}},
        reason=reason if recorded else None,
    )
    return ballot


def layout(session: Session, ballot: BallotSession) -> box.Layout:
    """What every ballot of the session answers, in a fixed order (the sealed encoding's)."""
    categories = tuple(c.code for c in ballot.categories)
    gradings = tuple(link.grading_id for link in ballot.gradings)
    if ballot.asks == "level":
        campaign = session.get_one(Campaign, ballot.campaign_id)
        choices = (*(lv.code for lv in _scheme(session, campaign).levels), UNKNOWN)
        return box.Layout(categories, gradings, choices=choices)
    indicators = tuple(
        tuple(i.code for i in session.get_one(Standard, _standard_of(session, g)).indicators)
        for g in gradings
    )
    return box.Layout(categories, gradings, indicators=indicators)


def _standard_of(session: Session, grading_id: int) -> int:
    return session.get_one(Grading, grading_id).standard_id


# Has a grading of the code's session left the stage the session was held for? (In the code's
# statement: a ballot stays three statements.)
_STAGE_LEFT = (
    exists()
    .where(
        BallotSessionGrading.session_id == BallotSession.id,
        Grading.id == BallotSessionGrading.grading_id,
        Grading.state != BallotSession.stage,
    )
    .label("stage_left")
)


@dataclass(frozen=True)
class UsableCode:
    code_id: int
    category: str
    session_id: int
    public_key: bytes
    code: str  # as stored: normalized


def _usable(session: Session, typed_code: str) -> UsableCode:
    """The code, if a ballot may still be cast with it: known, its session open, unused. One
    statement (it is on the submission's hot path)."""
    code = codes.normalize(typed_code)
    row = (
        session.execute(
            select(
                BallotCode.id,
                BallotCode.category,
                BallotCode.used,
                BallotSession.id,
                BallotSession.state,
                BallotSession.box_public_key,
                _STAGE_LEFT,
            )
            .join(BallotSession, BallotSession.id == BallotCode.session_id)
            .where(BallotCode.code == code)
        ).first()
        if code
        else None
    )
    if row is None or code is None:
        raise CodeRejected(
            "no ballot has this code; check it for typing mistakes", reason="unknown"
        )
    code_id, category, used, session_id, state, public_key, stage_left = row
    if state != BallotSessionState.OPEN or public_key is None:
        raise CodeRejected("voting in this session has ended", reason="closed")
    if stage_left:
        raise CodeRejected(
            "the organizations this meeting rates have left its stage: voting has ended",
            reason="stage_over",
        )
    if used:
        raise CodeRejected("this code has been used already", reason="used")
    return UsableCode(code_id, category, session_id, public_key, code)


def form(session: Session, typed_code: str) -> dict[str, Any]:
    """What the ballot of this code asks, for the page a voter's QR code opens."""
    usable = _usable(session, typed_code)
    ballot = session.get_one(BallotSession, usable.session_id)
    campaign = session.get_one(Campaign, ballot.campaign_id)
    config = config_of(session, campaign)
    levels = _scheme(session, campaign).levels
    labels = {lv.code: lv.label for lv in levels}
    choices = [{"code": lv.code, "label": lv.label} for lv in levels]
    if config["allow_unknown"]:
        choices.append({"code": UNKNOWN, "label": "不了解"})
    questions = []
    for link in ballot.gradings:
        grading = session.get_one(Grading, link.grading_id)
        org = session.get_one(Organization, grading.organization_id)
        question: dict[str, Any] = {
            "grading_id": grading.id,
            "organization_name": org.name,
            "self_rating": _what_voters_hear(session, grading, labels),
        }
        if ballot.asks == "level":
            question["choices"] = choices
        else:
            question["indicators"] = [
                {"code": i.code, "name": i.name, "max_points": str(i.max_points)}
                for i in session.get_one(Standard, grading.standard_id).indicators
            ]
        questions.append(question)
    category = next(c.label for c in ballot.categories if c.code == usable.category)
    return {
        "session": ballot.title,
        "category": category,
        "asks": ballot.asks,
        "questions": questions,
    }


def _what_voters_hear(
    session: Session, grading: Grading, labels: Mapping[str, str]
) -> dict[str, str | None] | None:
    """听取基层党组织工作情况报告及自我认级说明: the self-rating's level, explanation and work
    report, as the meeting hears them before voting (None before any self-rating)."""
    current = records.current(session, grading.id, "self_rating", "main")
    if current is None:
        return None
    level = current.data.get("proposed_level")
    return {
        "proposed_level": labels.get(level, level) if level else None,
        "explanation": current.data.get("explanation"),
        "work_report": current.data.get("work_report"),
    }


@dataclass(frozen=True)
class Shape:
    """What a session's ballots answer and how they are checked and sealed. Fixed once the
    session opens (the campaign's ballot configuration, scheme and standards are frozen), so
    each process keeps it after building it once — keyed by the session's public key, which is
    random per session (an id could name another session in another database)."""

    title: str
    asks: str
    public_key: bytes
    layout: box.Layout
    allowed: frozenset[str]  # the choices a ballot may give (level sessions)
    maxima: dict[int, dict[str, Decimal]]  # grading -> indicator -> maximum (indicator sessions)


_SHAPES: dict[bytes, Shape] = {}
_SHAPES_KEPT = 1024


def shape(session: Session, session_id: int, public_key: bytes) -> Shape:
    found = _SHAPES.get(public_key)
    if found is not None:
        return found
    ballot = session.get_one(BallotSession, session_id)
    campaign = session.get_one(Campaign, ballot.campaign_id)
    config = config_of(session, campaign)
    maxima = {
        link.grading_id: {
            i.code: i.max_points
            for i in session.get_one(Standard, _standard_of(session, link.grading_id)).indicators
        }
        for link in ballot.gradings
    }
    built = Shape(
        ballot.title,
        ballot.asks,
        public_key,
        layout(session, ballot),
        frozenset(config["choice_points"]) | ({UNKNOWN} if config["allow_unknown"] else set()),
        maxima,
    )
    if len(_SHAPES) >= _SHAPES_KEPT:
        _SHAPES.clear()
    _SHAPES[public_key] = built
    return built


@dataclass(frozen=True)
class Cast:
    session_id: int
    title: str
    receipt: str
    replayed: bool = False  # the answer to a retry: the ballot was cast by the first request


def submit(
    session: Session,
    typed_code: str,
    answers: Sequence[Mapping[str, Any]],
    retry_key: str | None = None,
) -> Cast:
    """Seal one anonymous ballot into its session's box; returns the session's id and title and
    the receipt. In the transaction: the code marked used and one ciphertext appended — no counter,
    no audit event, no time (docs/decisions/0017). Three statements: find, mark, append.

    With `retry_key` (the request's Idempotency-Key) the receipt is also kept on the used code,
    sealed under that key: the same ballot sent again with the same key gets the first answer."""
    try:
        usable = _usable(session, typed_code)
    except CodeRejected:
        replayed = replay(session, typed_code, retry_key, answers) if retry_key else None
        if replayed is None:
            raise
        return replayed
    session_id, category = usable.session_id, usable.category
    fixed = shape(session, session_id, usable.public_key)
    checked = _check_answers(fixed, answers)
    sealed = box.seal(fixed.public_key, session_id, box.encode(fixed.layout, category, checked))
    digest = box.digest(sealed)
    receipt = box.receipt(digest)
    retry_box = (
        box.seal_retry(retry_key, usable.code, receipt, box.answers_digest(answers))
        if retry_key
        else None
    )
    marked: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(BallotCode)
        .where(BallotCode.id == usable.code_id, BallotCode.used.is_(False))
        .values(used=True, retry_box=retry_box)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # a concurrent submission of the same code won
        raise CodeRejected("this code has been used already", reason="used")
    session.execute(
        insert(SealedBallot).values(
            session_id=session_id, digest=digest, receipt=receipt, sealed=sealed
        )
    )
    return Cast(session_id, fixed.title, receipt)


def replay(
    session: Session,
    typed_code: str,
    retry_key: str,
    answers: Sequence[Mapping[str, Any]] | None = None,
) -> Cast | None:
    """The first answer to a ballot sent again with its Idempotency-Key (even after the session
    closed); None if this key cast nothing with this code. Different `answers` (when given)
    are refused: the first ballot counts."""
    code = codes.normalize(typed_code)
    if code is None:
        return None
    row = session.execute(
        select(BallotCode.retry_box, BallotSession.id, BallotSession.title)
        .join(BallotSession, BallotSession.id == BallotCode.session_id)
        .where(BallotCode.code == code, BallotCode.used.is_(True))
    ).first()
    if row is None or row[0] is None:
        return None
    opened = box.open_retry(retry_key, code, row[0])
    if opened is None:
        return None
    receipt, sent_digest = opened
    if answers is not None and sent_digest != box.answers_digest(answers):
        raise IdempotencyKeyReused(
            "this Idempotency-Key cast a different ballot with this code; the first one counts"
        )
    return Cast(row[1], row[2], receipt, replayed=True)


def _check_answers(fixed: Shape, answers: Sequence[Mapping[str, Any]]) -> dict[int, box.Answer]:
    """Each grading of the session answered once: a choice of the scheme (or 不了解 where the
    campaign allows it), or a score within its maximum for every indicator."""
    expected = set(fixed.layout.gradings)
    given = [a["grading_id"] for a in answers]
    errors: dict[str, list[str]] = {}
    if sorted(given) != sorted(expected):
        errors["answers"] = [
            f"answer for exactly these gradings: {', '.join(map(str, sorted(expected)))}"
        ]
        raise ValidationFailed("the ballot does not match its session", errors=errors)
    checked: dict[int, box.Answer] = {}
    for n, answer in enumerate(answers):
        if fixed.asks == "level":
            choice = answer.get("level")
            if choice not in fixed.allowed:
                errors[f"answers.{n}.level"] = [f"choose one of {', '.join(sorted(fixed.allowed))}"]
                continue
            checked[answer["grading_id"]] = choice
            continue
        maxima = fixed.maxima[answer["grading_id"]]
        scores = {s["indicator"]: s["score"] for s in answer.get("scores") or []}
        if set(scores) != set(maxima):
            errors[f"answers.{n}.scores"] = [f"score each of {', '.join(maxima)} once"]
            continue
        for code, score in scores.items():
            if score > maxima[code]:
                errors[f"answers.{n}.scores"] = [f"{code}: above its maximum {maxima[code]}"]
        checked[answer["grading_id"]] = scores
    if errors:
        raise ValidationFailed("the ballot's answers are not valid", errors=errors)
    return checked


def close(session: Session, actor: Actor, ballot: BallotSession) -> BallotSession:
    """No more ballots: each category's returned ballots are its used codes, counted now."""
    BALLOT_SESSION_WORKFLOW.fire(ballot, "close")
    used = dict(
        session.execute(
            select(BallotCode.category, func.count())
            .where(BallotCode.session_id == ballot.id, BallotCode.used.is_(True))
            .group_by(BallotCode.category)
        ).all()
    )
    for category in ballot.categories:
        category.returned = used.get(category.code, 0)
    session.flush()
    record(
        session,
        actor,
        "ballot_session.close",
        "ballot_session",
        ballot.id,
        organization_id=ballot.organization_id,
        after={"returned": {c.code: c.returned for c in ballot.categories}},
    )
    return ballot


# (grading id, category code, item) -> (ballots, sum of scores); item: a choice or an indicator
Totals = dict[tuple[int, str, str], tuple[int, Decimal]]


def count(
    session: Session, actor: Actor, ballot: BallotSession, *, box_secret: str | Sequence[str]
) -> BallotSession:
    """Check the quorum, open the box in memory (in digest order, unrelated to arrival), add the
    ballots up and write each grading's tally (a versioned record). Decrypted ballots are never
    written, logged or returned; the counting event commits to the box (ballots and digest)."""
    BALLOT_SESSION_WORKFLOW.check(ballot, "count")
    issued = sum(c.issued for c in ballot.categories)
    returned = sum(c.returned for c in ballot.categories)
    if any(c.eligible is None for c in ballot.categories):  # a session from before the roll
        base, of_whom = issued, "of those issued"
    else:
        _check_attendance(ballot)
        base, of_whom = sum(c.eligible or 0 for c in ballot.categories), "of those eligible"
    required = required_ballots(ballot.quorum, base)
    if returned < required:
        raise QuorumNotMet(
            f"{returned} ballots came back for {base} {of_whom.split()[-1]}; counting needs at "
            f"least {required} ({ballot.quorum:.2%} {of_whom})",
            issued=issued,
            eligible=base,
            returned=returned,
            required=required,
        )
    ballot_layout = layout(session, ballot)
    digests, totals = _open_box(session, ballot, box_secret, ballot_layout)
    if len(digests) != returned:  # every used code sealed exactly one ballot
        raise RuntimeError(f"ballot session {ballot.id}: {len(digests)} sealed, {returned} used")
    campaign = session.get_one(Campaign, ballot.campaign_id)
    for link in ballot.gradings:
        grading = session.get_one(Grading, link.grading_id)
        records.write(
            session,
            actor,
            grading,
            "ballot_tally" if ballot.stage == GradingState.EVALUATION else "satisfaction_tally",
            tally(session, ballot, campaign, grading, totals, ballot_layout),
            key=f"S{ballot.id}",
        )
    ballot.box_ballots, ballot.box_digest = len(digests), box.box_digest(digests)
    BALLOT_SESSION_WORKFLOW.apply(ballot, "count")
    session.flush()
    _forget_when_codes_were_used(session, ballot)
    record(
        session,
        actor,
        "ballot_session.count",
        "ballot_session",
        ballot.id,
        organization_id=ballot.organization_id,
        after={
            "issued": issued,
            "returned": returned,
            "ballots": ballot.box_ballots,
            "box_digest": ballot.box_digest,
        },
    )
    return ballot


def _forget_when_codes_were_used(session: Session, ballot: BallotSession) -> None:
    """Counted, a session's codes are written again, all in this transaction and in random
    order: each used code's row no longer shares a transaction id with its ballot (nor, once
    VACUUM has taken the old row versions, does any version of it), and where the rows lie says
    nothing of the order they were used in. The receipts sealed for retries go: a retry now
    meets the closed session. (docs/decisions/0017, "After counting".)"""
    rows = session.execute(
        select(BallotCode.id, BallotCode.category, BallotCode.code, BallotCode.used).where(
            BallotCode.session_id == ballot.id
        )
    ).all()
    session.execute(
        delete(BallotCode)
        .where(BallotCode.session_id == ballot.id)
        .execution_options(synchronize_session=False)
    )
    shuffled = list(rows)
    secrets.SystemRandom().shuffle(shuffled)
    if shuffled:
        session.execute(
            insert(BallotCode),
            [
                {"id": i, "session_id": ballot.id, "category": c, "code": k, "used": u}
                for i, c, k, u in shuffled
            ],
        )


def _check_attendance(ballot: BallotSession) -> None:
    """Counting needs who came (实到) in every category, and no category holding more ballots
    than people present."""
    missing = [c.code for c in ballot.categories if c.present is None]
    if missing:
        raise AttendanceMismatch(
            f"record the attendance first (POST …/attendance): {', '.join(missing)}",
            rule=_rule(
                "attendance_recorded",
                "计票前须登记各类人员的实到人数",
                "the attendance of every category is recorded before counting",
            ),
            categories=missing,
        )
    over = [c for c in ballot.categories if c.returned > (c.present or 0)]
    if over:
        raise AttendanceMismatch(
            "more ballots than people present: "
            + ", ".join(f"{c.code} {c.returned} > {c.present}" for c in over),
            rule=_rule(
                "ballots_within_attendance",
                "收回的票多于实到人数，不能计票：请核实到会情况",
                "more ballots came back than people were present",
            ),
            categories=[c.code for c in over],
        )


def _open_box(
    session: Session,
    ballot: BallotSession,
    box_secret: str | Sequence[str],
    ballot_layout: box.Layout,
) -> tuple[list[str], Totals]:
    if ballot.box_private_key_wrapped is None:
        raise BallotBoxLocked(f"ballot session {ballot.id} has no box key", session_id=ballot.id)
    ring = [box_secret] if isinstance(box_secret, str) else list(box_secret)
    try:
        private = box.unwrap_any(ring, ballot.id, ballot.box_private_key_wrapped)
    except box.BoxKeyUnavailable as exc:
        raise BallotBoxLocked(
            f"the box of ballot session {ballot.id} cannot be opened: its key was sealed under "
            "another BALLOT_BOX_SECRET. Put that secret back (or in BALLOT_BOX_SECRET_PREVIOUS), "
            "or have a supervisor void the session with a reason and hold the meeting again",
            session_id=ballot.id,
        ) from exc
    digests: list[str] = []
    totals: Totals = {}
    for digest, sealed in session.execute(
        select(SealedBallot.digest, SealedBallot.sealed)
        .where(SealedBallot.session_id == ballot.id)
        .order_by(SealedBallot.digest)
    ):
        category, answers = box.decode(ballot_layout, box.open_sealed(private, ballot.id, sealed))
        digests.append(digest)
        for grading_id, answer in answers.items():
            items = {answer: Decimal(0)} if isinstance(answer, str) else answer
            for item, value in items.items():
                n, total = totals.get((grading_id, category, item), (0, Decimal(0)))
                totals[(grading_id, category, item)] = (n + 1, total + value)
    return digests, totals


def tally(
    session: Session,
    ballot: BallotSession,
    campaign: Campaign,
    grading: Grading,
    totals: Totals,
    ballot_layout: box.Layout,
) -> dict[str, Any]:
    """One grading's results in a session: per category, and per rating source."""
    points = choice_points(config_of(session, campaign))
    standard = session.get_one(Standard, grading.standard_id)
    categories = []
    for category in ballot.categories:
        figures: dict[str, Any] = {
            "code": category.code,
            "label": category.label,
            "source": category.source,
            "eligible": category.eligible,
            "present": category.present,
            "issued": category.issued,
            "returned": category.returned,
            "invalid": 0,
        }
        mine = {
            item: totals.get((grading.id, category.code, item), (0, Decimal(0)))
            for item in (ballot_layout.choices or [i.code for i in standard.indicators])
        }
        if ballot.asks == "level":
            distribution = {choice: n for choice, (n, _) in mine.items()}
            valid = sum(n for choice, n in distribution.items() if choice != UNKNOWN)
            earned = sum(
                (points[choice] * n for choice, n in distribution.items() if choice != UNKNOWN),
                Decimal(0),
            )
            figures |= {
                "distribution": distribution,
                "unknown": distribution.get(UNKNOWN, 0),
                "valid": valid,
                "earned": earned,
                "points": round_score(exact(earned) / valid) if valid else None,
            }
        else:
            valid = max((n for n, _ in mine.values()), default=0)
            sums = {code: total for code, (_, total) in mine.items()}
            figures |= {
                "sums": sums,
                "scale": standard.total_points,
                "averages": {
                    code: round_score(exact(total) / n) if n else None
                    for code, (n, total) in mine.items()
                },
                "unknown": 0,
                "valid": valid,
            }
            figures["points"] = round_score(category_earned(figures) / valid) if valid else None
        categories.append(figures)
    return {
        "session_id": ballot.id,
        "kind": "electronic",
        "categories": categories,
        "sources": _by_source(categories),
    }


def void(session: Session, actor: Actor, ballot: BallotSession, reason: str) -> BallotSession:
    """A supervisor voids a session that cannot or must not be counted; its box stays sealed."""
    step = "void" if ballot.state == BallotSessionState.OPEN else "void_closed"
    before = ballot.state
    BALLOT_SESSION_WORKFLOW.fire(ballot, step, reason=reason)
    ballot.void_reason = reason
    session.flush()
    record(
        session,
        actor,
        "ballot_session.void",
        "ballot_session",
        ballot.id,
        organization_id=ballot.organization_id,
        before={"state": before},
        after={"state": ballot.state},
        reason=reason,
    )
    return ballot


def bulletin_board(ballot: BallotSession, session: Session) -> dict[str, Any]:
    """After counting: every receipt in the box, sorted, and the digest counting committed to."""
    if ballot.state != BallotSessionState.COUNTED:
        raise BallotSessionWrongState(
            f"the session is {ballot.state}; its receipts are published once it is counted",
            state=ballot.state,
        )
    receipts = session.scalars(
        select(SealedBallot.receipt)
        .where(SealedBallot.session_id == ballot.id)
        .order_by(SealedBallot.receipt)
    ).all()
    return {
        "session_id": ballot.id,
        "title": ballot.title,
        "ballots": ballot.box_ballots,
        "box_digest": ballot.box_digest,
        "receipts": list(receipts),
    }


def receipt_counted(session: Session, ballot: BallotSession, typed: str) -> str:
    """The receipt, if it is in the counted box; 404 otherwise (the same for everyone)."""
    if ballot.state != BallotSessionState.COUNTED:
        raise BallotSessionWrongState(
            f"the session is {ballot.state}; receipts are checked once it is counted",
            state=ballot.state,
        )
    receipt = codes.normalize(typed)
    found = receipt is not None and session.scalar(
        select(SealedBallot.receipt).where(
            SealedBallot.session_id == ballot.id, SealedBallot.receipt == receipt
        )
    )
    if not found:
        raise NotFound("no ballot counted in this session has this receipt")
    return str(found)


def _by_source(categories: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each source's points per valid ballot (shown rounded; computed from the counts)."""
    sums: dict[str, tuple[Fraction, int]] = {}
    for category in categories:
        if not category["valid"]:
            continue
        total, valid = sums.get(category["source"], (Fraction(0), 0))
        sums[category["source"]] = (total + category_earned(category), valid + category["valid"])
    return {s: {"points": round_score(t / v), "valid": v} for s, (t, v) in sums.items()}


def paper_tally(
    session: Session,
    actor: Actor,
    grading: Grading,
    data: Mapping[str, Any],
    key: str | None = None,
    reason: str | None = None,
) -> RecordVersion | Approval:
    """The teller's tally of paper ballots; a correction is a new version a supervisor approves."""
    config = config_of(session, session.get_one(Campaign, grading.campaign_id))
    known = {c["code"]: c for c in config["categories"]}
    points = choice_points(config)
    errors: dict[str, list[str]] = {}
    categories = []
    for n, entry in enumerate(data["categories"]):
        category = known.get(entry["code"])
        if category is None:
            errors[f"categories.{n}.code"] = [f"the campaign's categories are {', '.join(known)}"]
            continue
        distribution = dict(entry["distribution"])
        unknown_choices = set(distribution) - set(points) - {UNKNOWN}
        if unknown_choices:
            errors[f"categories.{n}.distribution"] = [
                f"unknown choices: {', '.join(sorted(unknown_choices))}"
            ]
            continue
        if entry["returned"] > entry["issued"]:
            errors[f"categories.{n}.returned"] = ["more returned than issued"]
        if entry["returned"] > entry["present"]:
            errors[f"categories.{n}.returned"] = ["more returned than people present"]
        counted = sum(distribution.values())
        if counted != entry["returned"] - entry["invalid"]:
            errors[f"categories.{n}.distribution"] = [
                f"the choices add up to {counted}, but returned − invalid is "
                f"{entry['returned'] - entry['invalid']}"
            ]
        valid = sum(v for c, v in distribution.items() if c != UNKNOWN)
        earned = sum((points[c] * v for c, v in distribution.items() if c != UNKNOWN), Decimal(0))
        categories.append(
            {
                "code": entry["code"],
                "label": category["label"],
                "source": category["source"],
                "present": entry["present"],
                "issued": entry["issued"],
                "returned": entry["returned"],
                "invalid": entry["invalid"],
                "unknown": distribution.get(UNKNOWN, 0),
                "distribution": distribution,
                "valid": valid,
                "earned": earned,  # the points of the valid ballots: the average is derived
                "points": round_score(exact(earned) / valid) if valid else None,
            }
        )
    if errors:
        raise ValidationFailed("the paper tally does not add up", errors=errors)
    quorum = Decimal(str(config["quorum"]))
    org = session.get_one(Organization, grading.organization_id)
    eligible = fit_roll(data["categories"], known, [org], quorum, data.get("over_issue_reason"))
    for figures, allowed in zip(categories, eligible, strict=True):
        figures["eligible"] = allowed
    check_present({c["code"]: (c["present"], c["eligible"]) for c in categories})
    issued = sum(c["issued"] for c in categories)
    returned = sum(c["returned"] for c in categories)
    required = required_ballots(quorum, sum(eligible))
    if returned < required:
        raise QuorumNotMet(
            f"{returned} ballots came back for {sum(eligible)} eligible; the quorum is "
            f"{quorum:.2%} of those eligible ({required})",
            issued=issued,
            eligible=sum(eligible),
            returned=returned,
            required=required,
        )
    tally_data = {"kind": "paper", "categories": categories, "sources": _by_source(categories)}
    if data.get("over_issue_reason"):
        tally_data["over_issue_reason"] = data["over_issue_reason"]
    if key is None:
        grading.require_stage(GradingState.EVALUATION, "a paper tally")
        existing = [
            v
            for v in records.latest_versions(session, grading.id, "ballot_tally")
            if v.record_key.startswith("P")
        ]
        key = f"P{len(existing) + 1}"
    elif records.current(session, grading.id, "ballot_tally", key) is None:
        raise NotFound(f"grading {grading.id} has no paper tally {key}")
    return records.write(
        session, actor, grading, "ballot_tally", tally_data, key=key, reason=reason
    )


def rewrap_boxes(session: Session, ring: Sequence[str]) -> tuple[int, list[int]]:
    """After BALLOT_BOX_SECRET's rotation: the key of every box still to be counted wrapped
    under the current secret. Returns how many were, and the sessions no secret opens."""
    done, locked = 0, []
    for ballot in session.scalars(
        select(BallotSession)
        .where(
            BallotSession.state.in_((BallotSessionState.OPEN, BallotSessionState.CLOSED)),
            BallotSession.box_private_key_wrapped.is_not(None),
        )
        .order_by(BallotSession.id)
    ):
        wrapped = ballot.box_private_key_wrapped
        assert wrapped is not None
        try:
            box.unwrap(ring[0], ballot.id, wrapped)
            continue  # already the current secret's
        except box.BoxKeyUnavailable:
            pass
        try:
            ballot.box_private_key_wrapped = box.rewrap(ring, ballot.id, wrapped)
            done += 1
        except box.BoxKeyUnavailable:
            locked.append(ballot.id)
    session.flush()
    return done, locked


def graded_organizations(session: Session, ballot: BallotSession) -> list[Organization]:
    """The organizations a meeting rates, in id order."""
    return list(
        session.scalars(
            select(Organization)
            .join(Grading, Grading.organization_id == Organization.id)
            .join(BallotSessionGrading, BallotSessionGrading.grading_id == Grading.id)
            .where(BallotSessionGrading.session_id == ballot.id)
            .order_by(Organization.id)
        )
    )


def codes_of(session: Session, ballot: BallotSession) -> list[BallotCode]:
    return list(
        session.scalars(
            select(BallotCode).where(BallotCode.session_id == ballot.id).order_by(BallotCode.id)
        )
    )


def listed(principal: Principal, filters: Mapping[str, Any], within: str | None) -> Any:
    """The meetings of the committees the caller sees (narrowed to the subtree at `within`),
    by campaign, by a grading they asked about, by state."""
    query = (
        select(BallotSession)
        .join(Organization, Organization.id == BallotSession.organization_id)
        .where(principal.visible_filter(Organization.path))
    )
    if "campaign_id" in filters:
        query = query.where(BallotSession.campaign_id == filters["campaign_id"])
    if "grading_id" in filters:
        asked = select(BallotSessionGrading.session_id).where(
            BallotSessionGrading.grading_id == filters["grading_id"]
        )
        query = query.where(BallotSession.id.in_(asked))
    if "state" in filters:
        query = query.where(BallotSession.state == filters["state"])
    return in_subtree(query, within)
