"""The attacks of an inspector with read access to the database (and of a superuser reading row
versions with pageinspect, or a dump) against 无记名测评, reproduced on a committed PostgreSQL
database: none of them leads from a code to a choice (docs/decisions/0017).

The ballots here score every indicator with distinctive values, so their fixed-length plaintext
is a 30-byte string that would be found wherever it was written in the clear.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from service import migrate
from service.app import create_app
from service.audit.models import AuditEvent
from service.ballots import box
from service.ballots import operations as ballots
from service.ballots.models import BallotCode, BallotSession, SealedBallot
from service.campaigns.models import Campaign
from service.config import Settings
from service.context import Actor
from service.db import make_engine
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.standards.models import Standard
from tests.conftest import cli_in_process
from tests.grading_helpers import walk
from tests.world import build_world

VOTERS = 6


@dataclass
class Voted:
    url: str
    engine: Engine
    session_id: int
    grading_id: int
    codes: list[str]
    plaintexts: list[bytes]  # what each ballot encodes to, in the clear
    receipts: list[str]
    log: list[str]


def _scores(standard: Standard, n: int) -> dict[str, Decimal]:
    """Distinctive scores: below each maximum, different per voter."""
    return {
        i.code: (i.max_points - Decimal(1) - Decimal(n) / 10 - Decimal("0.37")).quantize(
            Decimal("0.01")
        )
        for i in standard.indicators
    }


@pytest.fixture(scope="module")
def voted(db_kind: str, fresh_database_url: Any) -> Iterator[Voted]:
    if db_kind != "postgresql":
        pytest.skip("PostgreSQL's own bookkeeping (xmin, row versions, dumps) is the attack")
    url = fresh_database_url("secrecy")
    migrate.upgrade(url)
    engine = make_engine(url)
    settings = Settings.from_env(database_url=url)
    with Session(engine, expire_on_commit=False) as db:
        world = build_world(db)
        grading = db.get_one(Grading, world.gradings["A1-01"].id)
        walk(grading, "evaluation")
        db.get_one(Organization, grading.organization_id).member_count = VOTERS
        session = ballots.open_session(
            db,
            Actor.system("t"),
            db.get_one(Campaign, grading.campaign_id),
            [(grading, db.get_one(Organization, grading.organization_id))],
            {
                "title": "无记名测评",
                "asks": "indicators",
                "categories": [{"code": "members", "issued": VOTERS}],
            },
            box_secret=settings.box_secret,
        )
        db.commit()
        standard = db.get_one(Standard, grading.standard_id)
        layout = ballots.layout(db, session)
        codes = list(db.scalars(select(BallotCode.code).where(BallotCode.session_id == session.id)))
        answers = [_scores(standard, n) for n in range(VOTERS)]
        plaintexts = [box.encode(layout, "members", {grading.id: a}) for a in answers]
        session_id, grading_id = session.id, grading.id
    app = create_app(settings)
    log: list[str] = []
    handler = _Collect(log)
    logging.getLogger().addHandler(handler)
    receipts = []
    try:
        client = app.test_client()
        for code, scores in zip(codes, answers, strict=True):
            body = {
                "code": code,
                "answers": [
                    {
                        "grading_id": grading_id,
                        "scores": [{"indicator": k, "score": str(v)} for k, v in scores.items()],
                    }
                ],
            }
            response = client.post("/api/v1/ballots", json=body)
            assert response.status_code == 201, response.get_json()
            receipts.append(response.get_json()["receipt"])
    finally:
        logging.getLogger().removeHandler(handler)
        app.extensions["grading.engine"].dispose()
    yield Voted(url, engine, session_id, grading_id, codes, plaintexts, receipts, log)
    engine.dispose()


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


def _tables(db: Session) -> list[str]:
    return list(
        db.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        )
    )


def test_the_tables_a_ballot_shares_a_transaction_id_with_hold_only_ciphertext(
    voted: Voted,
) -> None:
    with Session(voted.engine) as db:
        sharing: dict[str, int] = {}
        for table in _tables(db):
            if table == "ballot_codes":
                continue
            joined = db.scalar(
                text(
                    f"SELECT count(*) FROM ballot_codes c JOIN {table} t ON t.xmin = c.xmin "
                    "WHERE c.used AND c.session_id = :s"
                ),
                {"s": voted.session_id},
            )
            if joined:
                sharing[table] = joined
        # Only the box shares the voting transactions, one sealed ballot per used code.
        assert sharing == {"ballot_box": VOTERS}
        sealed = db.scalars(
            select(SealedBallot.sealed).where(SealedBallot.session_id == voted.session_id)
        ).all()
        for ciphertext in sealed:
            assert len(ciphertext) == 32 + len(voted.plaintexts[0]) + 16  # key, text, tag
            assert not any(p in ciphertext for p in voted.plaintexts)


def _assert_no_row_version_holds(voted: Voted) -> None:
    """Read every tuple of every table, live and dead, as raw bytes (pageinspect)."""
    with Session(voted.engine) as db:
        db.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        db.commit()
        seen = 0
        for table in _tables(db):
            pages = db.scalar(text(f"SELECT pg_relation_size('{table}') / 8192"))
            for page in range(int(pages or 0)):
                for data in db.scalars(
                    text(
                        "SELECT t_data FROM heap_page_items(get_raw_page(:t, :p)) "
                        "WHERE t_data IS NOT NULL"
                    ),
                    {"t": table, "p": page},
                ):
                    seen += 1
                    assert not any(p in bytes(data) for p in voted.plaintexts), table
        assert seen > 100  # live and dead versions of every table were read


def test_no_row_version_of_any_table_holds_a_ballot_in_the_clear(voted: Voted) -> None:
    _assert_no_row_version_holds(voted)


def test_a_dump_of_the_database_before_counting_has_no_readable_choice(voted: Voted) -> None:
    with Session(voted.engine) as db:
        state = db.scalar(select(BallotSession.state).where(BallotSession.id == voted.session_id))
        sealed = db.scalars(select(SealedBallot.sealed)).first()
    assert state == "open" and sealed is not None
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            make_engine(voted.url)
            .url.render_as_string(False)
            .replace("postgresql+psycopg", "postgresql"),
        ],
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert sealed.hex() in dump  # the box is there, as ciphertext (bytea is dumped as hex)
    assert not any(p.hex() in dump for p in voted.plaintexts)


def test_no_audit_event_or_log_line_is_written_per_ballot(voted: Voted) -> None:
    with Session(voted.engine) as db:
        actions = set(db.scalars(select(AuditEvent.action)))
        assert not {a for a in actions if a.startswith("ballot.")}
        trail = " ".join(
            str(e)
            for row in db.execute(select(AuditEvent.after, AuditEvent.before, AuditEvent.reason))
            for e in row
        )
    for secret in (*voted.codes, *voted.receipts):
        assert secret not in trail
        assert not any(secret in line for line in voted.log)


def test_counting_opens_the_box_writes_no_ballot_and_posts_every_receipt(voted: Voted) -> None:
    settings = Settings.from_env(database_url=voted.url)
    with Session(voted.engine, expire_on_commit=False) as db:
        session = db.get_one(BallotSession, voted.session_id)
        ballots.close(db, Actor.system("t"), session)
        ballots.record_attendance(db, Actor.system("t"), session, {"members": VOTERS})
        ballots.count(db, Actor.system("t"), session, box_secret=settings.box_secret)
        db.commit()
        board = ballots.bulletin_board(session, db)
    assert board["receipts"] == sorted(voted.receipts) and board["ballots"] == VOTERS
    _assert_no_row_version_holds(voted)  # the opened ballots were written nowhere


def test_once_counted_no_transaction_id_or_place_ties_a_code_to_its_ballot(
    voted: Voted, db_kind: str
) -> None:
    """After counting (and the nightly vacuum), every code row of the session — live and, with
    pageinspect, any version left — was written by the counting transaction: none shares a
    transaction id with a ballot, an audit event dates none, and their order on disk is not the
    order they were used in."""
    settings = Settings.from_env(database_url=voted.url)
    with Session(voted.engine, expire_on_commit=False) as db:
        session = db.get_one(BallotSession, voted.session_id)
        if session.state != "counted":
            ballots.close(db, Actor.system("t"), session)
            ballots.record_attendance(db, Actor.system("t"), session, {"members": VOTERS})
            ballots.count(db, Actor.system("t"), session, box_secret=settings.box_secret)
            db.commit()
    done = cli_in_process(voted.url, "db", "vacuum-ballots")
    assert done.exit_code == 0, done.output
    with Session(voted.engine) as db:
        counted = db.scalar(
            text(
                "SELECT xmin::text FROM audit_events WHERE action = 'ballot_session.count' "
                "AND entity_id = :s"
            ),
            {"s": str(voted.session_id)},
        )
        xmins = set(
            db.scalars(
                text("SELECT xmin::text FROM ballot_codes WHERE session_id = :s"),
                {"s": voted.session_id},
            )
        )
        assert xmins == {counted}  # one transaction wrote them all: the counting
        box = set(db.scalars(text("SELECT xmin::text FROM ballot_box")))
        assert not xmins & box
        assert db.scalar(text("SELECT count(*) FROM ballot_codes WHERE retry_box IS NOT NULL")) == 0
        db.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        pages = int(db.scalar(text("SELECT pg_relation_size('ballot_codes') / 8192")) or 0)
        versions = []
        for page in range(pages):
            versions += db.execute(
                text(
                    "SELECT t_xmin::text, t_data FROM heap_page_items(get_raw_page('ballot_codes', "
                    ":p)) WHERE t_data IS NOT NULL"
                ),
                {"p": page},
            ).all()
        of_codes = [
            x for x, data in versions if any(c.encode() in bytes(data) for c in voted.codes)
        ]
        assert of_codes and set(of_codes) == {counted}, set(of_codes)  # no older version left
