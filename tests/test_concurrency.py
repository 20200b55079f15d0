"""Concurrent writers on the real PostgreSQL: one winner per version, no forked chains."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import migrate
from service.accounts import operations as accounts
from service.accounts.models import Account, GrantRequest, Role, RoleGrant
from service.app import create_app
from service.audit.models import AuditEvent
from service.audit.verify import verify
from service.ballots import operations as ballots
from service.ballots.models import BallotCode, SealedBallot
from service.campaigns.models import Campaign, QuotaRule
from service.config import Settings
from service.context import Actor
from service.db import make_engine
from service.errors import ApprovalPending
from service.gradings import enrolment, records
from service.gradings.approvals import request_approval
from service.gradings.models import Approval, Grading
from service.organizations import operations as orgs
from service.organizations.models import Organization
from tests.concurrency_worker import fire_many
from tests.grading_helpers import ballot_tally, hold_meeting, walk
from tests.world import World, build_world

EXTRA_BRANCHES = 200


@dataclass
class Setup:
    url: str
    world: World
    many: list[int]  # gradings of 200 different organizations


@pytest.fixture(scope="module")
def committed(db_kind: str, fresh_database_url: Any) -> Iterator[Setup]:
    if db_kind != "postgresql":
        pytest.skip("concurrency and locking are tested on the real PostgreSQL")
    url = fresh_database_url("concurrency")
    migrate.upgrade(url)
    engine = make_engine(url)
    actor = Actor.system("test")
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session)
        for n in range(EXTRA_BRANCHES):
            orgs.create_organization(
                session,
                actor,
                world.org("A1"),
                {
                    "code": f"A1-X{n:03d}",
                    "name": f"第{n}村党支部",
                    "kind": "branch",
                    "domain": "village",
                },
            )
        enrolment.enroll(session, actor, world.campaigns["open"])
        gradings = session.scalars(
            select(Grading).where(Grading.campaign_id == world.campaigns["open"].id)
        ).all()
        for grading in gradings:
            records.write(session, actor, grading, "survey_entry", {"households": 1})
        session.commit()
        many = [
            g.id
            for g in gradings
            if g.id not in {world.gradings["A1-01"].id, world.gradings["A1-02"].id}
        ]
    engine.dispose()
    yield Setup(url, world, many)


def _fire(app: Any, token: str, grading_id: int, transition: str = "open_self_rating") -> int:
    response = app.test_client().post(
        f"/api/v1/gradings/{grading_id}/transitions",
        json={"transition": transition},
        headers={"Authorization": f"Bearer {token}", "If-Match": '"1"'},
    )
    return response.status_code


def test_twenty_threads_on_one_grading_make_exactly_one_winner(committed: Setup) -> None:
    app = create_app(Settings.from_env(database_url=committed.url))
    grading_id = committed.world.gradings["A1-01"].id
    token = committed.world.tokens["reviewer"]
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = Counter(pool.map(lambda _: _fire(app, token, grading_id), range(20)))
    assert statuses[200] == 1, statuses
    assert set(statuses) <= {200, 409, 412}, statuses
    engine = app.extensions["grading.engine"]
    with Session(engine) as session:
        grading = session.get_one(Grading, grading_id)
        assert (grading.state, grading.version) == ("self_rating", 2)
        fired = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "grading.transition", AuditEvent.entity_id == str(grading_id)
            )
        )
        assert fired == 1
        assert verify(session).intact
    engine.dispose()


def test_two_processes_on_one_grading_make_exactly_one_winner(committed: Setup) -> None:
    grading_id = committed.world.gradings["A1-02"].id
    token = committed.world.tokens["reviewer"]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [
            pool.submit(fire_many, committed.url, token, grading_id, "open_self_rating", 10)
            for _ in range(2)
        ]
        statuses = Counter(s for f in futures for s in f.result(timeout=120))
    assert statuses[200] == 1, statuses
    engine = make_engine(committed.url)
    with Session(engine) as session:
        assert session.get_one(Grading, grading_id).version == 2
        assert verify(session).intact
    engine.dispose()


def test_two_hundred_gradings_in_parallel_all_succeed_and_every_chain_verifies(
    committed: Setup,
) -> None:
    app = create_app(Settings.from_env(database_url=committed.url))
    token = committed.world.tokens["reviewer"]
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = Counter(pool.map(lambda gid: _fire(app, token, gid), committed.many))
    assert statuses == Counter({200: len(committed.many)})
    engine = app.extensions["grading.engine"]
    with Session(engine) as session:
        report = verify(session)
        assert report.intact, report.summary()
        states = session.scalars(select(Grading.state).where(Grading.id.in_(committed.many))).all()
        assert set(states) == {"self_rating"}
    engine.dispose()


def test_fifty_concurrent_submissions_of_one_code_count_once(committed: Setup) -> None:
    engine = make_engine(committed.url)
    with Session(engine, expire_on_commit=False) as session:
        grading = session.get_one(Grading, committed.many[-1])
        walk(grading, "evaluation")
        org = session.get_one(Organization, grading.organization_id)
        org.member_count = 3
        campaign = session.get_one(Campaign, grading.campaign_id)
        ballot = ballots.open_session(
            session,
            Actor.system("t"),
            campaign,
            [(grading, org)],
            {"title": "并发测评", "categories": [{"code": "members", "issued": 3}]},
            box_secret=Settings.from_env().box_secret,
        )
        session.commit()
        code = session.scalars(
            select(BallotCode.code).where(BallotCode.session_id == ballot.id)
        ).first()
        grading_id = grading.id
    app = create_app(Settings.from_env(database_url=committed.url))

    def submit(_: int) -> int:
        response = app.test_client().post(
            "/api/v1/ballots",
            json={"code": code, "answers": [{"grading_id": grading_id, "level": "good"}]},
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=25) as pool:
        statuses = Counter(pool.map(submit, range(50)))
    assert statuses == Counter({201: 1, 409: 49}), statuses
    with Session(engine) as session:
        used = session.scalar(
            select(func.count())
            .select_from(BallotCode)
            .where(BallotCode.session_id == ballot.id, BallotCode.used.is_(True))
        )
        sealed = session.scalar(
            select(func.count())
            .select_from(SealedBallot)
            .where(SealedBallot.session_id == ballot.id)
        )
        assert (used, sealed) == (1, 1)
    app.extensions["grading.engine"].dispose()
    engine.dispose()


def test_two_supervisors_deciding_at_once_cannot_pass_a_cap_together(committed: Setup) -> None:
    engine = make_engine(committed.url)
    actor = Actor.system("t")
    with Session(engine, expire_on_commit=False) as session:
        campaign = session.get_one(Campaign, committed.world.campaigns["open"].id)
        total = (
            session.scalar(
                select(func.count()).select_from(Grading).where(Grading.campaign_id == campaign.id)
            )
            or 0
        )
        rule = session.scalars(select(QuotaRule).where(QuotaRule.campaign_id == campaign.id)).one()
        rule.max_share = Decimal(100) / total * Decimal("1.5")  # room for exactly one 好
        pair = committed.many[:2]
        approvals = []
        for grading_id in pair:
            grading = session.get_one(Grading, grading_id)
            walk(grading, "superior_review")
            for sheet in ("assessment", "self_rating"):
                records.write(session, actor, grading, sheet, {"totals": {"total": "96"}})
            records.write(
                session,
                actor,
                grading,
                "ballot_tally",
                ballot_tally("96", 9),
                key="P1",
            )
            records.write(session, actor, grading, "decision", {"level": "good"})
            hold_meeting(session, grading, "good")
            approvals.append(
                request_approval(
                    session,
                    actor,
                    grading,
                    kind="transition",
                    subject="decide",
                    payload={},
                    reason="定级",
                ).id
            )
        session.commit()
    app = create_app(Settings.from_env(database_url=committed.url))
    barrier = threading.Barrier(2)

    def approve(args: tuple[int, str]) -> int:
        approval_id, who = args
        client = app.test_client()
        barrier.wait()
        return client.post(
            f"/api/v1/approvals/{approval_id}/approve",
            json={},
            headers={"Authorization": f"Bearer {committed.world.tokens[who]}"},
        ).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(approve, zip(approvals, ["supervisor", "chief"], strict=True)))
    assert statuses == [200, 409], statuses
    with Session(engine) as session:
        levels = session.scalars(select(Grading.level).where(Grading.id.in_(pair))).all()
        assert sorted(levels, key=str) == sorted(["good", None], key=str)
        assert verify(session).intact
    app.extensions["grading.engine"].dispose()
    engine.dispose()


def _correction(committed: Setup, index: int) -> tuple[int, int]:
    """A correction waiting for approval on one of the many gradings: (grading, approval)."""
    engine = make_engine(committed.url)
    with Session(engine, expire_on_commit=False) as session:
        grading = session.get_one(Grading, committed.many[index])
        approval = request_approval(
            session,
            Actor.system("t"),
            grading,
            kind="correction",
            subject="survey_entry",
            payload={"record_key": "main", "data": {"households": 2}},
            reason="补录",
        )
        session.commit()
        ids = (grading.id, approval.id)
    engine.dispose()
    return ids


def _decisions_on(url: str, grading_id: int) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        found = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.entity_id == str(grading_id),
                AuditEvent.action.in_(["approval.approve", "approval.reject"]),
            )
        )
    engine.dispose()
    return int(found or 0)


def test_an_approve_and_a_reject_at_once_leave_one_outcome(committed: Setup) -> None:
    grading_id, approval_id = _correction(committed, 40)
    app = create_app(Settings.from_env(database_url=committed.url))
    barrier = threading.Barrier(2)

    def decide(args: tuple[str, str, dict[str, str]]) -> int:
        step, who, body = args
        client = app.test_client()
        headers = {"Authorization": f"Bearer {committed.world.tokens[who]}"}
        barrier.wait()
        return client.post(
            f"/api/v1/approvals/{approval_id}/{step}", json=body, headers=headers
        ).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(
            pool.map(
                decide, [("approve", "supervisor", {}), ("reject", "chief", {"comment": "否"})]
            )
        )
    app.extensions["grading.engine"].dispose()
    assert statuses == [200, 409], statuses
    assert _decisions_on(committed.url, grading_id) == 1  # one event: one outcome


def test_two_requests_for_approval_at_once_leave_one_pending(committed: Setup) -> None:
    engine = make_engine(committed.url)
    grading_id = committed.many[41]
    barrier = threading.Barrier(2)

    def ask(n: int) -> str:
        with Session(engine, expire_on_commit=False) as session:
            grading = session.get_one(Grading, grading_id)
            barrier.wait()
            try:
                request_approval(
                    session,
                    Actor.system(f"t{n}"),
                    grading,
                    kind="correction",
                    subject="survey_entry",
                    payload={"record_key": "main", "data": {"households": n}},
                    reason="补录",
                )
                session.commit()
                return "pending"
            # The second is refused by the unique index (both checked before either wrote) or,
            # when the first committed before its check, by the check itself.
            except (IntegrityError, ApprovalPending):
                session.rollback()
                return "refused"

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(ask, [1, 2]))
        assert outcomes == ["pending", "refused"], outcomes
        with Session(engine) as session:
            pending = session.scalar(
                select(func.count())
                .select_from(Approval)
                .where(Approval.grading_id == grading_id, Approval.state == "pending")
            )
            events = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.entity_id == str(grading_id),
                    AuditEvent.action == "approval.request",
                )
            )
    finally:
        engine.dispose()
    assert (pending, events) == (1, 1)


def test_an_approve_and_a_reject_of_one_grant_request_leave_one_outcome(
    committed: Setup,
) -> None:
    engine = make_engine(committed.url)
    with Session(engine, expire_on_commit=False) as session:
        account = session.get_one(Account, committed.world.accounts["teller"].id)
        township = session.get_one(Organization, committed.world.org("A1").id)
        request_id = accounts.request_grant(
            session, Actor.system("t"), account, Role.SUPERVISOR, township
        ).id
        session.commit()
    app = create_app(Settings.from_env(database_url=committed.url))
    barrier = threading.Barrier(2)

    def decide(args: tuple[str, str, dict[str, str]]) -> int:
        step, who, body = args
        headers = {"Authorization": f"Bearer {committed.world.tokens[who]}"}
        client = app.test_client()
        barrier.wait()
        return client.post(
            f"/api/v1/grant-requests/{request_id}/{step}", json=body, headers=headers
        ).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(
            pool.map(decide, [("approve", "admin", {}), ("reject", "root_admin", {"reason": "否"})])
        )
    app.extensions["grading.engine"].dispose()
    assert statuses == [200, 409], statuses
    with Session(engine) as session:
        decided = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.entity_type == "grant_request",
                AuditEvent.entity_id == str(request_id),
                AuditEvent.action.in_(["grant.approve", "grant.reject"]),
            )
        )
        state = session.get_one(GrantRequest, request_id).state
        live = session.scalar(
            select(func.count()).where(
                RoleGrant.account_id == committed.world.accounts["teller"].id,
                RoleGrant.role == "supervisor",
            )
        )
    engine.dispose()
    assert decided == 1
    assert (state, live) in {("approved", 1), ("rejected", 0)}
