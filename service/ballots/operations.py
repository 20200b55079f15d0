"""Ballot sessions: open (codes issued), submit (anonymous), close, count (quorum), results;
and paper tallies entered by the teller."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from service.audit.operations import record
from service.ballots import codes
from service.ballots.config import UNKNOWN, ballot_config, choice_points
from service.ballots.models import (
    BallotCategory,
    BallotCode,
    BallotCounter,
    BallotSession,
    BallotSessionGrading,
)
from service.campaigns.models import Campaign
from service.context import Actor
from service.db import utcnow
from service.errors import (
    CodeRejected,
    NotFound,
    QuorumNotMet,
    StageNotOpen,
    ValidationFailed,
)
from service.gradings.models import Approval, Grading
from service.organizations.models import Organization
from service.records import operations as records
from service.records.models import RecordVersion
from service.scores import round_score
from service.standards.models import LevelScheme, Standard
from service.workflows.ballot_session import BALLOT_SESSION_WORKFLOW
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


def open_session(
    session: Session,
    actor: Actor,
    campaign: Campaign,
    gradings: list[tuple[Grading, Organization]],
    data: Mapping[str, Any],
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
    asks = data.get("asks", "level")
    ballot = BallotSession(
        campaign_id=campaign.id,
        organization_id=_common_ancestor([o for _, o in gradings]),
        title=data["title"],
        asks=asks,
        state=BallotSessionState.OPEN,
        quorum=Decimal(str(config["quorum"])),
        held_on=utcnow().date(),
        opened_by=actor.username,
        categories=[
            BallotCategory(
                position=n,
                code=c["code"],
                label=known[c["code"]]["label"],
                source=known[c["code"]]["source"],
                issued=c["issued"],
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
    items = _items(session, ballot, campaign)
    for grading, _ in gradings:
        for category in ballot.categories:
            for item in items:
                session.add(
                    BallotCounter(
                        session_id=ballot.id,
                        grading_id=grading.id,
                        category=category.code,
                        item=item,
                    )
                )
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
            "gradings": [g.id for g, _ in gradings],
            "issued": {c.code: c.issued for c in ballot.categories},
        },
    )
    return ballot


def _items(session: Session, ballot: BallotSession, campaign: Campaign) -> list[str]:
    if ballot.asks == "level":
        return [f"level:{lv.code}" for lv in _scheme(session, campaign).levels] + [
            f"level:{UNKNOWN}"
        ]
    standard_ids = {session.get_one(Grading, g.grading_id).standard_id for g in ballot.gradings}
    indicator_codes: list[str] = []
    for standard_id in sorted(standard_ids):
        for indicator in session.get_one(Standard, standard_id).indicators:
            if f"indicator:{indicator.code}" not in indicator_codes:
                indicator_codes.append(f"indicator:{indicator.code}")
    return indicator_codes


def _usable(session: Session, typed_code: str) -> tuple[BallotCode, BallotSession]:
    code = codes.normalize(typed_code)
    row = (
        session.scalars(select(BallotCode).where(BallotCode.code == code)).first() if code else None
    )
    if row is None:
        raise CodeRejected(
            "no ballot has this code; check it for typing mistakes", reason="unknown"
        )
    ballot = session.get_one(BallotSession, row.session_id)
    if ballot.state != BallotSessionState.OPEN:
        raise CodeRejected("voting in this session has ended", reason="closed")
    if row.used:
        raise CodeRejected("this code has been used already", reason="used")
    return row, ballot


def form(session: Session, typed_code: str) -> dict[str, Any]:
    """What the ballot of this code asks, for the page a voter's QR code opens."""
    row, ballot = _usable(session, typed_code)
    campaign = session.get_one(Campaign, ballot.campaign_id)
    config = config_of(session, campaign)
    choices = [{"code": lv.code, "label": lv.label} for lv in _scheme(session, campaign).levels]
    if config["allow_unknown"]:
        choices.append({"code": UNKNOWN, "label": "不了解"})
    questions = []
    for link in ballot.gradings:
        grading = session.get_one(Grading, link.grading_id)
        org = session.get_one(Organization, grading.organization_id)
        question: dict[str, Any] = {"grading_id": grading.id, "organization_name": org.name}
        if ballot.asks == "level":
            question["choices"] = choices
        else:
            question["indicators"] = [
                {"code": i.code, "name": i.name, "max_points": str(i.max_points)}
                for i in session.get_one(Standard, grading.standard_id).indicators
            ]
        questions.append(question)
    category = next(c.label for c in ballot.categories if c.code == row.category)
    return {
        "session": ballot.title,
        "category": category,
        "asks": ballot.asks,
        "questions": questions,
    }


def submit(
    session: Session, actor: Actor, typed_code: str, answers: list[Mapping[str, Any]]
) -> BallotSession:
    """Accept one anonymous ballot. Nothing that links the code to the answers is kept."""
    row, ballot = _usable(session, typed_code)
    campaign = session.get_one(Campaign, ballot.campaign_id)
    increments = _check_answers(session, ballot, campaign, answers)
    marked: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(BallotCode)
        .where(BallotCode.id == row.id, BallotCode.used.is_(False))
        .values(used=True)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # a concurrent submission of the same code won
        raise CodeRejected("this code has been used already", reason="used")
    for grading_id, item, value in increments:
        session.execute(
            update(BallotCounter)
            .where(
                BallotCounter.session_id == ballot.id,
                BallotCounter.grading_id == grading_id,
                BallotCounter.category == row.category,
                BallotCounter.item == item,
            )
            .values(count=BallotCounter.count + 1, total=BallotCounter.total + value)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(BallotCategory)
        .where(BallotCategory.session_id == ballot.id, BallotCategory.code == row.category)
        .values(returned=BallotCategory.returned + 1)
        .execution_options(synchronize_session=False)
    )
    # No code, no content, no address, no request id: only that a ballot arrived.
    anonymous = Actor(account_id=None, username="anonymous voter", role=None)
    record(
        session,
        anonymous,
        "ballot.submit",
        "ballot_session",
        ballot.id,
        organization_id=ballot.organization_id,
    )
    return ballot


def _check_answers(
    session: Session, ballot: BallotSession, campaign: Campaign, answers: list[Mapping[str, Any]]
) -> list[tuple[int, str, Decimal]]:
    config = config_of(session, campaign)
    expected = {g.grading_id for g in ballot.gradings}
    given = [a["grading_id"] for a in answers]
    errors: dict[str, list[str]] = {}
    if sorted(given) != sorted(expected):
        errors["answers"] = [
            f"answer for exactly these gradings: {', '.join(map(str, sorted(expected)))}"
        ]
        raise ValidationFailed("the ballot does not match its session", errors=errors)
    levels = set(config["choice_points"]) | ({UNKNOWN} if config["allow_unknown"] else set())
    increments: list[tuple[int, str, Decimal]] = []
    for n, answer in enumerate(answers):
        if ballot.asks == "level":
            choice = answer.get("level")
            if choice not in levels:
                errors[f"answers.{n}.level"] = [f"choose one of {', '.join(sorted(levels))}"]
                continue
            increments.append((answer["grading_id"], f"level:{choice}", Decimal(0)))
            continue
        grading = session.get_one(Grading, answer["grading_id"])
        indicators = {i.code: i for i in session.get_one(Standard, grading.standard_id).indicators}
        scores = {s["indicator"]: s["score"] for s in answer.get("scores") or []}
        if set(scores) != set(indicators):
            errors[f"answers.{n}.scores"] = [f"score each of {', '.join(indicators)} once"]
            continue
        for code, score in scores.items():
            if score > indicators[code].max_points:
                errors[f"answers.{n}.scores"] = [
                    f"{code}: above its maximum {indicators[code].max_points}"
                ]
            increments.append((answer["grading_id"], f"indicator:{code}", score))
    if errors:
        raise ValidationFailed("the ballot's answers are not valid", errors=errors)
    return increments


def close(session: Session, actor: Actor, ballot: BallotSession) -> BallotSession:
    BALLOT_SESSION_WORKFLOW.fire(ballot, "close")
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


def count(session: Session, actor: Actor, ballot: BallotSession) -> BallotSession:
    """Check the quorum, then write each grading's tally (a versioned record)."""
    BALLOT_SESSION_WORKFLOW.check(ballot, "count")
    issued = sum(c.issued for c in ballot.categories)
    returned = sum(c.returned for c in ballot.categories)
    required = (ballot.quorum * issued).to_integral_value(rounding="ROUND_CEILING")
    if returned < required:
        raise QuorumNotMet(
            f"{returned} of {issued} ballots were returned; counting needs at least {required} "
            f"({ballot.quorum:.2%} of those issued)",
            issued=issued,
            returned=returned,
            required=int(required),
        )
    campaign = session.get_one(Campaign, ballot.campaign_id)
    for link in ballot.gradings:
        grading = session.get_one(Grading, link.grading_id)
        records.write(
            session,
            actor,
            grading,
            "ballot_tally" if grading.state == GradingState.EVALUATION else "satisfaction_tally",
            tally(session, ballot, campaign, grading),
            key=f"S{ballot.id}",
        )
    BALLOT_SESSION_WORKFLOW.apply(ballot, "count")
    session.flush()
    record(
        session,
        actor,
        "ballot_session.count",
        "ballot_session",
        ballot.id,
        organization_id=ballot.organization_id,
        after={"issued": issued, "returned": returned},
    )
    return ballot


def tally(
    session: Session, ballot: BallotSession, campaign: Campaign, grading: Grading
) -> dict[str, Any]:
    """One grading's results in a session: per category, and per rating source."""
    counters = session.scalars(
        select(BallotCounter).where(
            BallotCounter.session_id == ballot.id, BallotCounter.grading_id == grading.id
        )
    ).all()
    points = choice_points(config_of(session, campaign))
    standard = session.get_one(Standard, grading.standard_id)
    categories = []
    for category in ballot.categories:
        mine = [c for c in counters if c.category == category.code]
        figures: dict[str, Any] = {
            "code": category.code,
            "label": category.label,
            "source": category.source,
            "issued": category.issued,
            "returned": category.returned,
            "invalid": 0,
        }
        if ballot.asks == "level":
            distribution = {c.item.split(":", 1)[1]: c.count for c in mine}
            valid = sum(n for choice, n in distribution.items() if choice != UNKNOWN)
            earned = sum(
                (points[choice] * n for choice, n in distribution.items() if choice != UNKNOWN),
                Decimal(0),
            )
            figures |= {
                "distribution": distribution,
                "unknown": distribution.get(UNKNOWN, 0),
                "valid": valid,
                "points": round_score(earned / valid) if valid else None,
            }
        else:
            valid = mine[0].count if mine else 0
            averages = {
                c.item.split(":", 1)[1]: (c.total / c.count if c.count else Decimal(0))
                for c in mine
            }
            total = sum(averages.values(), Decimal(0)) * Decimal(100) / standard.total_points
            figures |= {
                "averages": {k: round_score(v) for k, v in averages.items()},
                "unknown": 0,
                "valid": valid,
                "points": round_score(total) if valid else None,
            }
        categories.append(figures)
    return {
        "session_id": ballot.id,
        "kind": "electronic",
        "categories": categories,
        "sources": _by_source(categories),
    }


def _by_source(categories: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    sums: dict[str, tuple[Decimal, int]] = {}
    for category in categories:
        if not category["valid"] or category["points"] is None:
            continue
        total, valid = sums.get(category["source"], (Decimal(0), 0))
        sums[category["source"]] = (
            total + Decimal(category["points"]) * category["valid"],
            valid + category["valid"],
        )
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
                "issued": entry["issued"],
                "returned": entry["returned"],
                "invalid": entry["invalid"],
                "unknown": distribution.get(UNKNOWN, 0),
                "distribution": distribution,
                "valid": valid,
                "points": round_score(earned / valid) if valid else None,
            }
        )
    if errors:
        raise ValidationFailed("the paper tally does not add up", errors=errors)
    issued = sum(c["issued"] for c in categories)
    returned = sum(c["returned"] for c in categories)
    quorum = Decimal(str(config["quorum"]))
    if returned < quorum * issued:
        raise QuorumNotMet(
            f"{returned} of {issued} ballots were returned; the quorum is {quorum:.2%}",
            issued=issued,
            returned=returned,
        )
    tally_data = {"kind": "paper", "categories": categories, "sources": _by_source(categories)}
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
