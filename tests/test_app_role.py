"""The service as production runs it: connected as the restricted application role
(`python -m service db app-role-sql`), real requests append to every append-only table — and
that role can change none of them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import service.models  # noqa: F401 (every table in the metadata)
from service import migrate
from service.app import create_app
from service.audit import notes
from service.audit.roles import APPEND_ONLY, app_role_sql
from service.ballots import operations as ballots
from service.ballots.models import BallotCode
from service.campaigns.models import Campaign
from service.config import Settings
from service.context import Actor
from service.db import Base, make_engine, utcnow
from service.gradings import enrolment
from service.gradings.models import Grading
from service.organizations import operations as orgs
from service.organizations.models import Organization
from service.spotchecks import beacons
from tests.conftest import cli_in_process
from tests.grading_helpers import walk
from tests.witnesses import register_in
from tests.world import World, build_world

# a drand quicknet round an hour from now: still unknown when the plan names it
QUICKNET_NEXT = int((datetime.now(UTC).timestamp() + 3600 - 1692803367) // 3) + 1
ROLE = "grading_app_it"


@pytest.fixture(scope="module")
def as_app_role(db_kind: str, fresh_database_url: Any) -> Iterator[tuple[str, str, World]]:
    """A database set up by its owner, and the URL the application role connects with."""
    if db_kind != "postgresql":
        pytest.skip("database roles are a PostgreSQL matter")
    owner_url = fresh_database_url("app_role")
    migrate.upgrade(owner_url)
    engine = make_engine(owner_url)
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session)
        session.commit()
    with engine.begin() as conn:
        conn.exec_driver_sql(app_role_sql(ROLE))
    engine.dispose()
    role_url = make_url(owner_url).set(username=ROLE).render_as_string(hide_password=False)
    yield owner_url, role_url, world


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = {
            name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in APPEND_ONLY
        }
    engine.dispose()
    return found


def _open_ballot(owner_url: str, world: World) -> tuple[str, int]:
    """A ballot session on A1-02, opened by the owner: one code and the grading's id."""
    engine = make_engine(owner_url)
    with Session(engine, expire_on_commit=False) as session:
        grading = session.get_one(Grading, world.gradings["A1-02"].id)
        walk(grading, "evaluation")
        session.get_one(Organization, grading.organization_id).member_count = 1
        opened = ballots.open_session(
            session,
            Actor.system("t"),
            session.get_one(Campaign, grading.campaign_id),
            [(grading, session.get_one(Organization, grading.organization_id))],
            {"title": "会", "categories": [{"code": "members", "issued": 1}]},
            box_secret=Settings.from_env().box_secret,
        )
        session.commit()
        code = session.scalars(select(BallotCode.code).where(BallotCode.session_id == opened.id))
        found = (code.one(), grading.id)
    engine.dispose()
    return found


def _new_branch(owner_url: str, world: World, code: str, state: str) -> int:
    """A new branch of township A1 whose grading is in `state` (rated: 较差), set up by the
    owner: its grading id."""
    engine = make_engine(owner_url)
    actor = Actor.system("t")
    with Session(engine, expire_on_commit=False) as session:
        orgs.create_organization(
            session,
            actor,
            session.get_one(Organization, world.org("A1").id),
            {"code": code, "name": f"{code}党支部", "kind": "branch", "domain": "village"},
        )
        [grading] = enrolment.enroll(
            session, actor, session.get_one(Campaign, world.campaigns["open"].id)
        )
        walk(grading, state)
        if state == "rated":
            grading.level = "poor"
        session.commit()
        found = grading.id
    engine.dispose()
    return found


def test_real_requests_as_the_app_role_append_to_every_append_only_table(
    as_app_role: tuple[str, str, World], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    owner_url, role_url, world = as_app_role
    code, voted_on = _open_ballot(owner_url, world)
    rated = _new_branch(owner_url, world, "A1-09", "rated")
    reviewed = _new_branch(owner_url, world, "A1-10", "superior_review")
    before = _counts(owner_url)
    app = create_app(Settings.from_env(database_url=role_url, evidence_dir=str(tmp_path)))
    client = app.test_client()

    def send(method: str, path: str, who: str | None, body: Any, expected: int) -> Any:
        headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
        assert response.status_code == expected, response.get_data(as_text=True)
        return response.get_json()

    grading = world.gradings["A1-01"].id
    entry = {"method": "meeting", "date": "2026-03-01"}
    send("POST", f"/gradings/{grading}/survey-entries", "reviewer", entry, 201)
    send(
        "POST",
        f"/gradings/{grading}/transitions",
        "reviewer",
        {"transition": "open_self_rating"},
        200,
    )
    scan = client.post(  # the secretary's evidence for the self-rating (佐证材料)
        f"/api/v1/gradings/{grading}/evidence-files",
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "台账.pdf"), "attached_to": "self_rating"},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {world.tokens['secretary']}"},
    )
    assert scan.status_code == 201, scan.get_data(as_text=True)
    send(
        "POST",
        "/ballots",
        None,
        {"code": code, "answers": [{"grading_id": voted_on, "level": "good"}]},
        201,
    )
    spot = send(  # the county's inspector spot-checks the township's rated poor branches
        "POST",
        "/spot-checks",
        "inspector",
        {
            "campaign_id": world.campaigns["open"].id,
            "organization_id": world.org("A1").id,
            "title": "抽查",
            "levels": ["poor"],
            "size": 1,
            "beacon": {"kind": "drand", "chain": "quicknet", "round": QUICKNET_NEXT},
        },
        201,
    )["id"]
    signed = cli_in_process(role_url, "audit", "checkpoint")
    assert signed.exit_code == 0, signed.output
    monkeypatch.setattr(beacons, "now", lambda: utcnow() + timedelta(hours=1))
    send("POST", f"/spot-checks/{spot}/draw", "inspector", {"public_value": "ab" * 32}, 200)
    falsified = {"outcome": "falsified", "evidence": "补写", "description": "记录造假"}
    send("PUT", f"/spot-checks/{spot}/findings/{rated}", "inspector", falsified, 200)
    send(
        "POST",
        f"/spot-checks/{spot}/accountability",
        "inspector",
        {
            "grading_id": rated,
            "committee_id": world.org("A1").id,
            "persons": "书记",
            "measure": "诫勉谈话",
        },
        201,
    )
    send(  # the township's 分类定级会议, recorded by the county's reviewer
        "POST",
        f"/campaigns/{world.campaigns['open'].id}/decision-meetings",
        "reviewer",
        {
            "organization_id": world.org("A1").id,
            "held_on": "2026-04-10",
            "chaired_by": "书记",
            "attendees": ["书记", "委员"],
            "minutes": "研究确定等级",
            "results": [{"grading_id": reviewed, "level": "average"}],
        },
        201,
    )
    send(  # the township's tables reported upward (上报), kept as sent
        "POST",
        f"/campaigns/{world.campaigns['open'].id}/report-submissions",
        "reviewer",
        {"organization_id": world.org("A1").id, "kind": "grading_tables", "signed_off_by": "书记"},
        201,
    )
    note = client.get("/api/v1/audit/checkpoints/latest").get_data(as_text=True)
    size = int(note.splitlines()[1])
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    witness = "jiwei.example/witness"
    owner = make_engine(owner_url)
    with Session(owner) as session:  # registered by two admins at the root (as the owner here)
        register_in(session, witness, notes.verifier_key(witness, key.public_key()))
        session.commit()
    owner.dispose()
    send(
        "POST",
        f"/audit/checkpoints/{size}/cosignatures",
        "inspector",
        {
            "witness": witness,
            "verifier_key": notes.verifier_key(witness, key.public_key()),
            "line": notes.cosign(note, witness, key, 1_800_000_000),
        },
        201,
    )
    app.extensions["grading.engine"].dispose()
    after = _counts(owner_url)
    assert [name for name in APPEND_ONLY if after[name] <= before[name]] == []


@pytest.mark.parametrize("name", APPEND_ONLY)
def test_the_app_role_cannot_change_an_append_only_table(
    as_app_role: tuple[str, str, World], name: str
) -> None:
    _, role_url, _ = as_app_role
    engine = make_engine(role_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == ROLE
        conn.rollback()
        column = next(iter(Base.metadata.tables[name].columns)).name
        for statement in (
            f"UPDATE {name} SET {column} = {column}",
            f"DELETE FROM {name}",
            f"TRUNCATE {name}",
        ):
            with pytest.raises(DBAPIError, match="permission denied"), conn.begin():
                conn.execute(text(statement))
    engine.dispose()


def test_an_upgrade_grants_the_app_role_the_tables_it_adds(
    db_kind: str, fresh_database_url: Any
) -> None:
    """Set up at one release, upgraded at the next: the role may use the new tables at once —
    the new append-only ones append-only — without running app-role-sql again."""
    if db_kind != "postgresql":
        pytest.skip("database roles are a PostgreSQL matter")
    owner_url = fresh_database_url("app_role_upgrade")
    migrate.upgrade(owner_url, "0017")  # before the calendar's tables
    engine = make_engine(owner_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(app_role_sql(ROLE))
    migrate.upgrade(owner_url)  # the next release: calendar_years, calendar_days
    with engine.begin() as conn:  # a table made by hand, by the owner, no upgrade after it
        conn.exec_driver_sql("CREATE TABLE made_later (id integer)")
    engine.dispose()
    role_url = make_url(owner_url).set(username=ROLE).render_as_string(hide_password=False)
    as_role = make_engine(role_url)
    with as_role.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO calendar_years (year, notice, entered_by, entered_at) "
            "VALUES (2027, '通知', 'admin', now())"
        )
        conn.exec_driver_sql("UPDATE calendar_years SET notice = '通知（更正）'")
        conn.exec_driver_sql("INSERT INTO made_later VALUES (1)")
    with pytest.raises(DBAPIError, match="permission denied"), as_role.begin() as conn:
        conn.exec_driver_sql("UPDATE made_later SET id = 2")  # by default: append only
    with pytest.raises(DBAPIError, match="permission denied"), as_role.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_events")  # still append-only after the upgrade
    as_role.dispose()
