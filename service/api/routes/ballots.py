from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.duties import check_duty, config_of, require_duty, with_duty
from service.api.idempotent import IDEMPOTENCY_KEY_RE
from service.api.pagination import Page, paginate
from service.api.records import write_record
from service.api.routing import Ctx, Reply, operation, public_base
from service.api.schemas.ballots import (
    AttendanceIn,
    BallotAccepted,
    BallotFormOut,
    BallotIn,
    BallotSessionIn,
    BallotSessionOut,
    BallotSessionPage,
    BallotSessionQuery,
    BulletinBoardOut,
    CodesQuery,
    PaperTallyCorrection,
    PaperTallyIn,
    ReceiptOut,
    TallyList,
    TallyOut,
    VoidIn,
)
from service.api.schemas.gradings import ApprovalOut
from service.api.scope import scoped, within_path
from service.api.throttle import throttle_ballots
from service.api.transitions import as_asked
from service.ballots import cards, sheets
from service.ballots import operations as ops
from service.ballots.models import BallotSession
from service.ballots.workflow import BALLOT_SESSION_WORKFLOW
from service.campaigns.models import Campaign
from service.campaigns.procedure import Duty
from service.errors import BallotSessionWrongState, MalformedRequest
from service.gradings import records
from service.gradings.models import Grading, RecordVersion
from service.organizations.models import Organization
from service.organizations.operations import get_organization
from service.workflows.states import BallotSessionState, GradingState

TAG = "ballots"


def _out(ctx: Ctx, ballot: BallotSession) -> dict[str, Any]:
    results = None
    if ballot.state == BallotSessionState.COUNTED:
        results = []
        for link in ballot.gradings:
            current = records.current(
                ctx.session, link.grading_id, "ballot_tally", f"S{ballot.id}"
            ) or records.current(
                ctx.session, link.grading_id, "satisfaction_tally", f"S{ballot.id}"
            )
            if current is not None:
                results.append({"grading_id": link.grading_id, **current.data})
    return {
        "id": ballot.id,
        "campaign_id": ballot.campaign_id,
        "organization_id": ballot.organization_id,
        "title": ballot.title,
        "asks": ballot.asks,
        "stage": ballot.stage,
        "state": ballot.state,
        "quorum": str(ballot.quorum),
        "held_on": ballot.held_on,
        "grading_ids": [g.grading_id for g in ballot.gradings],
        "categories": [
            {
                "code": c.code,
                "label": c.label,
                "source": c.source,
                "eligible": c.eligible,
                "present": c.present,
                "issued": c.issued,
                "returned": None if ballot.state == BallotSessionState.OPEN else c.returned,
            }
            for c in ballot.categories
        ],
        "results": results,
        "ballots": ballot.box_ballots,
        "box_digest": ballot.box_digest,
        "void_reason": ballot.void_reason,
        "over_issue_reason": ballot.over_issue_reason,
    }


def _duty(stage: str) -> Duty:
    """A meeting in evaluation is the ballot (测评); in promotion, the satisfaction meeting."""
    return Duty.SATISFACTION if stage == GradingState.PROMOTION else Duty.BALLOT


def _graded(ctx: Ctx, ballot: BallotSession) -> list[Organization]:
    return ops.graded_organizations(ctx.session, ballot)


def _run_by_superior(ctx: Ctx, ballot: BallotSession, roles: tuple[str, ...], what: str) -> None:
    """The session's duty (ballot or satisfaction) for each organization it rates."""
    config = config_of(ctx, ballot.campaign_id)
    for org in _graded(ctx, ballot):
        check_duty(ctx, org, config, _duty(ballot.stage), roles, what)


def _over_issue_by_superior(ctx: Ctx, orgs: list[Organization], stage: str) -> None:
    """More codes than people eligible: only someone above every graded organization may say
    why (whatever the campaign relaxed)."""
    if ctx.body.get("over_issue_reason"):
        for org in orgs:
            check_duty(ctx, org, None, _duty(stage), OVER_ISSUERS, "issuing more codes")


OVER_ISSUERS = (Role.TELLER, Role.SUPERVISOR)
RUN_BY_SUPERIOR = (
    "Who may: a teller holding the role above every graded organization (the superior's duty "
    "`ballot`, or `satisfaction` in promotion; decision_config.duties may relax it), never "
    "someone homed in one of them — 403 superior-duty otherwise."
)


@operation(
    api,
    "POST",
    "/ballot-sessions",
    summary="Open a ballot session (测评会) for one or several gradings; issues one-time codes",
    tag=TAG,
    body=BallotSessionIn,
    responses={201: BallotSessionOut},
    errors=(403, 404, 409, 422),
    description="Opened while the gradings are in evaluation (or all in promotion: the "
    "satisfaction meeting). Party members eligible (应到) come from the graded organizations' "
    "rolls; no more codes than people eligible unless the superior says why "
    "(over_issue_reason), and enough to reach the quorum — 422 ballot-roll naming the rule "
    "otherwise. Print the codes from GET /ballot-sessions/{id}/codes (SVG with QR codes, or "
    "CSV). " + RUN_BY_SUPERIOR,
)
def open_session(ctx: Ctx) -> Any:
    campaign, _ = scoped(ctx, Campaign, ctx.body["campaign_id"])
    gradings = []
    for grading_id in dict.fromkeys(ctx.body["grading_ids"]):
        grading, org = scoped(ctx, Grading, grading_id)
        duty = _duty(grading.state)
        require_duty(ctx, org, campaign.id, duty, [Role.TELLER], "holding a ballot session")
        gradings.append((grading, org))
    _over_issue_by_superior(ctx, [o for _, o in gradings], gradings[0][0].state)
    ballot = ops.open_session(
        ctx.session, ctx.actor, campaign, gradings, ctx.body, box_secret=ctx.settings.box_secret
    )
    return Reply(_out(ctx, ballot), 201, {"Location": f"/api/v1/ballot-sessions/{ballot.id}"})


@operation(
    api,
    "GET",
    "/ballot-sessions",
    summary="The ballot sessions you can see: per campaign, per grading, by state",
    tag=TAG,
    query=BallotSessionQuery,
    responses={200: BallotSessionPage},
    errors=(404, 422),
    description="Oldest first, in the committees of your subtree (`within` narrows it). "
    "`grading_id` finds the meetings that asked about one organization — its 测评会 and, "
    "after rectification, its 满意度测评.",
)
def list_sessions(ctx: Ctx) -> Any:
    query = ops.listed(ctx.caller, ctx.query, within_path(ctx, ctx.query))
    page = paginate(ctx, query, BallotSession.id)
    return Page([_out(ctx, b) for b in page.items], page.next_cursor, page.total)


@operation(
    api,
    "GET",
    "/ballot-sessions/<int:session_id>",
    summary="A ballot session; results appear once it is counted",
    tag=TAG,
    responses={200: BallotSessionOut},
    errors=(404,),
)
def get_session(ctx: Ctx, session_id: int) -> Any:
    ballot, _ = scoped(ctx, BallotSession, session_id)
    return _out(ctx, ballot)


@operation(
    api,
    "GET",
    "/ballot-sessions/<int:session_id>/codes",
    summary="The printable codes: a PDF of A4 cut-out cards (a QR code each), SVG or CSV",
    tag=TAG,
    query=CodesQuery,
    responses={200: None},
    errors=(403, 404, 409),
    spec_extra={"x-streamed-formats": ["application/pdf", "image/svg+xml", "text/csv"]},
    description=RUN_BY_SUPERIOR,
)
def get_codes(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    ctx.caller.require(org, [Role.TELLER], "printing ballot codes")
    _run_by_superior(ctx, ballot, (Role.TELLER,), "printing ballot codes")
    if ballot.state != BallotSessionState.OPEN:
        raise BallotSessionWrongState(
            "codes are printed while the session is open", state=ballot.state
        )
    found = ops.codes_of(ctx.session, ballot)
    if ctx.query.get("format") == "pdf":
        font = cards.find_font(current_app.extensions["grading.settings"].pdf_font)
        return Response(
            cards.pdf(ballot, list(found), public_base(), font),
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="ballot-cards-{ballot.id}.pdf"',
                "Cache-Control": "no-store",
            },
        )
    if ctx.query.get("format", "svg") == "csv":
        return Response(
            sheets.csv_text(ballot, list(found), public_base()),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="ballot-codes-{ballot.id}.csv"',
                "Cache-Control": "no-store",
            },
        )
    return Response(
        sheets.svg(ballot, list(found), public_base()),
        mimetype="image/svg+xml",
        headers={"Cache-Control": "no-store"},
    )


@operation(
    api,
    "POST",
    "/ballot-sessions/<int:session_id>/close",
    summary="Close the session: no more ballots",
    tag=TAG,
    responses={200: BallotSessionOut},
    errors=(403, 404, 409),
    description=RUN_BY_SUPERIOR,
    fires=("ballot_session", "close"),
)
def close_session(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    transition = BALLOT_SESSION_WORKFLOW.authorize(ctx.caller, org, "close")
    _run_by_superior(ctx, ballot, transition.roles, "closing a ballot session")
    return _out(ctx, ops.close(ctx.session, ctx.actor, ballot))


@operation(
    api,
    "POST",
    "/ballot-sessions/<int:session_id>/count",
    summary="Count a closed session (the quorum must hold); writes each grading's tally",
    tag=TAG,
    responses={200: BallotSessionOut},
    errors=(403, 404, 409),
    description="Opens the sealed box in memory and writes only the totals. If the box's key "
    "cannot be unwrapped (BALLOT_BOX_SECRET changed or lost) the answer is 409 "
    "ballot-box-locked: the ballots cannot be counted by anyone; restore the secret, or "
    "have a supervisor void the session (POST …/void) and hold the meeting again. Counting "
    "needs the attendance (实到) recorded, no category with more ballots than people present "
    "(409 ballot-attendance), and ballots from the quorum's share of those eligible (409 "
    "quorum-not-met). " + RUN_BY_SUPERIOR,
    fires=("ballot_session", "count"),
)
def count_session(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    transition = BALLOT_SESSION_WORKFLOW.authorize(ctx.caller, org, "count")
    _run_by_superior(ctx, ballot, transition.roles, "counting a ballot session")
    return _out(ctx, ops.count(ctx.session, ctx.actor, ballot, box_secret=ctx.settings.box_secrets))


@operation(
    api,
    "POST",
    "/ballot-sessions/<int:session_id>/void",
    summary="Void a session that cannot or must not be counted (a supervisor, with a reason)",
    tag=TAG,
    body=VoidIn,
    responses={200: BallotSessionOut},
    errors=(403, 404, 409, 422),
    description="A supervisor above every graded organization (the superior's duty, as for "
    "running the session; 403 superior-duty otherwise): a meeting's own organization cannot "
    "void a ballot it dislikes.",
    fires=("ballot_session", "void", "void_closed"),
)
def void_session(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    step = "void" if ballot.state == BallotSessionState.OPEN else "void_closed"
    step = as_asked(ctx, BALLOT_SESSION_WORKFLOW, ballot.state, step)
    transition = BALLOT_SESSION_WORKFLOW.authorize(ctx.caller, org, step)
    _run_by_superior(ctx, ballot, transition.roles, "voiding a ballot session")
    return _out(ctx, ops.void(ctx.session, ctx.actor, ballot, ctx.body["reason"]))


@operation(
    api,
    "POST",
    "/ballot-sessions/<int:session_id>/attendance",
    summary="Record who came (实到), per category, before counting",
    tag=TAG,
    body=AttendanceIn,
    responses={200: BallotSessionOut},
    errors=(403, 404, 409, 422),
    description="Every category once, never more than those eligible (422 ballot-roll "
    "present_within_roll); a second recording needs a reason (both are audited). Counting "
    "refuses a category with more ballots than people present. " + RUN_BY_SUPERIOR,
)
def record_attendance(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    ctx.caller.require(org, [Role.TELLER], "recording the attendance")
    _run_by_superior(ctx, ballot, (Role.TELLER,), "recording the attendance")
    present = {c["code"]: c["present"] for c in ctx.body["categories"]}
    if len(present) != len(ctx.body["categories"]):
        raise MalformedRequest("each category once")
    return _out(
        ctx,
        ops.record_attendance(ctx.session, ctx.actor, ballot, present, ctx.body.get("reason")),
    )


@operation(
    api,
    "POST",
    "/ballots",
    summary="Cast one anonymous ballot with its one-time code (no account)",
    tag=TAG,
    auth=False,
    idempotent=False,
    body=BallotIn,
    responses={201: BallotAccepted},
    errors=(400, 409, 422, 429),
    description="A used, unknown or closed code answers 409 ballot-code-rejected with `reason` "
    "unknown / used / closed — or stage_over once a graded organization has left the stage "
    "the meeting was held for. The ballot is sealed to the session's key and put in its box; "
    "nothing is counted, timed or logged per ballot. The answer carries a receipt: after "
    "counting, GET /public/ballot-sessions/{id}/receipts/{receipt} tells whether it was "
    "counted. Limited per client (BALLOT_LIMIT per BALLOT_WINDOW_SECONDS): past it, 429. "
    "Send an Idempotency-Key (random, at least 16 characters: a UUID): a retry after a lost "
    "answer gets the first answer and its receipt (Idempotent-Replayed: true), even once the "
    "session has closed; the receipt is kept sealed under that key, which is never stored.",
)
def cast_ballot(ctx: Ctx) -> Any:
    throttle_ballots()
    cast = ops.submit(ctx.session, ctx.body["code"], ctx.body["answers"], _retry_key())
    body = {"accepted": True, "session": cast.title, "session_id": cast.session_id}
    return Reply(
        {**body, "receipt": cast.receipt},
        201,
        {"Idempotent-Replayed": "true"} if cast.replayed else {},
    )


def _retry_key() -> str | None:
    """The ballot's Idempotency-Key: random and long enough that the receipt it seals cannot be
    opened by guessing it (a UUID will do)."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (IDEMPOTENCY_KEY_RE.match(key) and len(key) >= 16):
        raise MalformedRequest(
            "a ballot's Idempotency-Key must be 16–200 visible ASCII characters (e.g. a UUID)"
        )
    return key


@operation(
    api,
    "GET",
    "/ballots/<code>",
    summary="What a ballot asks (the page its QR code opens)",
    tag=TAG,
    auth=False,
    responses={200: BallotFormOut},
    errors=(409, 429),
    description="The same refusals as casting it: unknown, used or closed codes answer 409. "
    "Limited per client like casting.",
)
def ballot_form(ctx: Ctx, code: str) -> Any:
    throttle_ballots()
    return ops.form(ctx.session, code)


@operation(
    api,
    "GET",
    "/public/ballot-sessions/<int:session_id>/receipts",
    summary="The bulletin board of a counted session: every receipt in its box, sorted, and "
    "the digest its counting committed to (no account)",
    tag=TAG,
    auth=False,
    responses={200: BulletinBoardOut},
    errors=(404, 409),
)
def bulletin_board(ctx: Ctx, session_id: int) -> Any:
    return ops.bulletin_board(ops.get_session(ctx.session, session_id), ctx.session)


@operation(
    api,
    "GET",
    "/public/ballot-sessions/<int:session_id>/receipts/<receipt>",
    summary="Was the ballot with this receipt counted? (no account; never its content)",
    tag=TAG,
    auth=False,
    responses={200: ReceiptOut},
    errors=(404, 409),
    description="200 when the receipt is in the counted box, 404 when it is not — the same "
    "answer for everyone who asks. 409 while the session is not counted yet.",
)
def check_receipt(ctx: Ctx, session_id: int, receipt: str) -> Any:
    ballot = ops.get_session(ctx.session, session_id)
    found = ops.receipt_counted(ctx.session, ballot, receipt)
    return {"session_id": ballot.id, "receipt": found, "counted": True}


def _tally(version: RecordVersion) -> dict[str, Any]:
    data = version.data
    return {
        "grading_id": version.grading_id,
        "key": version.record_key,
        "version": version.version,
        "kind": data.get("kind", "electronic"),
        "categories": data["categories"],
        "sources": data["sources"],
        "created_by": version.created_by,
        "reason": version.reason,
    }


@operation(
    api,
    "GET",
    "/gradings/<int:grading_id>/tallies",
    summary="The grading's counted ballots: electronic sessions and paper tallies",
    tag=TAG,
    responses={200: TallyList},
    errors=(404,),
)
def list_tallies(ctx: Ctx, grading_id: int) -> Any:
    grading, _ = scoped(ctx, Grading, grading_id)
    return {
        "items": [
            _tally(v) for v in records.latest_versions(ctx.session, grading.id, "ballot_tally")
        ]
    }


@operation(
    api,
    "POST",
    "/gradings/<int:grading_id>/paper-tallies",
    summary="Enter the tally of paper ballots, per category (a teller)",
    tag=TAG,
    body=PaperTallyIn,
    responses={201: TallyOut},
    errors=(403, 404, 409, 422),
    description=with_duty(
        "Per category: 实到 (present), codes issued, returned, invalid and the choices; party "
        "members eligible come from the roll, the quorum is a share of those eligible.",
        Duty.BALLOT,
    ),
)
def add_paper_tally(ctx: Ctx, grading_id: int) -> Any:
    return write_record(
        ctx,
        grading_id,
        Role.TELLER,
        "entering a paper tally",
        lambda grading: ops.paper_tally(ctx.session, ctx.actor, _over(ctx, grading), ctx.body),
        lambda _, version: _tally(version),
        201,
        Duty.BALLOT,
    )


def _over(ctx: Ctx, grading: Grading) -> Grading:
    """The grading, once an over-issue's reason is the superior's."""
    org = get_organization(ctx.session, grading.organization_id)
    _over_issue_by_superior(ctx, [org], GradingState.EVALUATION)
    return grading


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/paper-tallies/<key>",
    summary="Correct a paper tally: a new version with a reason, once a supervisor approves",
    tag=TAG,
    body=PaperTallyCorrection,
    responses={202: ApprovalOut},
    errors=(403, 404, 409, 422),
    description=with_duty(None, Duty.BALLOT),
)
def correct_paper_tally(ctx: Ctx, grading_id: int, key: str) -> Any:
    # A correction of a tally always waits for a supervisor (records.ALWAYS_APPROVED): 202.
    return write_record(
        ctx,
        grading_id,
        Role.TELLER,
        "correcting a paper tally",
        lambda grading: ops.paper_tally(
            ctx.session,
            ctx.actor,
            _over(ctx, grading),
            ctx.body,
            key=key,
            reason=ctx.body["reason"],
        ),
        lambda _, version: _tally(version),
        duty=Duty.BALLOT,
    )
