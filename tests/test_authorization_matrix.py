"""Every endpoint × every role × inside / outside the caller's subtree.

Inside the subtree a role that may act gets its success status and a role that may not gets
403. Outside, the resource does not exist for the caller: 404. The secretary's subtree is their
own branch only, so committee-level resources are outside for them (404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.models import ApiToken, RoleGrant
from service.api.routing import REGISTRY
from service.ballots import operations as ballots
from service.campaigns.models import Campaign
from service.context import Actor
from service.gradings.approvals import request_approval
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.publicity.models import Complaint
from service.records import operations as records
from service.workflows.ballot_session import BALLOT_SESSION_WORKFLOW
from service.workflows.complaint import COMPLAINT_WORKFLOW
from service.workflows.states import ComplaintState
from tests.conftest import Api
from tests.grading_helpers import walk
from tests.world import SEVEN, World, standard_body

ROLES = ["admin", "supervisor", "reviewer", "teller", "inspector", "secretary"]
Target = Callable[[World, Session], tuple[str, Any]]


@dataclass
class Case:
    method: str
    rule: str
    inside: Target
    expect: dict[str, int]
    outside: Target | None = None
    outside_expect: dict[str, int] | None = None
    slug_409: str = "standard-frozen"


def expect(default: int, **by_role: int) -> dict[str, int]:
    return {role: by_role.get(role, default) for role in ROLES}


def managed(success: int) -> dict[str, int]:
    return expect(403, admin=success, secretary=404)


def org(code: str) -> Callable[[World], int]:
    return lambda w: w.org(code).id


def grant_of(username: str) -> Callable[[World, Session], int]:
    return lambda w, db: db.scalars(
        select(RoleGrant.id).where(RoleGrant.account_id == w.accounts[username].id)
    ).first()  # type: ignore[return-value]


def token_of(username: str, db: Session, w: World) -> int:
    return db.scalars(
        select(ApiToken.id).where(ApiToken.account_id == w.accounts[username].id)
    ).first()  # type: ignore[return-value]


def approval_on(key: str, kind: str = "correction") -> Callable[[World, Session], int]:
    def make(w: World, db: Session) -> int:
        grading = db.get_one(Grading, w.gradings[key].id)
        approval = request_approval(
            db,
            Actor.system("t"),
            grading,
            kind=kind,
            subject="survey_entry",
            payload={"record_key": "main", "data": {"households": 1}},
            reason="补录",
        )
        db.commit()
        return approval.id

    return make


def with_record(
    key: str, record_type: str, state: str | None = None
) -> Callable[[World, Session], int]:
    """The grading's id, after giving it a record of this type (and moving it to `state`)."""

    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[key].id)
        data = SURVEY_DATA if record_type == "survey_entry" else SHEET_DATA
        records.write(
            db,
            Actor.system("t"),
            graded,
            record_type,
            data,
            key="E1" if record_type == "survey_entry" else "main",
        )
        if state is not None:
            walk(graded, state)
        db.commit()
        return graded.id

    return make


def in_state(key: str, state: str) -> Callable[[World, Session], int]:
    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[key].id)
        walk(graded, state)
        db.commit()
        return graded.id

    return make


SURVEY_DATA = {
    "method": "meeting",
    "date": "2026-03-01",
    "counts": {},
    "problems": [],
    "suggestions": [],
    "note": None,
}
SHEET_DATA = {
    "scores": [],
    "adjustments": [],
    "totals": {"indicators": "0", "bonus": "0", "deduction": "0", "total": "0"},
}
SURVEY_BODY = {"method": "meeting", "date": "2026-03-01"}
SHEET_BODY = {
    "scores": [{"indicator": c, "score": "5"} for c, _, _ in SEVEN],
    "proposed_level": "average",
    "explanation": "自评",
    "reason": "r",
}


def ballot_session(key: str, state: str = "open") -> Callable[[World, Session], int]:
    """A ballot session over one grading (moved to evaluation), in `state`."""

    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[key].id)
        walk(graded, "evaluation")
        org = db.get_one(Organization, graded.organization_id)
        campaign = db.get_one(Campaign, graded.campaign_id)
        opened = ballots.open_session(
            db,
            Actor.system("t"),
            campaign,
            [(graded, org)],
            {"title": "会", "categories": [{"code": "members", "issued": 1}]},
        )
        if state != "open":
            for step in {"closed": ["close"], "counted": ["close", "count"]}[state]:
                BALLOT_SESSION_WORKFLOW.apply(opened, step)
        db.commit()
        return opened.id

    return make


PAPER = {
    "categories": [
        {"code": "members", "issued": 3, "returned": 3, "invalid": 0, "distribution": {"good": 3}}
    ]
}


def with_paper_tally(key: str) -> Callable[[World, Session], int]:
    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[key].id)
        walk(graded, "evaluation")
        ballots.paper_tally(db, Actor.system("t"), graded, PAPER)
        db.commit()
        return graded.id

    return make


def scored(key: str, record_type: str | None = None) -> Callable[[World, Session], int]:
    """A grading in superior_review with every source scored (and, optionally, a record)."""

    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[key].id)
        walk(graded, "superior_review")
        actor = Actor.system("t")
        for sheet in ("assessment", "self_rating"):
            records.write(db, actor, graded, sheet, {"totals": {"total": "70"}})
        records.write(
            db,
            actor,
            graded,
            "ballot_tally",
            {"sources": {"members": {"points": "70", "valid": 5}}},
            key="P1",
        )
        if record_type == "decision":
            records.write(
                db,
                actor,
                graded,
                "decision",
                {
                    "level": "average",
                    "computed_level": "average",
                    "composite": "70.00",
                    "reason": None,
                    "new_org_exception": None,
                },
            )
        if record_type == "veto_flags":
            records.write(
                db, actor, graded, "veto_flags", {"flags": [{"code": "leader_violation"}]}
            )
        db.commit()
        return graded.id

    return make


def under_publicity(key: str, complaint: str | None = None) -> Callable[[World, Session], int]:
    """The grading in publicity; with `complaint` (a state), the id of a complaint against it."""

    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[key].id)
        walk(graded, "publicity")
        graded.level = "average"
        if complaint is None:
            db.commit()
            return graded.id
        filed = Complaint(
            grading_id=graded.id,
            text="t",
            tracking_code=f"T{graded.id:011d}",
            state=ComplaintState.RECEIVED,
            assigned_to="reviewer" if complaint != "received" else None,
        )
        for step in {"received": [], "investigating": ["assign"], "answered": ["assign", "answer"]}[
            complaint
        ]:
            COMPLAINT_WORKFLOW.apply(filed, step)
        db.add(filed)
        db.commit()
        return filed.id

    return make


ITEM = {
    "problem": "p",
    "cause": "c",
    "measure": "m",
    "target": "t",
    "deadline": "2026-06-30",
    "responsible": "r",
}


def rectifying(key: str, item_status: str | None = None) -> Callable[[World, Session], int]:
    """The grading in rectification (level good); with `item_status`: a plan and item I1."""

    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[key].id)
        walk(graded, "rectification")
        graded.level = "good"
        if item_status is not None:
            actor = Actor.system("t")
            records.write(
                db,
                actor,
                graded,
                "rectification_item",
                {**ITEM, "status": item_status, "evidence": "e", "returned_reason": None},
                key="I1",
            )
            records.write(
                db, actor, graded, "rectification_plan", {"approved_by": "t", "items": ["I1"]}
            )
        db.commit()
        return graded.id

    return make


def step_case(action: str, item_status: str, role: str) -> Case:
    return Case(
        "POST",
        f"/gradings/<int:grading_id>/rectification/items/<key>/{action}",
        lambda w, db: (
            f"/gradings/{rectifying('A1-01', item_status)(w, db)}/rectification/items/I1/{action}",
            {"evidence": "e", "reason": "r"},
        ),
        expect(403, **{role: 200}),
        lambda w, db: (
            f"/gradings/{rectifying('b:B-01', item_status)(w, db)}/rectification/items/I1/{action}",
            {"evidence": "e", "reason": "r"},
        ),
    )


def grading(key: str) -> Callable[[World, Session], int]:
    return lambda w, db: w.gradings[key].id


CSV_IN = b"code,name,kind,parent_code,domain\nA1-08,m,branch,A1,village\n"
CSV_OUT = b"code,name,kind,parent_code,domain\nB-08,m,branch,B,village\n"

CASES: list[Case] = [
    Case("GET", "/domains", lambda w, db: ("/domains", None), expect(200)),
    Case("GET", "/me", lambda w, db: ("/me", None), expect(200)),
    Case(
        "GET",
        "/organizations",
        lambda w, db: (f"/organizations?within={w.org('A1-01').id}", None),
        expect(200),
        lambda w, db: (f"/organizations?within={w.org('B').id}", None),
    ),
    Case(
        "GET",
        "/organizations/<int:org_id>",
        lambda w, db: (f"/organizations/{w.org('A1-01').id}", None),
        expect(200),
        lambda w, db: (f"/organizations/{w.org('B-01').id}", None),
    ),
    Case(
        "PATCH",
        "/organizations/<int:org_id>",
        lambda w, db: (f"/organizations/{w.org('A1-01').id}", {"member_count": 11}),
        expect(403, admin=200),
        lambda w, db: (f"/organizations/{w.org('B-01').id}", {"member_count": 11}),
    ),
    Case(
        "GET",
        "/organizations/<int:org_id>/moves",
        lambda w, db: (f"/organizations/{w.org('A1-01').id}/moves", None),
        expect(200),
        lambda w, db: (f"/organizations/{w.org('B-01').id}/moves", None),
    ),
    Case(
        "POST",
        "/organizations",
        lambda w, db: (
            "/organizations",
            {
                "code": "N1",
                "name": "n",
                "kind": "branch",
                "domain": "village",
                "parent_id": w.org("A1").id,
            },
        ),
        managed(201),
        lambda w, db: (
            "/organizations",
            {
                "code": "N1",
                "name": "n",
                "kind": "branch",
                "domain": "village",
                "parent_id": w.org("B").id,
            },
        ),
    ),
    Case(
        "POST",
        "/organizations/import",
        lambda w, db: ("/organizations/import", CSV_IN),
        expect(403, admin=200),
        lambda w, db: ("/organizations/import", CSV_OUT),
        expect(403, admin=422),
    ),
    Case("GET", "/campaigns", lambda w, db: ("/campaigns", None), expect(200)),
    Case(
        "POST",
        "/campaigns",
        lambda w, db: (
            "/campaigns",
            {"organization_id": w.org("A").id, "name": "c", "year": 2027, "level_scheme_id": 1},
        ),
        managed(201),
        lambda w, db: (
            "/campaigns",
            {"organization_id": w.org("B").id, "name": "c", "year": 2027, "level_scheme_id": 1},
        ),
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}", None),
    ),
    Case(
        "PATCH",
        "/campaigns/<int:campaign_id>",
        lambda w, db: (f"/campaigns/{w.campaigns['draft'].id}", {"publicity_working_days": 6}),
        managed(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}", {"publicity_working_days": 6}),
    ),
    Case(
        "POST",
        "/campaigns/<int:campaign_id>/open",
        lambda w, db: (f"/campaigns/{w.campaigns['draft'].id}/open", None),
        managed(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/open", None),
    ),
    Case(
        "POST",
        "/campaigns/<int:campaign_id>/close",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/close", {"reason": "r"}),
        managed(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/close", {"reason": "r"}),
    ),
    Case(
        "POST",
        "/campaigns/<int:campaign_id>/enrollments",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/enrollments", None),
        managed(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/enrollments", None),
    ),
    Case(
        "POST",
        "/campaigns/<int:campaign_id>/amendments",
        lambda w, db: (
            f"/campaigns/{w.campaigns['open'].id}/amendments",
            {"reason": "r", "changes": {"publicity_working_days": 6}},
        ),
        managed(201),
        lambda w, db: (
            f"/campaigns/{w.campaigns['open_b'].id}/amendments",
            {"reason": "r", "changes": {"publicity_working_days": 6}},
        ),
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/amendments",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/amendments", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/amendments", None),
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/gradings",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/gradings", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/gradings", None),
    ),
    Case(
        "GET", "/accounts", lambda w, db: ("/accounts", None), expect(403, admin=200, inspector=200)
    ),
    Case(
        "POST",
        "/accounts",
        lambda w, db: (
            "/accounts",
            {"username": "new.user", "display_name": "n", "organization_id": w.org("A1").id},
        ),
        managed(201),
        lambda w, db: (
            "/accounts",
            {"username": "new.user", "display_name": "n", "organization_id": w.org("B").id},
        ),
    ),
    Case(
        "GET",
        "/accounts/<int:account_id>",
        lambda w, db: (f"/accounts/{w.accounts['reviewer'].id}", None),
        expect(403, admin=200, inspector=200, secretary=404),
        lambda w, db: (f"/accounts/{w.accounts['admin_b'].id}", None),
    ),
    Case(
        "PATCH",
        "/accounts/<int:account_id>",
        lambda w, db: (f"/accounts/{w.accounts['reviewer'].id}", {"is_active": True}),
        managed(200),
        lambda w, db: (f"/accounts/{w.accounts['admin_b'].id}", {"is_active": True}),
    ),
    Case(
        "POST",
        "/accounts/<int:account_id>/grants",
        lambda w, db: (
            f"/accounts/{w.accounts['reviewer'].id}/grants",
            {"role": "teller", "organization_id": w.org("A1").id},
        ),
        managed(201),
        lambda w, db: (
            f"/accounts/{w.accounts['admin_b'].id}/grants",
            {"role": "teller", "organization_id": w.org("B").id},
        ),
    ),
    Case(
        "POST",
        "/accounts/<int:account_id>/grants/<int:grant_id>/revoke",
        lambda w, db: (
            f"/accounts/{w.accounts['reviewer'].id}/grants/{grant_of('reviewer')(w, db)}/revoke",
            {"reason": "r"},
        ),
        managed(200),
        lambda w, db: (
            f"/accounts/{w.accounts['admin_b'].id}/grants/{grant_of('admin_b')(w, db)}/revoke",
            {"reason": "r"},
        ),
    ),
    Case(
        "GET",
        "/accounts/<int:account_id>/tokens",
        lambda w, db: (f"/accounts/{w.accounts['reviewer'].id}/tokens", None),
        expect(403, admin=200, inspector=200, secretary=404),
        lambda w, db: (f"/accounts/{w.accounts['admin_b'].id}/tokens", None),
    ),
    Case(
        "POST",
        "/accounts/<int:account_id>/tokens",
        lambda w, db: (f"/accounts/{w.accounts['reviewer'].id}/tokens", {"name": "t"}),
        managed(201),
        lambda w, db: (f"/accounts/{w.accounts['admin_b'].id}/tokens", {"name": "t"}),
    ),
    Case(
        "POST",
        "/accounts/<int:account_id>/tokens/<int:token_id>/revoke",
        lambda w, db: (
            f"/accounts/{w.accounts['reviewer'].id}/tokens/{token_of('reviewer', db, w)}/revoke",
            {"reason": "r"},
        ),
        expect(403, admin=200, reviewer=200, secretary=404),
        lambda w, db: (
            f"/accounts/{w.accounts['admin_b'].id}/tokens/{token_of('admin_b', db, w)}/revoke",
            {"reason": "r"},
        ),
    ),
    Case("GET", "/standards", lambda w, db: ("/standards", None), expect(200)),
    Case(
        "POST",
        "/standards",
        lambda w, db: ("/standards", standard_body("school")),
        expect(403, admin=201),
    ),
    Case(
        "GET",
        "/standards/<int:standard_id>",
        lambda w, db: (f"/standards/{w.standards['village'].id}", None),
        expect(200),
    ),
    Case(
        "PATCH",
        "/standards/<int:standard_id>",
        lambda w, db: (f"/standards/{w.standards['village'].id}", {"name": "x"}),
        expect(403, admin=409),
    ),
    Case(
        "POST",
        "/standards/<int:standard_id>/versions",
        lambda w, db: (f"/standards/{w.standards['village'].id}/versions", {"name": "x"}),
        expect(403, admin=201),
    ),
    Case("GET", "/level-schemes", lambda w, db: ("/level-schemes", None), expect(200)),
    Case(
        "POST",
        "/level-schemes",
        lambda w, db: (
            "/level-schemes",
            {
                "code": "two",
                "name": "两级",
                "levels": [
                    {"code": "a", "label": "优", "lower_bound": "80"},
                    {"code": "b", "label": "差", "lower_bound": "0"},
                ],
            },
        ),
        expect(403, admin=201),
    ),
    Case(
        "GET",
        "/level-schemes/<int:scheme_id>",
        lambda w, db: ("/level-schemes/1", None),
        expect(200),
    ),
    Case("GET", "/health", lambda w, db: ("/health", None), expect(200)),
    Case(
        "GET",
        "/gradings/<int:grading_id>",
        lambda w, db: (f"/gradings/{grading('A1-01')(w, db)}", None),
        expect(200),
        lambda w, db: (f"/gradings/{grading('b:B-01')(w, db)}", None),
    ),
    Case(
        "POST",
        "/gradings/<int:grading_id>/transitions",
        lambda w, db: (
            f"/gradings/{grading('A1-01')(w, db)}/transitions",
            {"transition": "open_self_rating"},
        ),
        expect(403, reviewer=409),
        lambda w, db: (
            f"/gradings/{grading('b:B-01')(w, db)}/transitions",
            {"transition": "open_self_rating"},
        ),
        slug_409="transition-blocked",
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/history",
        lambda w, db: (f"/gradings/{grading('A1-01')(w, db)}/history", None),
        expect(200),
        lambda w, db: (f"/gradings/{grading('b:B-01')(w, db)}/history", None),
    ),
    Case(
        "POST",
        "/campaigns/<int:campaign_id>/transitions",
        lambda w, db: (
            f"/campaigns/{w.campaigns['open'].id}/transitions",
            {"transition": "open_self_rating"},
        ),
        expect(200),
        lambda w, db: (
            f"/campaigns/{w.campaigns['open_b'].id}/transitions",
            {"transition": "open_self_rating"},
        ),
    ),
    Case("GET", "/approvals", lambda w, db: ("/approvals?state=pending", None), expect(200)),
    Case(
        "GET",
        "/approvals/<int:approval_id>",
        lambda w, db: (f"/approvals/{approval_on('A1-01')(w, db)}", None),
        expect(200),
        lambda w, db: (f"/approvals/{approval_on('b:B-01')(w, db)}", None),
    ),
    Case(
        "POST",
        "/approvals/<int:approval_id>/approve",
        lambda w, db: (f"/approvals/{approval_on('A1-01')(w, db)}/approve", {}),
        expect(403, supervisor=200),
        lambda w, db: (f"/approvals/{approval_on('b:B-01')(w, db)}/approve", {}),
    ),
    Case(
        "POST",
        "/approvals/<int:approval_id>/reject",
        lambda w, db: (f"/approvals/{approval_on('A1-01')(w, db)}/reject", {"comment": "不同意"}),
        expect(403, supervisor=200),
        lambda w, db: (f"/approvals/{approval_on('b:B-01')(w, db)}/reject", {"comment": "x"}),
    ),
    Case(
        "GET",
        "/audit/events",
        lambda w, db: ("/audit/events", None),
        expect(403, admin=200, inspector=200),
        lambda w, db: (f"/audit/events?within={w.org('B').id}", None),
        expect(403, admin=404, inspector=404),
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/survey-entries",
        lambda w, db: (f"/gradings/{grading('A1-01')(w, db)}/survey-entries", None),
        expect(200),
        lambda w, db: (f"/gradings/{grading('b:B-01')(w, db)}/survey-entries", None),
    ),
    Case(
        "POST",
        "/gradings/<int:grading_id>/survey-entries",
        lambda w, db: (f"/gradings/{grading('A1-01')(w, db)}/survey-entries", SURVEY_BODY),
        expect(403, reviewer=201),
        lambda w, db: (f"/gradings/{grading('b:B-01')(w, db)}/survey-entries", SURVEY_BODY),
    ),
    Case(
        "PUT",
        "/gradings/<int:grading_id>/survey-entries/<key>",
        lambda w, db: (
            f"/gradings/{with_record('A1-01', 'survey_entry')(w, db)}/survey-entries/E1",
            {**SURVEY_BODY, "reason": "r"},
        ),
        expect(403, reviewer=200),
        lambda w, db: (
            f"/gradings/{with_record('b:B-01', 'survey_entry')(w, db)}/survey-entries/E1",
            {**SURVEY_BODY, "reason": "r"},
        ),
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/self-rating",
        lambda w, db: (f"/gradings/{with_record('A1-01', 'self_rating')(w, db)}/self-rating", None),
        expect(200),
        lambda w, db: (
            f"/gradings/{with_record('b:B-01', 'self_rating')(w, db)}/self-rating",
            None,
        ),
    ),
    Case(
        "PUT",
        "/gradings/<int:grading_id>/self-rating",
        lambda w, db: (
            f"/gradings/{in_state('A1-01', 'self_rating')(w, db)}/self-rating",
            SHEET_BODY,
        ),
        expect(403, secretary=200),
        lambda w, db: (
            f"/gradings/{in_state('b:B-01', 'self_rating')(w, db)}/self-rating",
            SHEET_BODY,
        ),
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/assessment",
        lambda w, db: (f"/gradings/{with_record('A1-01', 'assessment')(w, db)}/assessment", None),
        expect(200),
        lambda w, db: (f"/gradings/{with_record('b:B-01', 'assessment')(w, db)}/assessment", None),
    ),
    Case(
        "PUT",
        "/gradings/<int:grading_id>/assessment",
        lambda w, db: (
            f"/gradings/{in_state('A1-01', 'superior_review')(w, db)}/assessment",
            {k: v for k, v in SHEET_BODY.items() if k in ("scores", "reason")},
        ),
        expect(403, reviewer=200),
        lambda w, db: (
            f"/gradings/{in_state('b:B-01', 'superior_review')(w, db)}/assessment",
            {k: v for k, v in SHEET_BODY.items() if k in ("scores", "reason")},
        ),
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/score",
        lambda w, db: (f"/gradings/{grading('A1-01')(w, db)}/score", None),
        expect(200),
        lambda w, db: (f"/gradings/{grading('b:B-01')(w, db)}/score", None),
    ),
    Case(
        "POST",
        "/ballot-sessions",
        lambda w, db: (
            "/ballot-sessions",
            {
                "campaign_id": w.campaigns["open"].id,
                "title": "会",
                "grading_ids": [in_state("A1-01", "evaluation")(w, db)],
                "categories": [{"code": "members", "issued": 2}],
            },
        ),
        expect(403, teller=201),
        lambda w, db: (
            "/ballot-sessions",
            {
                "campaign_id": w.campaigns["open_b"].id,
                "title": "会",
                "grading_ids": [in_state("b:B-01", "evaluation")(w, db)],
                "categories": [{"code": "members", "issued": 2}],
            },
        ),
    ),
    Case(
        "GET",
        "/ballot-sessions/<int:session_id>",
        lambda w, db: (f"/ballot-sessions/{ballot_session('A1-01')(w, db)}", None),
        expect(200),
        lambda w, db: (f"/ballot-sessions/{ballot_session('b:B-01')(w, db)}", None),
    ),
    Case(
        "GET",
        "/ballot-sessions/<int:session_id>/codes",
        lambda w, db: (f"/ballot-sessions/{ballot_session('A1-01')(w, db)}/codes", None),
        expect(403, teller=200),
        lambda w, db: (f"/ballot-sessions/{ballot_session('b:B-01')(w, db)}/codes", None),
    ),
    Case(
        "POST",
        "/ballot-sessions/<int:session_id>/close",
        lambda w, db: (f"/ballot-sessions/{ballot_session('A1-01')(w, db)}/close", None),
        expect(403, teller=200),
        lambda w, db: (f"/ballot-sessions/{ballot_session('b:B-01')(w, db)}/close", None),
    ),
    Case(
        "POST",
        "/ballot-sessions/<int:session_id>/count",
        lambda w, db: (f"/ballot-sessions/{ballot_session('A1-01', 'closed')(w, db)}/count", None),
        expect(403, teller=409),
        lambda w, db: (f"/ballot-sessions/{ballot_session('b:B-01', 'closed')(w, db)}/count", None),
        slug_409="quorum-not-met",
    ),
    Case(
        "POST",
        "/ballots",
        lambda w, db: (
            "/ballots",
            {"code": "ZZZZZ-ZZZZZ", "answers": [{"grading_id": 1, "level": "good"}]},
        ),
        expect(409),
        slug_409="ballot-code-rejected",
    ),
    Case(
        "GET",
        "/ballots/<code>",
        lambda w, db: ("/ballots/ZZZZZ-ZZZZZ", None),
        expect(409),
        slug_409="ballot-code-rejected",
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/tallies",
        lambda w, db: (f"/gradings/{grading('A1-01')(w, db)}/tallies", None),
        expect(200),
        lambda w, db: (f"/gradings/{grading('b:B-01')(w, db)}/tallies", None),
    ),
    Case(
        "POST",
        "/gradings/<int:grading_id>/paper-tallies",
        lambda w, db: (f"/gradings/{in_state('A1-01', 'evaluation')(w, db)}/paper-tallies", PAPER),
        expect(403, teller=201),
        lambda w, db: (f"/gradings/{in_state('b:B-01', 'evaluation')(w, db)}/paper-tallies", PAPER),
    ),
    Case(
        "PUT",
        "/gradings/<int:grading_id>/paper-tallies/<key>",
        lambda w, db: (
            f"/gradings/{with_paper_tally('A1-01')(w, db)}/paper-tallies/P1",
            {**PAPER, "reason": "r"},
        ),
        expect(403, teller=202),
        lambda w, db: (
            f"/gradings/{with_paper_tally('b:B-01')(w, db)}/paper-tallies/P1",
            {**PAPER, "reason": "r"},
        ),
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/decision",
        lambda w, db: (f"/gradings/{scored('A1-01', 'decision')(w, db)}/decision", None),
        expect(200),
        lambda w, db: (f"/gradings/{scored('b:B-01', 'decision')(w, db)}/decision", None),
    ),
    Case(
        "PUT",
        "/gradings/<int:grading_id>/decision",
        lambda w, db: (f"/gradings/{scored('A1-01')(w, db)}/decision", {"level": "average"}),
        expect(403, reviewer=200),
        lambda w, db: (f"/gradings/{scored('b:B-01')(w, db)}/decision", {"level": "average"}),
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/vetoes",
        lambda w, db: (f"/gradings/{scored('A1-01', 'veto_flags')(w, db)}/vetoes", None),
        expect(200),
        lambda w, db: (f"/gradings/{scored('b:B-01', 'veto_flags')(w, db)}/vetoes", None),
    ),
    Case(
        "PUT",
        "/gradings/<int:grading_id>/vetoes",
        lambda w, db: (f"/gradings/{scored('A1-01')(w, db)}/vetoes", {"flags": []}),
        expect(403, reviewer=200),
        lambda w, db: (f"/gradings/{scored('b:B-01')(w, db)}/vetoes", {"flags": []}),
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/quotas",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/quotas", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/quotas", None),
    ),
    Case(
        "GET",
        "/public/notices/<int:campaign_id>",
        lambda w, db: (f"/public/notices/{w.campaigns['open'].id}", None),
        expect(200),
    ),
    Case(
        "POST",
        "/public/complaints",
        lambda w, db: (
            "/public/complaints",
            {"grading_id": under_publicity("A1-01")(w, db), "text": "t"},
        ),
        expect(201),
    ),
    Case(
        "GET",
        "/public/complaints/<code>",
        lambda w, db: ("/public/complaints/NOSUCHCODE99", None),
        expect(404),
    ),
    Case("GET", "/complaints", lambda w, db: ("/complaints", None), expect(200)),
    Case(
        "POST",
        "/complaints/<int:complaint_id>/assign",
        lambda w, db: (f"/complaints/{under_publicity('A1-01', 'received')(w, db)}/assign", None),
        expect(403, reviewer=200),
        lambda w, db: (f"/complaints/{under_publicity('b:B-01', 'received')(w, db)}/assign", None),
    ),
    Case(
        "POST",
        "/complaints/<int:complaint_id>/answer",
        lambda w, db: (
            f"/complaints/{under_publicity('A1-01', 'investigating')(w, db)}/answer",
            {"findings": "f", "reply": "r", "upheld": False},
        ),
        expect(403, reviewer=200),
        lambda w, db: (
            f"/complaints/{under_publicity('b:B-01', 'investigating')(w, db)}/answer",
            {"findings": "f", "reply": "r", "upheld": False},
        ),
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/rectification",
        lambda w, db: (f"/gradings/{rectifying('A1-01')(w, db)}/rectification", None),
        expect(200),
        lambda w, db: (f"/gradings/{rectifying('b:B-01')(w, db)}/rectification", None),
    ),
    Case(
        "PUT",
        "/gradings/<int:grading_id>/rectification/helpers",
        lambda w, db: (
            f"/gradings/{rectifying('A1-01')(w, db)}/rectification/helpers",
            {"liaison": "l"},
        ),
        expect(403, reviewer=200),
        lambda w, db: (
            f"/gradings/{rectifying('b:B-01')(w, db)}/rectification/helpers",
            {"liaison": "l"},
        ),
    ),
    Case(
        "POST",
        "/gradings/<int:grading_id>/rectification/items",
        lambda w, db: (f"/gradings/{rectifying('A1-01')(w, db)}/rectification/items", ITEM),
        expect(403, secretary=201),
        lambda w, db: (f"/gradings/{rectifying('b:B-01')(w, db)}/rectification/items", ITEM),
    ),
    Case(
        "POST",
        "/gradings/<int:grading_id>/rectification/plan/approve",
        lambda w, db: (f"/gradings/{rectifying('A1-01')(w, db)}/rectification/plan/approve", None),
        expect(403, supervisor=409),
        lambda w, db: (f"/gradings/{rectifying('b:B-01')(w, db)}/rectification/plan/approve", None),
        slug_409="plan-empty",
    ),
    step_case("start", "open", "secretary"),
    step_case("submit", "in_progress", "secretary"),
    step_case("close", "submitted", "reviewer"),
    step_case("return", "submitted", "reviewer"),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/rectification-items",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/rectification-items", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/rectification-items", None),
    ),
    Case(
        "GET",
        "/gradings/<int:grading_id>/promotion",
        lambda w, db: (f"/gradings/{grading('A1-01')(w, db)}/promotion", None),
        expect(200),
        lambda w, db: (f"/gradings/{grading('b:B-01')(w, db)}/promotion", None),
    ),
    Case(
        "PUT",
        "/gradings/<int:grading_id>/promotion/report",
        lambda w, db: (
            f"/gradings/{in_state('A1-01', 'promotion')(w, db)}/promotion/report",
            {"text": "t"},
        ),
        expect(403, secretary=200),
        lambda w, db: (
            f"/gradings/{in_state('b:B-01', 'promotion')(w, db)}/promotion/report",
            {"text": "t"},
        ),
    ),
    Case(
        "POST",
        "/gradings/<int:grading_id>/promotion",
        lambda w, db: (
            f"/gradings/{in_state('A1-01', 'promotion')(w, db)}/promotion",
            {"level": "good"},
        ),
        expect(403, reviewer=409),
        lambda w, db: (
            f"/gradings/{in_state('b:B-01', 'promotion')(w, db)}/promotion",
            {"level": "good"},
        ),
        slug_409="promotion-refused",
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/reports/summary",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/reports/summary", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/reports/summary", None),
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/reports/detail",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/reports/detail", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/reports/detail", None),
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/reports/poor-list",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/reports/poor-list", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/reports/poor-list", None),
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/reports/poor-status",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/reports/poor-status", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/reports/poor-status", None),
    ),
    Case(
        "GET",
        "/campaigns/<int:campaign_id>/reports/progress",
        lambda w, db: (f"/campaigns/{w.campaigns['open'].id}/reports/progress", None),
        expect(200),
        lambda w, db: (f"/campaigns/{w.campaigns['open_b'].id}/reports/progress", None),
    ),
    Case("GET", "/audit/verify", lambda w, db: ("/audit/verify", None), expect(403, inspector=200)),
    Case("GET", "/audit/public-key", lambda w, db: ("/audit/public-key", None), expect(200)),
    Case(
        "POST",
        "/audit/checkpoints",
        lambda w, db: ("/audit/checkpoints", None),
        expect(403, admin=201, inspector=201),
    ),
    Case(
        "GET",
        "/audit/checkpoints",
        lambda w, db: ("/audit/checkpoints", None),
        expect(403, admin=200, inspector=200),
    ),
    Case("GET", "/workflows/<name>", lambda w, db: ("/workflows/campaign", None), expect(200)),
]

PARAMS = [
    pytest.param(case, role, where, id=f"{case.method} {case.rule} as {role} {where}")
    for case in CASES
    for role in ROLES
    for where in (["inside", "outside"] if case.outside else ["inside"])
]


def _send(api: Api, who: str, method: str, path: str, body: Any) -> Any:
    url = "/api/v1" + path
    headers = {"Authorization": f"Bearer {api.world.tokens[who]}"}
    if isinstance(body, bytes):
        return api.client.open(
            url, method=method, data=body, headers={**headers, "Content-Type": "text/csv"}
        )
    return api.client.open(url, method=method, json=body, headers=headers)


@pytest.mark.parametrize(("case", "role", "where"), PARAMS)
def test_authorization(api: Api, db: Session, case: Case, role: str, where: str) -> None:
    target = case.inside if where == "inside" else case.outside
    assert target is not None
    path, body = target(api.world, db)
    if where == "inside":
        expected = case.expect[role]
    else:
        expected = (case.outside_expect or expect(404))[role]
    response = _send(api, role, case.method, path, body)
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected >= 400:
        slug = {403: "forbidden", 404: "not-found", 409: case.slug_409, 422: "import-rejected"}[
            expected
        ]
        assert response.get_json()["type"] == f"/problems/{slug}"


def test_the_matrix_covers_every_endpoint() -> None:
    registered = {(op.method, op.rule) for op in REGISTRY}
    covered = {(case.method, case.rule) for case in CASES}
    assert registered == covered
