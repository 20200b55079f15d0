"""The rules a level decision must respect, checked in the domain without HTTP (the HTTP side:
tests/test_decisions.py). The world's open campaign has two gradings, A1-01 and A1-02; its
quota caps 好 at 20 %, and its veto rule `leader_violation` forces 较差."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service import demo, migrate
from service.campaigns.models import Campaign, QuotaRule
from service.context import Actor
from service.db import make_engine
from service.decisions import rules
from service.gradings import records
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.reports import queries as reports
from service.workflows.context import GuardContext
from tests.grading_helpers import ballot_tally, walk
from tests.world import World

ACTOR = Actor.system("test")


def in_review(db: Session, world: World, key: str = "A1-01") -> Grading:
    grading = db.get_one(Grading, world.gradings[key].id)
    walk(grading, "superior_review")
    return grading


def propose(db: Session, grading: Grading, level: str, **extra: Any) -> None:
    first = records.current(db, grading.id, "decision", "main") is None
    records.write(
        db, ACTOR, grading, "decision", {"level": level, **extra}, reason=None if first else "改"
    )


def context(db: Session) -> GuardContext:
    return GuardContext(db, date(2026, 4, 1), 5)


def campaign_of(db: Session, grading: Grading) -> Campaign:
    return db.get_one(Campaign, grading.campaign_id)


def cap_of_good(db: Session, grading: Grading) -> QuotaRule:
    return db.scalars(
        select(QuotaRule).where(
            QuotaRule.campaign_id == grading.campaign_id, QuotaRule.level_code == "good"
        )
    ).one()


def test_a_veto_allows_only_the_level_it_forces(db: Session, world: World) -> None:
    grading = in_review(db, world)
    propose(db, grading, "average")
    assert rules.veto_respected(grading, context(db))
    records.write(db, ACTOR, grading, "veto_flags", {"flags": [{"code": "leader_violation"}]})
    assert rules.forced_level(db, grading, campaign_of(db, grading)) == "poor"
    assert not rules.veto_respected(grading, context(db))
    propose(db, grading, "poor")
    assert rules.veto_respected(grading, context(db))


def test_a_new_organization_gets_the_top_level_only_by_exception(db: Session, world: World) -> None:
    grading = in_review(db, world)
    campaign_of(db, grading).new_org_cutoff = date(2020, 1, 1)
    org = db.get_one(Organization, grading.organization_id)
    propose(db, grading, "good")
    org.founded_on = date(2019, 12, 31)
    assert rules.new_org_not_top(grading, context(db))
    org.founded_on = date(2020, 1, 1)
    assert not rules.new_org_not_top(grading, context(db))
    propose(db, grading, "good", new_org_exception="乡村振兴示范点，特申请例外")
    assert rules.new_org_not_top(grading, context(db))
    propose(db, grading, "fairly_good")
    assert rules.new_org_not_top(grading, context(db))


def test_a_source_below_its_threshold_caps_the_level(db: Session, world: World) -> None:
    grading = in_review(db, world)
    campaign_of(db, grading).decision_config = {
        "thresholds": [{"source": "members", "min_points": "90", "max_level": "average"}]
    }
    records.write(
        db,
        ACTOR,
        grading,
        "ballot_tally",
        ballot_tally("85", 10),
        key="P1",
    )
    propose(db, grading, "fairly_good")
    assert not rules.source_thresholds_met(grading, context(db))
    propose(db, grading, "average")  # the level the threshold allows
    assert rules.source_thresholds_met(grading, context(db))


def test_a_quota_cap_counts_the_levels_already_decided(db: Session, world: World) -> None:
    first, second = in_review(db, world, "A1-01"), in_review(db, world, "A1-02")
    propose(db, first, "good")
    assert not rules.within_cap(first, context(db))  # 1 of 2 is 50 %, above 20 %
    cap_of_good(db, first).max_share = Decimal(50)
    assert rules.within_cap(first, context(db))
    walk(second, "publicity")
    second.level = "good"
    assert rules.decided_counts(db, first.campaign_id) == {"good": 1}
    assert not rules.within_cap(first, context(db))  # a second 好 would make 100 %


def test_floors_are_judged_once_every_grading_is_decided(db: Session, world: World) -> None:
    first, second = in_review(db, world, "A1-01"), in_review(db, world, "A1-02")
    db.add(QuotaRule(campaign_id=first.campaign_id, level_code="poor", min_share=Decimal(50)))
    db.flush()
    walk(first, "publicity")
    first.level = "average"
    assert rules.floors_met(first, context(db))  # one grading is still undecided
    walk(second, "publicity")
    second.level = "average"
    assert not rules.floors_met(first, context(db))  # no 较差 of 2: below 50 %
    second.level = "poor"
    assert rules.floors_met(first, context(db))


@pytest.fixture
def demo_db(fresh_database_url: Any) -> Iterator[Session]:
    """The demo county: 凤凰镇党委 decides 21 branches, 青石镇党委 3, the county the school's 2."""
    url = fresh_database_url("quotas")
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        demo.load(db, year=2026)
        db.commit()
        yield db
    engine.dispose()


def _by_code(db: Session, suffix: str) -> Grading:
    return db.scalars(
        select(Grading)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Organization.code == f"YC-XL-{suffix}")
    ).one()


def _decided_good(db: Session, suffix: str) -> None:
    grading = _by_code(db, suffix)
    walk(grading, "publicity")
    grading.level = "good"


def _proposing_good(db: Session, suffix: str) -> Grading:
    grading = _by_code(db, suffix)
    walk(grading, "superior_review")
    propose(db, grading, "good")
    return grading


def _only_rule(db: Session, campaign: Campaign, scope: str) -> None:
    db.execute(delete(QuotaRule).where(QuotaRule.campaign_id == campaign.id))
    db.add(
        QuotaRule(campaign_id=campaign.id, level_code="good", scope=scope, max_share=Decimal(20))
    )
    db.flush()
    db.expire(campaign)


def test_a_cap_per_deciding_committee_counts_each_township_on_its_own(demo_db: Session) -> None:
    db = demo_db
    campaign = db.scalars(select(Campaign)).one()
    _only_rule(db, campaign, "committee")
    for village in ("V01", "V02", "V03", "V04"):
        _decided_good(db, f"FH-{village}")
    fifth = _proposing_good(db, "FH-V05")  # 5 of 21 would be 23.8 % > 20 %
    assert not rules.within_cap(fifth, context(db))
    assert rules.cap_detail(fifth, context(db)) == "凤凰镇党委: good 4 of 21 (cap 20.00%)"
    small = _proposing_good(db, "QS-V01")  # 1 of 3 would be 33 %
    assert not rules.within_cap(small, context(db))
    assert rules.cap_detail(small, context(db)) == "青石镇党委: good 0 of 3 (cap 20.00%)"
    status = {(s["scope"], s["unit_name"]): s for s in rules.quota_status(db, campaign)}
    assert set(status) == {
        ("committee", "凤凰镇党委"),
        ("committee", "青石镇党委"),
        ("committee", "兴隆县委"),  # the school's general branch and branch, the hospital's 党委
    }
    town = status[("committee", "凤凰镇党委")]
    assert (town["decided"], town["total"], town["share"], town["headroom"]) == (
        4,
        21,
        Decimal("19.05"),
        0,
    )
    assert (
        status[("committee", "兴隆县委")]["total"],
        status[("committee", "青石镇党委")]["total"],
    ) == (
        3,
        3,
    )
    # the 汇总表 counts the same levels for the township
    root = db.get_one(Organization, campaign.organization_id)
    report = reports.summary(db, campaign, root, provisional=True)
    row = next(r for r in report["rows"] if r["name"] == "凤凰镇党委")
    assert row["levels"]["good"]["count"] == town["decided"]


def test_a_county_wide_cap_counts_every_organization_taking_part(demo_db: Session) -> None:
    db = demo_db
    campaign = db.scalars(select(Campaign)).one()
    _only_rule(db, campaign, "campaign")
    for village in ("V01", "V02", "V03", "V04"):
        _decided_good(db, f"FH-{village}")
    fifth = _proposing_good(db, "QS-V01")  # 5 of 27 = 18.5 %: allowed county-wide
    assert rules.within_cap(fifth, context(db))
    walk(fifth, "publicity")
    fifth.level = "good"
    sixth = _proposing_good(db, "FH-V06")  # 6 of 27 = 22.2 %
    assert not rules.within_cap(sixth, context(db))
    assert rules.cap_detail(sixth, context(db)) == "全部: good 5 of 27 (cap 20.00%)"
    (status,) = rules.quota_status(db, campaign)
    assert (status["scope"], status["unit_name"], status["decided"], status["total"]) == (
        "campaign",
        "兴隆县委",
        5,
        27,
    )
    assert status["headroom"] == 0
