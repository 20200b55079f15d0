"""The rules a level decision must respect, checked in the domain without HTTP (the HTTP side:
tests/test_decisions.py). The world's open campaign has two gradings, A1-01 and A1-02; its
quota caps 好 at 20 %, and its veto rule `leader_violation` forces 较差."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.campaigns.models import Campaign, QuotaRule
from service.context import Actor
from service.decisions import rules
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.records import operations as records
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
