"""Every endpoint × every role × inside / outside the caller's subtree.

Inside the subtree a role that may act gets its success status and a role that may not gets
403. Outside, the resource does not exist for the caller: 404. The secretary's subtree is their
own branch only, so committee-level resources are outside for them (404).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.accounts import operations as accounts
from service.accounts.models import Account, ApiToken, Role, RoleGrant
from service.api.routing import REGISTRY, Operation
from service.audit import log, notes, signing, witnesses
from service.audit.models import Witness
from service.audit.operations import record
from service.ballots import operations as ballots
from service.ballots.workflow import BALLOT_SESSION_WORKFLOW
from service.campaigns.models import Campaign
from service.config import Settings
from service.context import Actor
from service.decisions import meetings
from service.events import outbox, webhooks
from service.events.models import WebhookDelivery, WebhookSubscription
from service.evidence import operations as evidence
from service.evidence.store import Store
from service.gradings import records
from service.gradings.approvals import request_approval
from service.gradings.models import Grading
from service.inspection.models import InspectionGroup
from service.organizations.models import Organization
from service.publicity.models import Complaint
from service.publicity.workflow import COMPLAINT_WORKFLOW
from service.rectification import pairing
from service.reporting import operations as reporting
from service.reports.formats import KIND_LABELS
from service.spotchecks import operations as spot_checks
from service.spotchecks.workflow import SPOT_CHECK_WORKFLOW
from service.workflows.states import ComplaintState
from tests.conftest import Api
from tests.grading_helpers import ballot_tally, walk
from tests.identity_provider import token as jwt_for
from tests.portals import portal
from tests.record_bodies import SHEET_DATA, SURVEY_DATA
from tests.witnesses import register_in
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
    # it makes a credential (a token, a webhook secret): a portal acting for someone is refused
    # (403) where the person would succeed — On-Behalf-Of never creates credentials
    credential: bool = False


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


def grant_request_on(side: Side) -> Callable[[World, Session], int]:
    """Supervisor on the side's township asked for (by the system) for the side's account."""

    def make(w: World, db: Session) -> int:
        request = accounts.request_grant(
            db, Actor.system("t"), w.accounts[side.account], Role.SUPERVISOR, w.org(side.township)
        )
        db.commit()
        return request.id

    return make


def reaching_beyond(w: World, db: Session, pending: bool = False) -> int:
    """An account homed in township A1 (inside every caller's county) that holds supervisor on
    the city above it — or, `pending`, waits for that grant's approval: giving it power (a
    token, a grant, activation) is beyond a county's admin either way (a token minted while the
    grant waits would carry it once approved)."""
    actor = Actor.system("t")
    account = accounts.create_account(
        db,
        actor,
        username=f"beyond.{db.scalar(select(func.count()).select_from(Account))}",
        display_name="挂市职",
        organization=w.org("A1"),
    )
    if pending:
        accounts.request_grant(db, actor, account, Role.SUPERVISOR, w.org("C"))
    else:
        accounts.grant_role(db, actor, account, Role.SUPERVISOR, w.org("C"))
    db.commit()
    return account.id


def beyond(method: str, suffix: str, body: Any, pending: bool = False) -> Case:
    """`/accounts/<id><suffix>` on an account reaching beyond the callers' county (or about to):
    403 for every role (the secretary does not see township A1: 404)."""
    return Case(
        method,
        f"/accounts/<int:account_id>{suffix}",
        lambda w, db: (f"/accounts/{reaching_beyond(w, db, pending)}{suffix}", body(w)),
        expect(403, secretary=404),
    )


def spot_check_on(side: Side, stage: str) -> Callable[[World, Session], tuple[int, int]]:
    """A spot check of the side's township (its branch's grading rated), at `stage`: planned,
    seeded (a tree head signed since), drawn (the branch sampled), falsified (its finding) or
    found (every finding recorded). The check's id and the sampled grading's."""

    def make(w: World, db: Session) -> tuple[int, int]:
        actor = Actor.system("t")
        graded = db.get_one(Grading, w.gradings[side.grading].id)
        walk(graded, "rated")
        graded.level = "average"
        campaign = db.get_one(Campaign, graded.campaign_id)
        body = {
            "title": "抽查",
            "size": 1,
            "stratify": [],
            "public_source": "彩票",
        }
        check = spot_checks.plan(db, actor, campaign, w.org(side.township), body)
        if stage != "planned":
            log.sign(db, signing.load_private_key(None, "t"), "test/log")
        if stage not in ("planned", "seeded"):
            spot_checks.draw(db, actor, check, "1")
        if stage in ("falsified", "found"):
            SPOT_CHECK_WORKFLOW.apply(check, "start_checking")
            item = spot_checks.items(db, check)[0]
            item.outcome = "falsified" if stage == "falsified" else "confirmed"
        db.commit()
        return check.id, graded.id

    return make


def on_spot_check(
    method: str, suffix: str, stage: str, expected: dict[str, int], body: Any = None
) -> Case:
    def target(s: Side, w: World, db: Session) -> tuple[str, Any]:
        check, grading = spot_check_on(s, stage)(w, db)
        sent = body(s, w, grading) if callable(body) else body
        return f"/spot-checks/{check}{suffix.replace('<int:grading_id>', str(grading))}", sent

    return twin(method, f"/spot-checks/<int:spot_check_id>{suffix}", target, expected)


INSPECTS = expect(403, inspector=200, secretary=404)


def asked_opinion(key: str) -> Callable[[World, Session], int]:
    """The grading in promotion, its campaign asking body LG's opinion."""

    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[key].id)
        walk(graded, "promotion")
        campaign = db.get_one(Campaign, graded.campaign_id)
        campaign.decision_config = {
            **(campaign.decision_config or {}),
            "promotion_opinions": [{"code": "LG", "name": "领导小组"}],
        }
        db.commit()
        return graded.id

    return make


def lagging(
    side: Side, paired_already: bool = False
) -> Callable[[World, Session], tuple[int, int]]:
    """The side's branch rectifying at the lowest level and, inside county A, an advanced
    partner (A1-02 rated 好): the grading's id and the partner's organization id."""

    def make(w: World, db: Session) -> tuple[int, int]:
        graded = db.get_one(Grading, w.gradings[side.grading].id)
        walk(graded, "rectification")
        graded.level = "poor"
        partner = db.get_one(Grading, w.gradings["A1-02"].id)
        walk(partner, "rated")
        partner.level = "good"
        db.flush()
        if paired_already and partner.campaign_id == graded.campaign_id:  # outside: never read
            pairing.pair(
                db,
                Actor.system("t"),
                graded,
                db.get_one(Organization, partner.organization_id),
                "r",
            )
        db.commit()
        return graded.id, partner.organization_id

    return make


def inspection_group(side: Side) -> Callable[[World, Session], int]:
    """An inspection group of the side's campaign over its township, led by `inspector`
    (written as a row: county B has no inspector to lead one)."""

    def make(w: World, db: Session) -> int:
        campaign = w.campaigns[side.campaign]
        group = InspectionGroup(
            campaign_id=campaign.id,
            organization_id=campaign.organization_id,
            name="指导检查组",
            leader="inspector",
            members=[],
            covers=[w.org(side.township).id],
            created_by="t",
        )
        db.add(group)
        db.commit()
        return group.id

    return make


def meeting_body(w: World, side: Side, grading_id: int) -> dict[str, Any]:
    return {
        "organization_id": w.org(side.township).id,
        "held_on": "2026-04-08",
        "chaired_by": "张书记",
        "attendees": ["张书记", "李委员", "王委员"],
        "minutes": "综合考核结果和自我评定意见，研究确定等级",
        "results": [{"grading_id": grading_id, "level": "average"}],
    }


def decision_meeting(side: Side) -> Callable[[World, Session], int]:
    """A 分类定级会议 of the side's township that decided its branch 一般."""

    def make(w: World, db: Session) -> int:
        graded = db.get_one(Grading, w.gradings[side.grading].id)
        walk(graded, "superior_review")
        township = w.org(side.township)
        org = db.get_one(Organization, graded.organization_id)
        body = meeting_body(w, side, graded.id)
        body["held_on"] = date(2026, 4, 8)
        made = meetings.record_meeting(
            db, Actor.system("t"), w.campaigns[side.campaign], township, [(graded, org)], body
        )
        db.commit()
        return made.id

    return make


def inspected(state: str) -> Callable[[str], Callable[[World, Session], int]]:
    """The grading in `state`, its township under a group `inspector` leads."""

    def setup(key: str) -> Callable[[World, Session], int]:
        def make(w: World, db: Session) -> int:
            side = OUTSIDE if key.startswith("b:") else INSIDE
            inspection_group(side)(w, db)
            return in_state(key, state)(w, db)

        return make

    return setup


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
            {"title": "会", "categories": [{"code": "members", "issued": 10}]},
            box_secret=Settings.from_env().box_secret,
        )
        if state != "open":
            for step in {"closed": ["close"], "counted": ["close", "count"]}[state]:
                BALLOT_SESSION_WORKFLOW.apply(opened, step)
        db.commit()
        return opened.id

    return make


PAPER = {
    "categories": [
        {
            "code": "members",
            "present": 10,
            "issued": 10,
            "returned": 10,
            "invalid": 0,
            "distribution": {"good": 10},
        }
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
            ballot_tally("70", 5),
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


def upheld_complaint(side: Side, w: World, db: Session) -> tuple[str, Any]:
    """An upheld complaint against the side's branch: whom to hold accountable for it."""
    complaint = db.get_one(Complaint, under_publicity(side.grading, "answered")(w, db))
    complaint.upheld = True
    db.commit()
    return f"/gradings/{complaint.grading_id}/accountability", {
        "source": "complaint",
        "source_id": complaint.id,
        "committee_id": w.org(side.township).id,
        "persons": "村党支部书记",
        "measure": "诫勉谈话",
    }


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


@dataclass(frozen=True)
class Side:
    """Where a case's resource is: inside the callers' subtree (county A) or outside it (B)."""

    grading: str
    campaign: str
    county: str
    township: str
    branch: str
    account: str


INSIDE = Side("A1-01", "open", "A", "A1", "A1-01", "reviewer")
OUTSIDE = Side("b:B-01", "open_b", "B", "B", "B-01", "admin_b")
SideTarget = Callable[[Side, World, Session], tuple[str, Any]]


def twin(
    method: str,
    rule: str,
    target: SideTarget,
    expected: dict[str, int],
    *,
    outside_expect: dict[str, int] | None = None,
    slug_409: str = "standard-frozen",
) -> Case:
    """The same request on a resource inside the subtree and on its twin outside."""
    return Case(
        method,
        rule,
        lambda w, db: target(INSIDE, w, db),
        expected,
        lambda w, db: target(OUTSIDE, w, db),
        outside_expect,
        slug_409,
    )


def anywhere(
    method: str,
    rule: str,
    expected: dict[str, int],
    *,
    path: str | Callable[[World], str] | None = None,
    body: Any = None,
    slug_409: str = "standard-frozen",
) -> Case:
    """A resource that belongs to no subtree (or to the caller's own): inside only."""

    def target(w: World, db: Session) -> tuple[str, Any]:
        return (path(w) if callable(path) else path or rule), body

    return Case(method, rule, target, expected, slug_409=slug_409)


def on_log(
    method: str,
    rule: str,
    path: Callable[[int, int], str],
    expected: dict[str, int],
    body: Any = None,
    prepare: Callable[[Session], object] | None = None,
) -> Case:
    """The Merkle log, with one event of the root's chain integrated and a tree head signed
    (after `prepare`, when given)."""

    def target(w: World, db: Session) -> tuple[str, Any]:
        if prepare is not None:
            prepare(db)
        event_id = record(db, Actor.system("t"), "test.note", "test", 1, organization_id=None)
        signed = log.sign(db, signing.load_private_key(None, "t"), "test/log")
        db.commit()
        sent = body(signed.note) if callable(body) else body
        return path(signed.tree_size, event_id) or rule, sent

    return Case(method, rule, target, expected)


def _submission(w: World, db: Session) -> int:
    """Township A1's tables submitted once."""
    campaign = db.get_one(Campaign, w.campaigns["open"].id)
    sent = reporting.submit(
        db,
        Actor.system("t"),
        campaign,
        db.get_one(Organization, w.org("A1").id),
        "grading_tables",
        "书记",
        None,
    )
    db.commit()
    return sent.id


WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))


def registered_witness(db: Session) -> Witness:
    return register_in(
        db,
        "jiwei.example/witness",
        notes.verifier_key("jiwei.example/witness", WITNESS_KEY.public_key()),
    )


def pending_witness(step: str) -> Callable[[World, Session], tuple[str, Any]]:
    def make(w: World, db: Session) -> tuple[str, Any]:
        key = Ed25519PrivateKey.from_private_bytes(b"p" * 32)
        asked = witnesses.request(
            db,
            Actor.system("t"),
            "shengwei.example/witness",
            notes.verifier_key("shengwei.example/witness", key.public_key()),
            w.org("C").id,
        )
        db.commit()
        return f"/audit/witnesses/{asked.id}/{step}", {"reason": "r"}

    return make


def witness_cosignature(note: str) -> dict[str, str]:
    key = WITNESS_KEY
    return {
        "witness": "jiwei.example/witness",
        "verifier_key": notes.verifier_key("jiwei.example/witness", key.public_key()),
        "line": notes.cosign(note, "jiwei.example/witness", key, 1_800_000_000),
    }


def subscribed(
    side: Side, w: World, db: Session, with_delivery: bool = False, paused: bool = False
) -> str:
    """A webhook subscription of the side's county (and one queued delivery): its path."""
    sub = WebhookSubscription(
        name="portal",
        url="http://127.0.0.1:9/hook",
        types=[],
        organization_id=w.org(side.county).id,
        secret_wrapped=webhooks.wrap("t", webhooks.new_secret(), 0),
        created_by="t",
    )
    db.add(sub)
    db.flush()
    if paused:  # what a resume starts from
        webhooks.pause(db, sub, "t")
    path = f"/webhooks/{sub.id}"
    if with_delivery:
        outbox.emit(db, "grading.state_changed", "gradings/1", w.org(side.county).id, {})
        outbox.sequence(db)
        delivery = db.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == sub.id)
        ).first()
        path += f"/deliveries/{delivery}/redeliver"
    db.commit()
    return path


def on_subscription(method: str, suffix: str, expected: dict[str, int]) -> Case:
    rule = "/webhooks/<int:subscription_id>" + suffix
    delivery = "redeliver" in suffix
    return twin(
        method,
        rule,
        lambda s, w, db: (
            subscribed(s, w, db, delivery, suffix == "/resume") + ("" if delivery else suffix),
            None,
        ),
        expected,
    )


def grading(key: str) -> Callable[[World, Session], int]:
    return lambda w, db: w.gradings[key].id


@dataclass(frozen=True)
class Upload:
    """A multipart body: form fields and one file."""

    fields: dict[str, str]
    content: bytes
    name: str


# the evidence store of the test being run (the `settings` fixture gives each test its own)
EVIDENCE_STORE: list[Store] = []


@pytest.fixture(autouse=True)
def _evidence_store(app: Flask) -> Iterator[None]:
    EVIDENCE_STORE[:] = [Store(app.extensions["grading.settings"].evidence_dir)]
    yield
    EVIDENCE_STORE.clear()


def evidence_file(side: Side, w: World, db: Session) -> tuple[str, None]:
    """A grading of the side with a file attached to its self-rating (the bytes in the store)."""
    graded = db.get_one(Grading, w.gradings[side.grading].id)
    walk(graded, "self_rating")
    attached = evidence.attach(
        db,
        Actor.system("t"),
        EVIDENCE_STORE[0],
        graded,
        attached_to="self_rating",
        file_name="台账.pdf",
        data=b"%PDF-1.4\n%%EOF\n",
        description=None,
        scan_command=None,
    )
    db.commit()
    return f"/gradings/{graded.id}/evidence-files/{attached.id}", None


def on_grading(
    method: str,
    suffix: str,
    expected: dict[str, int],
    *,
    setup: Callable[[str], Callable[[World, Session], int]] = grading,
    body: Any = None,
    key: str = "",
    slug_409: str = "standard-frozen",
) -> Case:
    """`/gradings/<id><suffix>` on a grading `setup` prepares (e.g. puts in a stage)."""
    return twin(
        method,
        f"/gradings/<int:grading_id>{suffix}",
        lambda s, w, db: (
            f"/gradings/{setup(s.grading)(w, db)}"
            + suffix.replace("<key>", key).replace("<stage>", key),
            body,
        ),
        expected,
        slug_409=slug_409,
    )


def on_campaign(
    method: str,
    suffix: str,
    expected: dict[str, int],
    *,
    body: Any = None,
    inside: str = "open",
) -> Case:
    """`/campaigns/<id><suffix>` on the world's open campaign (or `inside`) and county B's."""
    return twin(
        method,
        f"/campaigns/<int:campaign_id>{suffix}",
        lambda s, w, db: (
            f"/campaigns/{w.campaigns[inside if s is INSIDE else s.campaign].id}{suffix}",
            body,
        ),
        expected,
    )


def on_account(
    method: str, suffix: str, expected: dict[str, int], body: Callable[[Side, World], Any]
) -> Case:
    """`/accounts/<id><suffix>` on county A's reviewer and county B's admin."""
    return twin(
        method,
        f"/accounts/<int:account_id>{suffix}",
        lambda s, w, db: (f"/accounts/{w.accounts[s.account].id}{suffix}", body(s, w)),
        expected,
    )


def on_session(
    method: str,
    suffix: str,
    expected: dict[str, int],
    state: str = "open",
    body: Any = None,
    **kw: Any,
) -> Case:
    return twin(
        method,
        f"/ballot-sessions/<int:session_id>{suffix}",
        lambda s, w, db: (
            f"/ballot-sessions/{ballot_session(s.grading, state)(w, db)}{suffix}",
            body,
        ),
        expected,
        **kw,
    )


def public_board(suffix: str) -> Case:
    """The bulletin board is public; before counting it answers 409 to everyone."""
    return Case(
        "GET",
        f"/public/ballot-sessions/<int:session_id>/receipts{suffix}",
        lambda w, db: (
            f"/public/ballot-sessions/{ballot_session('A1-01')(w, db)}/receipts"
            + suffix.replace("<receipt>", "7KQ2M-XB4RT"),
            None,
        ),
        expect(409),
        slug_409="ballot-session-state",
    )


def on_complaint(
    method: str, suffix: str, expected: dict[str, int], state: str, body: Any = None
) -> Case:
    return twin(
        method,
        f"/complaints/<int:complaint_id>{suffix}",
        lambda s, w, db: (f"/complaints/{under_publicity(s.grading, state)(w, db)}{suffix}", body),
        expected,
    )


def on_approval(method: str, suffix: str, expected: dict[str, int], body: Any = None) -> Case:
    return twin(
        method,
        f"/approvals/<int:approval_id>{suffix}",
        lambda s, w, db: (f"/approvals/{approval_on(s.grading)(w, db)}{suffix}", body),
        expected,
    )


def step_case(action: str, item_status: str, role: str) -> Case:
    return on_grading(
        "POST",
        f"/rectification/items/<key>/{action}",
        expect(403, **{role: 200}),
        setup=lambda key: rectifying(key, item_status),
        body={"evidence": "e", "reason": "r"},
        key="I1",
    )


def in_stage(state: str) -> Callable[[str], Callable[[World, Session], int]]:
    return lambda key: in_state(key, state)


def rated_at(level: str) -> Callable[[str], Callable[[World, Session], int]]:
    """The grading rated (its level standing) at `level`."""

    def setup(key: str) -> Callable[[World, Session], int]:
        def make(w: World, db: Session) -> int:
            graded = db.get_one(Grading, w.gradings[key].id)
            walk(graded, "rated")
            graded.level = level
            db.commit()
            return graded.id

        return make

    return setup


LIFE_MEETING = {
    "held_on": "2026-12-01",
    "chaired_by": "书记",
    "attendees": ["书记", "党员甲"],
    "lessons": "l",
}
MEASURES = {"measures": [{"kind": "work_team", "taken_on": "2026-12-01", "description": "d"}]}


def recorded(record_type: str) -> Callable[[str], Callable[[World, Session], int]]:
    return lambda key: with_record(key, record_type)


def tallied(with_opinion: bool) -> Callable[[str], Callable[[World, Session], int]]:
    """The grading in evaluation with its ballots counted (and the branch's opinion formed)."""

    def setup(key: str) -> Callable[[World, Session], int]:
        def make(w: World, db: Session) -> int:
            graded = db.get_one(Grading, w.gradings[key].id)
            walk(graded, "evaluation")
            actor = Actor.system("t")
            records.write(db, actor, graded, "ballot_tally", ballot_tally("80", 9), key="P1")
            if with_opinion:
                opinion = {"level": "good", "opinion": "较好", "met_on": "2026-04-06"}
                records.write(db, actor, graded, "branch_opinion", opinion | {"tallies": ["P1"]})
            db.commit()
            return graded.id

        return make

    return setup


OPINION = {"level": "fairly_good", "opinion": "依据测评结果，认定为较好", "met_on": "2026-04-06"}


def scored_with(record_type: str | None = None) -> Callable[[str], Callable[[World, Session], int]]:
    return lambda key: scored(key, record_type)


CSV_IN = b"code,name,kind,parent_code,domain\nA1-08,m,branch,A1,village\n"
CSV_OUT = b"code,name,kind,parent_code,domain\nB-08,m,branch,B,village\n"
NEW_ORG = {"code": "N1", "name": "n", "kind": "branch", "domain": "village"}
TWO_LEVELS = {
    "code": "two",
    "name": "两级",
    "levels": [
        {"code": "a", "label": "优", "lower_bound": "80"},
        {"code": "b", "label": "差", "lower_bound": "0"},
    ],
}
ASSESSMENT_BODY = {k: v for k, v in SHEET_BODY.items() if k in ("scores", "reason")}
ANY = expect(200)
VILLAGE_STANDARD: Callable[[World], str] = lambda w: f"/standards/{w.standards['village'].id}"  # noqa: E731
ADMIN_OR_INSPECTOR = expect(403, admin=200, inspector=200)

CASES: list[Case] = [
    # organizations and accounts
    anywhere("GET", "/domains", ANY),
    anywhere("GET", "/me", ANY),
    twin(
        "GET",
        "/organizations",
        lambda s, w, db: (
            f"/organizations?within={w.org(s.branch if s is INSIDE else s.county).id}",
            None,
        ),
        ANY,
    ),
    twin(
        "GET",
        "/organizations/<int:org_id>",
        lambda s, w, db: (f"/organizations/{w.org(s.branch).id}", None),
        ANY,
    ),
    twin(
        "PATCH",
        "/organizations/<int:org_id>",
        lambda s, w, db: (
            f"/organizations/{w.org(s.branch).id}",
            {"member_count": 11},
        ),
        expect(403, admin=200),
    ),
    twin(
        "GET",
        "/organizations/<int:org_id>/moves",
        lambda s, w, db: (f"/organizations/{w.org(s.branch).id}/moves", None),
        ANY,
    ),
    twin(
        "GET",
        "/organizations/<int:org_id>/levels",
        lambda s, w, db: (f"/organizations/{w.org(s.branch).id}/levels", None),
        ANY,
    ),
    twin(
        "GET",
        "/organizations/<int:org_id>/dossier",
        lambda s, w, db: (f"/organizations/{w.org(s.branch).id}/dossier", None),
        ANY,
    ),
    anywhere("GET", "/ballot-sessions", ANY),
    twin(
        "POST",
        "/organizations",
        lambda s, w, db: ("/organizations", {**NEW_ORG, "parent_id": w.org(s.township).id}),
        managed(201),
    ),
    twin(
        "POST",
        "/organizations/import",
        lambda s, w, db: ("/organizations/import", CSV_IN if s is INSIDE else CSV_OUT),
        expect(403, admin=200),
        outside_expect=expect(403, admin=422),
    ),
    anywhere("GET", "/accounts", ADMIN_OR_INSPECTOR),
    twin(
        "POST",
        "/accounts",
        lambda s, w, db: (
            "/accounts",
            {"username": "new.user", "display_name": "n", "organization_id": w.org(s.township).id},
        ),
        managed(201),
    ),
    on_account("GET", "", expect(403, admin=200, inspector=200, secretary=404), lambda s, w: None),
    on_account("PATCH", "", managed(200), lambda s, w: {"is_active": True}),
    on_account(
        "POST",
        "/grants",
        managed(201),
        lambda s, w: {"role": "teller", "organization_id": w.org(s.township).id},
    ),
    twin(
        "POST",
        "/accounts/<int:account_id>/grants/<int:grant_id>/revoke",
        lambda s, w, db: (
            f"/accounts/{w.accounts[s.account].id}/grants/{grant_of(s.account)(w, db)}/revoke",
            {"reason": "r"},
        ),
        managed(200),
    ),
    on_account(
        "GET", "/tokens", expect(403, admin=200, inspector=200, secretary=404), lambda s, w: None
    ),
    # accounts whose grants reach beyond the callers' subtree: nobody below gives them power
    beyond("POST", "/tokens", lambda w: {"name": "t"}),
    beyond("POST", "/grants", lambda w: {"role": "teller", "organization_id": w.org("A1").id}),
    beyond("PATCH", "", lambda w: {"is_active": False}),
    beyond("PATCH", "", lambda w: {"is_active": True}),
    # …and an account whose city-wide grant waits for approval: as if it held it
    beyond("POST", "/tokens", lambda w: {"name": "t"}, pending=True),
    beyond("PATCH", "", lambda w: {"is_active": False}, pending=True),
    twin(
        "POST",
        "/accounts",
        lambda s, w, db: (
            "/accounts",
            {
                "username": "new.strong",
                "display_name": "n",
                "organization_id": w.org(s.township).id,
                "grants": [{"role": "reviewer", "organization_id": w.org("C").id}],
            },
        ),
        expect(403, admin=404, secretary=404),  # the admin: a grant on the city it cannot see
    ),
    anywhere("GET", "/grant-requests", ADMIN_OR_INSPECTOR),
    twin(
        "GET",
        "/grant-requests/<int:request_id>",
        lambda s, w, db: (f"/grant-requests/{grant_request_on(s)(w, db)}", None),
        expect(403, admin=200, inspector=200, secretary=404),
    ),
    twin(
        "POST",
        "/grant-requests/<int:request_id>/approve",
        lambda s, w, db: (f"/grant-requests/{grant_request_on(s)(w, db)}/approve", {}),
        managed(200),
    ),
    twin(
        "POST",
        "/grant-requests/<int:request_id>/reject",
        lambda s, w, db: (f"/grant-requests/{grant_request_on(s)(w, db)}/reject", {"reason": "r"}),
        managed(200),
    ),
    replace(
        on_account("POST", "/tokens", managed(201), lambda s, w: {"name": "t"}), credential=True
    ),
    twin(
        "POST",
        "/accounts/<int:account_id>/tokens/<int:token_id>/revoke",
        lambda s, w, db: (
            f"/accounts/{w.accounts[s.account].id}/tokens/{token_of(s.account, db, w)}/revoke",
            {"reason": "r"},
        ),
        expect(403, admin=200, reviewer=200, secretary=404),
    ),
    # 先进帮后进: proposals, pairings, joint activities
    twin(
        "GET",
        "/campaigns/<int:campaign_id>/pairings/proposal",
        lambda s, w, db: (f"/campaigns/{w.campaigns[s.campaign].id}/pairings/proposal", None),
        ANY,
    ),
    twin(
        "PUT",
        "/gradings/<int:grading_id>/rectification/pairing",
        lambda s, w, db: (
            (made := lagging(s)(w, db)) and f"/gradings/{made[0]}/rectification/pairing",
            {"partner_organization_id": made[1], "reason": "就近"},
        ),
        expect(403, reviewer=200),
    ),
    twin(
        "POST",
        "/gradings/<int:grading_id>/rectification/pairing/activities",
        lambda s, w, db: (
            f"/gradings/{lagging(s, True)(w, db)[0]}/rectification/pairing/activities",
            {"kind": "座谈会", "held_on": "2026-11-10", "notes": "座谈"},
        ),
        expect(403, reviewer=201, secretary=201),
    ),
    # 指导检查组: a reviewer forms them; their leader accepts, their people record visits
    twin(
        "POST",
        "/campaigns/<int:campaign_id>/inspection-groups",
        lambda s, w, db: (
            f"/campaigns/{w.campaigns[s.campaign].id}/inspection-groups",
            {"name": "第一组", "leader": "inspector", "covers": [w.org(s.township).id]},
        ),
        expect(403, reviewer=201, secretary=404),
    ),
    twin(
        "GET",
        "/campaigns/<int:campaign_id>/inspection-groups",
        lambda s, w, db: (f"/campaigns/{w.campaigns[s.campaign].id}/inspection-groups", None),
        expect(200, secretary=404),
    ),
    twin(
        "GET",
        "/inspection-groups/<int:group_id>",
        lambda s, w, db: (f"/inspection-groups/{inspection_group(s)(w, db)}", None),
        expect(200, secretary=404),
    ),
    twin(
        "PATCH",
        "/inspection-groups/<int:group_id>",
        lambda s, w, db: (
            f"/inspection-groups/{inspection_group(s)(w, db)}",
            {"name": "第二组", "reason": "更名"},
        ),
        expect(403, reviewer=200, secretary=404),
    ),
    # the branch forms its own opinion from the ballot (its secretary)
    on_grading("GET", "/branch-opinion", ANY, setup=tallied(with_opinion=True)),
    on_grading(
        "PUT",
        "/branch-opinion",
        expect(403, secretary=200),
        setup=tallied(with_opinion=False),
        body=OPINION,
    ),
    # the 分类定级会议: recorded by a reviewer above the gradings it decides
    twin(
        "POST",
        "/campaigns/<int:campaign_id>/decision-meetings",
        lambda s, w, db: (
            f"/campaigns/{w.campaigns[s.campaign].id}/decision-meetings",
            meeting_body(w, s, in_state(s.grading, "superior_review")(w, db)),
        ),
        expect(403, reviewer=201),
    ),
    twin(
        "GET",
        "/campaigns/<int:campaign_id>/decision-meetings",
        lambda s, w, db: (f"/campaigns/{w.campaigns[s.campaign].id}/decision-meetings", None),
        expect(200),
    ),
    twin(
        "GET",
        "/decision-meetings/<int:meeting_id>",
        lambda s, w, db: (f"/decision-meetings/{decision_meeting(s)(w, db)}", None),
        expect(200, secretary=404),
    ),
    # 复查: a work group of reviewers above re-checks gradings of 回头看 in one sheet
    twin(
        "POST",
        "/campaigns/<int:campaign_id>/re-checks",
        lambda s, w, db: (
            f"/campaigns/{w.campaigns[s.campaign].id}/re-checks",
            re_check_body(in_state(s.grading, "re_review")(w, db)),
        ),
        expect(403, reviewer=200),
    ),
    # accountability from any oversight, linked to its source: an inspector above
    twin(
        "POST",
        "/gradings/<int:grading_id>/accountability",
        upheld_complaint,
        expect(403, inspector=201),
    ),
    on_grading("GET", "/accountability", ANY),
    on_grading("GET", "/inspection", ANY, setup=inspected("rectification")),
    on_grading(
        "PUT",
        "/inspection/acceptances/<stage>",
        expect(403, inspector=200),
        setup=inspected("rectification"),
        body={"conclusion": "accepted", "findings": "好", "accepted_on": "2026-11-20"},
        key="rectification",
    ),
    on_grading(
        "POST",
        "/inspection/visits",
        expect(403, inspector=201),
        setup=inspected("rectification"),
        body={"visited_on": "2026-11-20", "purpose": "整改提高", "notes": "查看台账"},
    ),
    # spot checks: an inspector above the township plans, draws, finds and concludes
    twin(
        "POST",
        "/spot-checks",
        lambda s, w, db: (
            "/spot-checks",
            {
                "campaign_id": w.campaigns[s.campaign].id,
                "organization_id": w.org(s.township).id,
                "title": "抽查",
                "share": "20",
                "beacon": {
                    "kind": "lottery",
                    "name": "福彩3D",
                    "date": (date.today() + timedelta(days=1)).isoformat(),
                    "digits": 3,
                },
            },
        ),
        expect(403, inspector=201, secretary=404),
    ),
    anywhere("GET", "/spot-checks", ANY),
    on_spot_check("GET", "", "planned", expect(200, secretary=404)),
    on_spot_check("POST", "/draw", "seeded", INSPECTS, {"public_value": "1 2 3"}),
    on_spot_check("PUT", "/findings/<int:grading_id>", "drawn", INSPECTS, {"outcome": "confirmed"}),
    on_spot_check(
        "POST",
        "/accountability",
        "falsified",
        expect(403, inspector=201, secretary=404),
        lambda s, w, grading: {
            "grading_id": grading,
            "committee_id": w.org(s.township).id,
            "persons": "书记",
            "measure": "诫勉谈话",
        },
    ),
    on_spot_check("POST", "/conclude", "found", INSPECTS),
    on_spot_check("GET", "/report", "drawn", expect(200, secretary=404)),
    # standards and level schemes (shared by every county)
    anywhere("GET", "/standards", ANY),
    anywhere("POST", "/standards", expect(403, admin=201), body=standard_body("school")),
    anywhere("GET", "/standards/<int:standard_id>", ANY, path=VILLAGE_STANDARD),
    anywhere(
        "PATCH",
        "/standards/<int:standard_id>",
        expect(403, admin=409),
        path=VILLAGE_STANDARD,
        body={"name": "x"},
    ),
    anywhere(
        "POST",
        "/standards/<int:standard_id>/versions",
        expect(403, admin=201),
        path=lambda w: f"{VILLAGE_STANDARD(w)}/versions",
        body={"name": "x"},
    ),
    anywhere("GET", "/level-schemes", ANY),
    anywhere("POST", "/level-schemes", expect(403, admin=201), body=TWO_LEVELS),
    anywhere("GET", "/level-schemes/<int:scheme_id>", ANY, path="/level-schemes/1"),
    anywhere("GET", "/health", ANY),
    anywhere("GET", "/health/live", ANY),
    anywhere("GET", "/health/ready", ANY),
    anywhere("GET", "/workflows/<name>", ANY, path="/workflows/campaign"),
    # campaigns
    anywhere("GET", "/campaigns", ANY),
    twin(
        "POST",
        "/campaigns",
        lambda s, w, db: (
            "/campaigns",
            {
                "organization_id": w.org(s.county).id,
                "name": "c",
                "year": 2027,
                "level_scheme_id": 1,
            },
        ),
        managed(201),
    ),
    on_campaign("GET", "", ANY),
    on_campaign("PATCH", "", managed(200), body={"publicity_working_days": 6}, inside="draft"),
    on_campaign("POST", "/open", managed(200), inside="draft"),
    on_campaign("POST", "/close", managed(200), body={"reason": "r"}),
    on_campaign("POST", "/enrollments", managed(200)),
    on_campaign(
        "POST",
        "/amendments",
        managed(201),
        body={"reason": "r", "changes": {"publicity_working_days": 6}},
    ),
    on_campaign("GET", "/amendments", ANY),
    on_campaign("GET", "/gradings", ANY),
    on_campaign("POST", "/transitions", ANY, body={"transition": "open_self_rating"}),
    on_campaign("GET", "/quotas", ANY),
    on_campaign("GET", "/rectification-items", ANY),
    *[on_campaign("GET", f"/reports/{kind}", ANY) for kind in KIND_LABELS],
    # reporting upward (上报): the township's people submit; whoever sees it reads
    on_campaign("GET", "/report-submissions", ANY),
    # 领导小组: a reviewer or admin of the committee records it; anyone who sees it reads it
    twin(
        "POST",
        "/campaigns/<int:campaign_id>/leading-groups",
        lambda s, w, db: (
            f"/campaigns/{w.campaigns[s.campaign].id}/leading-groups",
            {
                "organization_id": w.org(s.township).id,
                "name": "领导小组",
                "leader": "王建国",
                "formed_on": "2026-03-25",
            },
        ),
        expect(403, admin=201, reviewer=201, secretary=404),
    ),
    on_campaign("GET", "/leading-groups", ANY),
    twin(
        "GET",
        "/campaigns/<int:campaign_id>/leading-groups/<int:organization_id>",
        lambda s, w, db: (
            f"/campaigns/{w.campaigns[s.campaign].id}/leading-groups/{w.org(s.township).id}",
            None,
        ),
        expect(200, secretary=404),
    ),
    twin(
        "POST",
        "/campaigns/<int:campaign_id>/report-submissions",
        lambda s, w, db: (
            f"/campaigns/{w.campaigns[s.campaign].id}/report-submissions",
            {
                "organization_id": w.org(s.township).id,
                "kind": "grading_tables",
                "signed_off_by": "书记",
                "reason": "首次上报",
            },
        ),
        expect(403, admin=201, reviewer=201, secretary=404),
    ),
    Case(
        "GET",
        "/report-submissions/<int:submission_id>",
        lambda w, db: (f"/report-submissions/{_submission(w, db)}", None),
        expect(200, secretary=404),
    ),
    # a grading through its lifecycle
    on_grading("GET", "", ANY),
    on_grading(
        "POST",
        "/transitions",
        expect(403, reviewer=409),
        body={"transition": "open_self_rating"},
        slug_409="transition-blocked",
    ),
    on_grading("GET", "/history", ANY),
    on_grading("GET", "/evidence", ANY),
    twin(
        "GET",
        "/gradings/<int:grading_id>/records/<record_type>/<key>/versions",
        lambda s, w, db: (
            f"/gradings/{with_record(s.grading, 'survey_entry')(w, db)}/records/survey_entry/E1"
            "/versions",
            None,
        ),
        ANY,
    ),
    anywhere("GET", "/approvals", ANY, path="/approvals?state=pending"),
    on_approval("GET", "", ANY),
    on_approval("POST", "/approve", expect(403, supervisor=200), body={}),
    on_approval("POST", "/reject", expect(403, supervisor=200), body={"comment": "不同意"}),
    on_grading("GET", "/survey-entries", ANY),
    on_grading("POST", "/survey-entries", expect(403, reviewer=201), body=SURVEY_BODY),
    on_grading(
        "PUT",
        "/survey-entries/<key>",
        expect(403, reviewer=200),
        setup=recorded("survey_entry"),
        body={**SURVEY_BODY, "reason": "r"},
        key="E1",
    ),
    on_grading("GET", "/self-rating", ANY, setup=recorded("self_rating")),
    on_grading(
        "PUT",
        "/self-rating",
        expect(403, secretary=200),
        setup=in_stage("self_rating"),
        body=SHEET_BODY,
    ),
    on_grading("GET", "/assessment", ANY, setup=recorded("assessment")),
    on_grading(
        "PUT",
        "/assessment",
        expect(403, reviewer=200),
        setup=in_stage("superior_review"),
        body=ASSESSMENT_BODY,
    ),
    on_grading("GET", "/score", ANY),
    twin(
        "POST",
        "/ballot-sessions",
        lambda s, w, db: (
            "/ballot-sessions",
            {
                "campaign_id": w.campaigns[s.campaign].id,
                "title": "会",
                "grading_ids": [in_state(s.grading, "evaluation")(w, db)],
                "categories": [{"code": "members", "issued": 10}],
            },
        ),
        expect(403, teller=201),
    ),
    on_session("GET", "", ANY),
    on_session("GET", "/codes", expect(403, teller=200)),
    on_session("POST", "/close", expect(403, teller=200)),
    on_session(
        "POST", "/count", expect(403, teller=409), state="closed", slug_409="ballot-attendance"
    ),
    on_session(
        "POST",
        "/attendance",
        expect(403, teller=200),
        body={"categories": [{"code": "members", "present": 9}]},
    ),
    on_session("POST", "/void", expect(403, supervisor=200), body={"reason": "会场秩序混乱"}),
    public_board(""),
    public_board("/<receipt>"),
    anywhere(
        "POST",
        "/ballots",
        expect(409),
        body={"code": "ZZZZZ-ZZZZZ", "answers": [{"grading_id": 1, "level": "good"}]},
        slug_409="ballot-code-rejected",
    ),
    anywhere(
        "GET",
        "/ballots/<code>",
        expect(409),
        path="/ballots/ZZZZZ-ZZZZZ",
        slug_409="ballot-code-rejected",
    ),
    on_grading("GET", "/tallies", ANY),
    on_grading(
        "POST", "/paper-tallies", expect(403, teller=201), setup=in_stage("evaluation"), body=PAPER
    ),
    on_grading(
        "PUT",
        "/paper-tallies/<key>",
        expect(403, teller=202),
        setup=with_paper_tally,
        body={**PAPER, "reason": "r"},
        key="P1",
    ),
    on_grading("GET", "/decision", ANY, setup=scored_with("decision")),
    on_grading(
        "PUT",
        "/decision",
        expect(403, reviewer=200),
        setup=scored_with(),
        body={"level": "average"},
    ),
    on_grading("GET", "/vetoes", ANY, setup=scored_with("veto_flags")),
    on_grading(
        "PUT", "/vetoes", expect(403, reviewer=200), setup=scored_with(), body={"flags": []}
    ),
    # publicity and complaints
    anywhere(
        "GET",
        "/public/notices/<int:campaign_id>",
        ANY,
        path=lambda w: f"/public/notices/{w.campaigns['open'].id}",
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
    anywhere(
        "GET", "/public/complaints/<code>", expect(404), path="/public/complaints/NOSUCHCODE99"
    ),
    anywhere("GET", "/complaints", ANY),
    on_complaint("POST", "/assign", expect(403, reviewer=200), "received"),
    on_complaint(
        "POST",
        "/answer",
        expect(403, reviewer=200),
        "investigating",
        {"findings": "f", "reply": "r", "upheld": False},
    ),
    # rectification and promotion
    on_grading("GET", "/rectification", ANY, setup=rectifying),
    on_grading(
        "PUT",
        "/rectification/helpers",
        expect(403, reviewer=200),
        setup=rectifying,
        body={"liaison": "l"},
    ),
    on_grading(
        "POST", "/rectification/items", expect(403, secretary=201), setup=rectifying, body=ITEM
    ),
    on_grading(
        "POST",
        "/rectification/plan/approve",
        expect(403, supervisor=409),
        setup=rectifying,
        slug_409="plan-empty",
    ),
    step_case("start", "open", "secretary"),
    step_case("submit", "in_progress", "secretary"),
    step_case("close", "submitted", "reviewer"),
    step_case("return", "submitted", "reviewer"),
    # once a level stands: the branch's records, and the superior's
    on_grading(
        "PUT",
        "/life-meeting",
        expect(403, secretary=200),
        setup=rated_at("good"),
        body=LIFE_MEETING,
    ),
    on_grading("GET", "/life-meeting", ANY, setup=recorded("life_meeting")),
    on_grading(
        "PUT",
        "/self-check-report",
        expect(403, secretary=200),
        setup=in_stage("re_review"),
        body={"written_on": "2026-12-01", "report": "r"},
    ),
    on_grading("GET", "/self-check-report", ANY, setup=recorded("self_check_report")),
    # evidence files (佐证材料): attached by the record's writer, read by anyone in scope
    on_grading(
        "POST",
        "/evidence-files",
        expect(403, secretary=201),
        setup=in_stage("self_rating"),
        body=Upload({"attached_to": "self_rating"}, b"%PDF-1.4\n%%EOF\n", "台账.pdf"),
    ),
    on_grading("GET", "/evidence-files", ANY),
    twin("GET", "/gradings/<int:grading_id>/evidence-files/<int:file_id>", evidence_file, ANY),
    on_grading(
        "PUT",
        "/weak-measures",
        expect(403, reviewer=200),
        setup=rated_at("poor"),
        body=MEASURES,
    ),
    on_grading("GET", "/weak-measures", ANY, setup=recorded("weak_measures")),
    on_grading(
        "PUT",
        "/exemplary",
        expect(403, reviewer=200),
        setup=rated_at("good"),
        body={"experience": "e"},
    ),
    on_grading("GET", "/exemplary", ANY, setup=recorded("exemplary")),
    on_grading(
        "PUT",
        "/strategy",
        expect(403, reviewer=200),
        setup=in_stage("rectification"),
        body={"tasks": [{"task": "抓书记、强班子", "goal": "g", "measures": ["m"]}]},
    ),
    on_grading("GET", "/strategy", ANY, setup=recorded("strategy")),
    on_grading("GET", "/promotion", ANY),
    on_grading(
        "PUT",
        "/promotion/report",
        expect(403, secretary=200),
        setup=in_stage("promotion"),
        body={"text": "t"},
    ),
    on_grading(
        "PUT",
        "/promotion/opinions/<key>",
        expect(403, reviewer=200),
        setup=asked_opinion,
        body={"favourable": True, "text": "同意", "given_on": "2026-11-20", "given_by": "办公室"},
        key="LG",
    ),
    on_grading(
        "POST",
        "/promotion",
        expect(403, reviewer=409),
        setup=in_stage("promotion"),
        body={"level": "good"},
        slug_409="promotion-refused",
    ),
    # events for portals: the feed and webhook subscriptions
    twin(
        "GET",
        "/events",
        lambda s, w, db: ("/events" if s is INSIDE else f"/events?within={w.org('B').id}", None),
        ANY,
    ),
    replace(
        twin(
            "POST",
            "/webhooks",
            lambda s, w, db: (
                "/webhooks",
                {
                    "name": "p",
                    "url": "https://portal.example/hook",
                    "organization_id": w.org(s.county).id,
                },
            ),
            managed(201),
        ),
        credential=True,
    ),
    anywhere("GET", "/webhooks", expect(403, admin=200)),
    on_subscription("GET", "", managed(200)),
    on_subscription("POST", "/pause", managed(200)),
    on_subscription("POST", "/resume", managed(200)),
    on_subscription("DELETE", "", managed(204)),
    on_subscription("GET", "/deliveries", managed(200)),
    on_subscription("POST", "/deliveries/<int:delivery_id>/redeliver", managed(202)),
    # the audit trail
    twin(
        "GET",
        "/audit/events",
        lambda s, w, db: (
            "/audit/events" if s is INSIDE else f"/audit/events?within={w.org('B').id}",
            None,
        ),
        ADMIN_OR_INSPECTOR,
        outside_expect=expect(403, admin=404, inspector=404),
    ),
    anywhere("GET", "/audit/verify", expect(403, inspector=200)),
    anywhere("GET", "/audit/public-key", ANY),
    anywhere("POST", "/audit/checkpoints", expect(403, admin=201, inspector=201)),
    anywhere("GET", "/audit/checkpoints", ADMIN_OR_INSPECTOR),
    on_log("GET", "/audit/checkpoints/latest", lambda size, event: "", ANY),
    on_log("GET", "/audit/checkpoints/history", lambda size, event: "", ANY),
    on_log(
        "POST",
        "/audit/checkpoints/<int:tree_size>/cosignatures",
        lambda size, event: f"/audit/checkpoints/{size}/cosignatures",
        expect(403, inspector=201),
        body=witness_cosignature,
        prepare=registered_witness,
    ),
    # the holiday calendar: read by anyone signed in, entered by an admin at the root only
    anywhere("GET", "/calendar/<int:year>", expect(200), path="/calendar/2027"),
    anywhere(
        "PUT",
        "/calendar/<int:year>",
        expect(403),
        path="/calendar/2027",
        body={"notice": "国务院办公厅关于2027年部分节假日安排的通知", "holidays": []},
    ),
    # witnesses: registered and approved by admins at the root only (the world's are not)
    anywhere(
        "POST",
        "/audit/witnesses",
        expect(403),
        body={
            "name": "jiwei.example/witness",
            "verifier_key": notes.verifier_key("jiwei.example/witness", WITNESS_KEY.public_key()),
        },
    ),
    anywhere("GET", "/audit/witnesses", ADMIN_OR_INSPECTOR),
    Case(
        "POST", "/audit/witnesses/<int:witness_id>/approve", pending_witness("approve"), expect(403)
    ),
    Case(
        "POST", "/audit/witnesses/<int:witness_id>/reject", pending_witness("reject"), expect(403)
    ),
    on_log(
        "GET",
        "/audit/events/<int:event_id>/proof",
        lambda size, event: f"/audit/events/{event}/proof",
        ADMIN_OR_INSPECTOR,
    ),
    on_log(
        "GET",
        "/audit/consistency",
        lambda size, event: f"/audit/consistency?from=1&to={size}",
        ADMIN_OR_INSPECTOR,
    ),
]


def _at_transitions(target: Target, name: str) -> Target:
    """The same request at the lifecycle's one …/transitions endpoint (service.api.transitions)."""

    def at(w: World, db: Session) -> tuple[str, Any]:
        path, body = target(w, db)
        return path.rsplit("/", 1)[0] + "/transitions", {"transition": name, **(body or {})}

    return at


def _first_verbs() -> dict[str, Operation]:
    """Each …/transitions endpoint's first verb, by the endpoint's rule."""
    first: dict[str, Operation] = {}
    for op in REGISTRY:
        if op.fires:
            first.setdefault(op.rule.rsplit("/", 1)[0] + "/transitions", op)
    return first


# Each lifecycle's one transition endpoint is tried as its first verb is: the same answers.
CASES += [
    replace(
        case,
        rule=rule,
        inside=_at_transitions(case.inside, verb.fires[1]),
        outside=_at_transitions(case.outside, verb.fires[1]) if case.outside else None,
    )
    for rule, verb in _first_verbs().items()
    for case in CASES
    if (case.method, case.rule) == (verb.method, verb.rule)
]

PARAMS = [
    pytest.param(case, role, where, id=f"{case.method} {case.rule} as {role} {where}")
    for case in CASES
    for role in ROLES
    for where in (["inside", "outside"] if case.outside else ["inside"])
]
# The same requests by a portal acting for each person (a portal grant on the city: nothing of
# theirs is cut) and with the identity provider's access tokens: the same answers. They differ
# from a token's request only in how the caller is found (On-Behalf-Of, the JWT's claims), which
# no SQL dialect changes, so they run on SQLite; on PostgreSQL a plain token takes a path of its
# own (checked in a transition's load, service.api.scope) and runs there.
CALLERS = ["token", "portal", "oidc"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "caller" in metafunc.fixturenames:
        on_postgresql = metafunc.config.getoption("--db") == "postgresql"
        metafunc.parametrize("caller", ["token"] if on_postgresql else CALLERS)


@pytest.fixture(scope="module")
def portal_token(world_connection: tuple[Connection, World]) -> Iterator[str]:
    """A portal's account with a portal grant on the city, made once for the module in a
    savepoint around it (each case's own savepoint is inside it) and gone after it."""
    conn, world = world_connection
    around = conn.begin_nested()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    token = portal(world, session, "C")
    session.close()
    yield token
    around.rollback()


def _send(api: Api, headers: dict[str, str], method: str, path: str, body: Any) -> Any:
    url = "/api/v1" + path
    if isinstance(body, Upload):
        data = {**body.fields, "file": (io.BytesIO(body.content), body.name)}
        return api.client.open(
            url, method=method, data=data, headers=headers, content_type="multipart/form-data"
        )
    if isinstance(body, bytes):
        return api.client.open(
            url, method=method, data=body, headers={**headers, "Content-Type": "text/csv"}
        )
    return api.client.open(url, method=method, json=body, headers=headers)


def _headers(
    request: pytest.FixtureRequest, api: Api, portal: str, caller: str, who: str
) -> dict[str, str]:
    if caller == "portal":
        return {"Authorization": f"Bearer {portal}", "On-Behalf-Of": who}
    if caller == "oidc":
        request.getfixturevalue("sso")
        return {"Authorization": f"Bearer {jwt_for(preferred_username=who)}"}
    return {"Authorization": f"Bearer {api.world.tokens[who]}"}


@pytest.mark.parametrize(("case", "role", "where"), PARAMS)
def test_authorization(
    request: pytest.FixtureRequest,
    portal_token: str,
    api: Api,
    db: Session,
    case: Case,
    role: str,
    where: str,
    caller: str,
) -> None:
    target = case.inside if where == "inside" else case.outside
    assert target is not None
    headers = _headers(request, api, portal_token, caller, role)
    path, body = target(api.world, db)
    if where == "inside":
        expected = case.expect[role]
    else:
        expected = (case.outside_expect or expect(404))[role]
    if case.credential and caller == "portal" and expected < 400:
        expected = 403
    response = _send(api, headers, case.method, path, body)
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


# --- the superior's duties (docs/decisions/0033) --------------------------------------------
# Every operation that is one of the superior's duties, tried by two insiders of branch A1-01
# holding every role it needs on A1-01 itself: one homed in A1-01 (not_for_own_organization,
# whatever the campaign relaxes), one homed at township A1 (superior_only). The world's callers,
# at county A, succeed in the matrix above.
INSIDERS = {"a101.own": ("A1-01", "not_for_own_organization"), "a1.clerk": ("A1", "superior_only")}


def _insider(db: Session, w: World, username: str) -> str:
    home, _ = INSIDERS[username]
    actor = Actor.system("t")
    account = accounts.create_account(
        db, actor, username=username, display_name=username, organization=w.org(home)
    )
    for role in (Role.REVIEWER, Role.TELLER, Role.SUPERVISOR):
        accounts.grant_role(db, actor, account, role, w.org("A1-01"))
    _, token = accounts.issue_token(db, actor, account, name="t", lifetime=timedelta(days=1))
    db.commit()
    return token


def _session_target(suffix: str, state: str = "open") -> Target:
    return lambda w, db: (f"/ballot-sessions/{ballot_session('A1-01', state)(w, db)}{suffix}", None)


def _grading_target(setup: Callable[[World, Session], int], suffix: str) -> Target:
    return lambda w, db: (f"/gradings/{setup(w, db)}{suffix}", None)


def _decide_approval(step: str) -> Target:
    def make(w: World, db: Session) -> tuple[str, Any]:
        graded = db.get_one(Grading, w.gradings["A1-01"].id)
        walk(graded, "superior_review")
        approval = request_approval(
            db,
            Actor.system("t"),
            graded,
            kind="transition",
            subject="decide",
            payload={},
            reason=None,
        )
        db.commit()
        return f"/approvals/{approval.id}/{step}", {"comment": "r"}

    return make


def _with_body(target: Target, body: Any) -> Target:
    return lambda w, db: (target(w, db)[0], body)


def _transition(state: str, name: str) -> Target:
    return lambda w, db: (
        f"/gradings/{in_state('A1-01', state)(w, db)}/transitions",
        {"transition": name, "reason": "r"},
    )


def _new_session(state: str) -> Target:
    def make(w: World, db: Session) -> tuple[str, Any]:
        return "/ballot-sessions", {
            "campaign_id": w.campaigns["open"].id,
            "title": "会",
            "grading_ids": [in_state("A1-01", state)(w, db)],
            "categories": [{"code": "members", "issued": 10}],
        }

    return make


def re_check_body(grading_id: int) -> dict[str, Any]:
    return {
        "work_group": {"name": "复查组", "leader": "王强"},
        "checked_on": "2026-06-10",
        "results": [{"grading_id": grading_id, "outcome": "confirmed"}],
    }


def _meeting(w: World, db: Session) -> tuple[str, Any]:
    grading_id = in_state("A1-01", "superior_review")(w, db)
    return f"/campaigns/{w.campaigns['open'].id}/decision-meetings", meeting_body(
        w, INSIDE, grading_id
    )


DUTY_CASES: dict[tuple[str, str], Target] = {
    ("POST", "/gradings/<int:grading_id>/survey-entries"): lambda w, db: (
        f"/gradings/{grading('A1-01')(w, db)}/survey-entries",
        SURVEY_BODY,
    ),
    ("PUT", "/gradings/<int:grading_id>/survey-entries/<key>"): lambda w, db: (
        f"/gradings/{with_record('A1-01', 'survey_entry')(w, db)}/survey-entries/E1",
        {**SURVEY_BODY, "reason": "r"},
    ),
    ("POST", "/ballot-sessions"): _new_session("evaluation"),
    ("GET", "/ballot-sessions/<int:session_id>/codes"): _session_target("/codes"),
    ("POST", "/ballot-sessions/<int:session_id>/close"): _session_target("/close"),
    ("POST", "/ballot-sessions/<int:session_id>/count"): _session_target("/count", "closed"),
    ("POST", "/ballot-sessions/<int:session_id>/void"): _with_body(
        _session_target("/void"), {"reason": "r"}
    ),
    ("POST", "/ballot-sessions/<int:session_id>/attendance"): _with_body(
        _session_target("/attendance"), {"categories": [{"code": "members", "present": 9}]}
    ),
    ("POST", "/gradings/<int:grading_id>/paper-tallies"): _with_body(
        _grading_target(in_state("A1-01", "evaluation"), "/paper-tallies"), PAPER
    ),
    ("PUT", "/gradings/<int:grading_id>/paper-tallies/<key>"): _with_body(
        _grading_target(with_paper_tally("A1-01"), "/paper-tallies/P1"), {**PAPER, "reason": "r"}
    ),
    ("PUT", "/gradings/<int:grading_id>/assessment"): _with_body(
        _grading_target(in_state("A1-01", "superior_review"), "/assessment"),
        {"scores": SHEET_BODY["scores"], "note": "量化考核"},
    ),
    ("PUT", "/gradings/<int:grading_id>/decision"): _with_body(
        _grading_target(scored("A1-01"), "/decision"), {"level": "average"}
    ),
    ("PUT", "/gradings/<int:grading_id>/vetoes"): _with_body(
        _grading_target(scored("A1-01"), "/vetoes"), {"flags": [{"code": "leader_violation"}]}
    ),
    ("POST", "/campaigns/<int:campaign_id>/decision-meetings"): _meeting,
    ("POST", "/campaigns/<int:campaign_id>/re-checks"): lambda w, db: (
        f"/campaigns/{w.campaigns['open'].id}/re-checks",
        re_check_body(in_state("A1-01", "re_review")(w, db)),
    ),
    ("POST", "/approvals/<int:approval_id>/approve"): _decide_approval("approve"),
    ("POST", "/approvals/<int:approval_id>/reject"): _decide_approval("reject"),
    ("POST", "/gradings/<int:grading_id>/promotion"): _with_body(
        _grading_target(in_state("A1-01", "promotion"), "/promotion"), {"level": "average"}
    ),
}
DUTY_CASES.update(
    {
        ("POST", rule): _at_transitions(DUTY_CASES[("POST", verb.rule)], verb.fires[1])
        for rule, verb in _first_verbs().items()
        if ("POST", verb.rule) in DUTY_CASES
    }
)
# Transitions that are duties, through the one transition endpoint; a satisfaction meeting.
DUTY_STEPS: dict[str, Target] = {
    "close_evaluation": _transition("evaluation", "close_evaluation"),
    "return_self_rating": _transition("evaluation", "return_self_rating"),
    "decide": _transition("superior_review", "decide"),
    "finalize": _transition("publicity", "finalize"),
    "satisfaction meeting": _new_session("promotion"),
}


@pytest.mark.parametrize("insider", list(INSIDERS))
@pytest.mark.parametrize(
    "target",
    [pytest.param(t, id=f"{m} {r}") for (m, r), t in DUTY_CASES.items()]
    + [pytest.param(t, id=name) for name, t in DUTY_STEPS.items()],
)
def test_a_duty_of_the_superior_is_refused_to_the_organizations_own_people(
    api: Api, db: Session, target: Target, insider: str
) -> None:
    token = _insider(db, api.world, insider)
    path, body = target(api.world, db)
    method = next(
        (m for (m, rule), t in DUTY_CASES.items() if t is target),
        "GET" if path.endswith("/codes") else "POST",
    )
    response = _send(api, {"Authorization": f"Bearer {token}"}, method, path, body)
    assert response.status_code == 403, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["type"] == "/problems/superior-duty", problem
    assert problem["rule"]["code"] == INSIDERS[insider][1]


def test_every_operation_that_is_a_duty_has_a_duty_case() -> None:
    said = {
        (op.method, op.rule)
        for op in REGISTRY
        if op.description and "superior-duty" in op.description
    }
    assert said == set(DUTY_CASES)
