from __future__ import annotations

from typing import Any

from flask import Response, request
from sqlalchemy import select

from service.accounts.models import Role
from service.api.blueprint import api
from service.api.records import write_record
from service.api.routing import IDEMPOTENCY_KEY_RE, Ctx, Reply, operation, public_base
from service.api.schemas.ballots import (
    BallotAccepted,
    BallotFormOut,
    BallotIn,
    BallotSessionIn,
    BallotSessionOut,
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
from service.api.scope import scoped
from service.api.throttle import throttle_ballots
from service.ballots import operations as ops
from service.ballots import sheets
from service.ballots.models import BallotCode, BallotSession
from service.campaigns.models import Campaign
from service.errors import BallotSessionWrongState, MalformedRequest
from service.gradings.models import Grading
from service.records import operations as records
from service.records.models import RecordVersion
from service.workflows.ballot_session import BALLOT_SESSION_WORKFLOW
from service.workflows.states import BallotSessionState

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
        "state": ballot.state,
        "quorum": str(ballot.quorum),
        "held_on": ballot.held_on,
        "grading_ids": [g.grading_id for g in ballot.gradings],
        "categories": [
            {
                "code": c.code,
                "label": c.label,
                "source": c.source,
                "issued": c.issued,
                "returned": None if ballot.state == BallotSessionState.OPEN else c.returned,
            }
            for c in ballot.categories
        ],
        "results": results,
        "ballots": ballot.box_ballots,
        "box_digest": ballot.box_digest,
        "void_reason": ballot.void_reason,
    }


@operation(
    api,
    "POST",
    "/ballot-sessions",
    summary="Open a ballot session (测评会) for one or several gradings; issues one-time codes",
    tag=TAG,
    body=BallotSessionIn,
    responses={201: BallotSessionOut},
    errors=(403, 404, 409, 422),
    description="A teller of every grading's organization opens it while the gradings are in "
    "evaluation. Print the codes from GET /ballot-sessions/{id}/codes (SVG with QR "
    "codes, or CSV).",
)
def open_session(ctx: Ctx) -> Any:
    campaign, _ = scoped(ctx, Campaign, ctx.body["campaign_id"])
    gradings = []
    for grading_id in dict.fromkeys(ctx.body["grading_ids"]):
        grading, org = scoped(ctx, Grading, grading_id)
        ctx.caller.require(org, [Role.TELLER], "holding a ballot session")
        gradings.append((grading, org))
    ballot = ops.open_session(
        ctx.session, ctx.actor, campaign, gradings, ctx.body, box_secret=ctx.settings.box_secret
    )
    return Reply(_out(ctx, ballot), 201, {"Location": f"/api/v1/ballot-sessions/{ballot.id}"})


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
    summary="The printable codes: SVG (A4, a QR code per ballot) or CSV",
    tag=TAG,
    query=CodesQuery,
    responses={200: None},
    errors=(403, 404, 409),
    spec_extra={"x-streamed-formats": ["image/svg+xml", "text/csv"]},
)
def get_codes(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    ctx.caller.require(org, [Role.TELLER], "printing ballot codes")
    if ballot.state != BallotSessionState.OPEN:
        raise BallotSessionWrongState(
            "codes are printed while the session is open", state=ballot.state
        )
    found = ctx.session.scalars(
        select(BallotCode).where(BallotCode.session_id == ballot.id).order_by(BallotCode.id)
    ).all()
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
)
def close_session(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    BALLOT_SESSION_WORKFLOW.authorize(ctx.caller, org, "close")
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
    "have a supervisor void the session (POST …/void) and hold the meeting again.",
)
def count_session(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    BALLOT_SESSION_WORKFLOW.authorize(ctx.caller, org, "count")
    return _out(ctx, ops.count(ctx.session, ctx.actor, ballot, box_secret=ctx.settings.box_secret))


@operation(
    api,
    "POST",
    "/ballot-sessions/<int:session_id>/void",
    summary="Void a session that cannot or must not be counted (a supervisor, with a reason)",
    tag=TAG,
    body=VoidIn,
    responses={200: BallotSessionOut},
    errors=(403, 404, 409, 422),
)
def void_session(ctx: Ctx, session_id: int) -> Any:
    ballot, org = scoped(ctx, BallotSession, session_id)
    step = "void" if ballot.state == BallotSessionState.OPEN else "void_closed"
    BALLOT_SESSION_WORKFLOW.authorize(ctx.caller, org, step)
    return _out(ctx, ops.void(ctx.session, ctx.actor, ballot, ctx.body["reason"]))


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
    "unknown / used / closed. The ballot is sealed to the session's key and put in its box; "
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
)
def add_paper_tally(ctx: Ctx, grading_id: int) -> Any:
    return write_record(
        ctx,
        grading_id,
        Role.TELLER,
        "entering a paper tally",
        lambda grading: ops.paper_tally(ctx.session, ctx.actor, grading, ctx.body),
        lambda _, version: _tally(version),
        201,
    )


@operation(
    api,
    "PUT",
    "/gradings/<int:grading_id>/paper-tallies/<key>",
    summary="Correct a paper tally: a new version with a reason, once a supervisor approves",
    tag=TAG,
    body=PaperTallyCorrection,
    responses={202: ApprovalOut},
    errors=(403, 404, 409, 422),
)
def correct_paper_tally(ctx: Ctx, grading_id: int, key: str) -> Any:
    # A correction of a tally always waits for a supervisor (records.ALWAYS_APPROVED): 202.
    return write_record(
        ctx,
        grading_id,
        Role.TELLER,
        "correcting a paper tally",
        lambda grading: ops.paper_tally(
            ctx.session, ctx.actor, grading, ctx.body, key=key, reason=ctx.body["reason"]
        ),
        lambda _, version: _tally(version),
    )
