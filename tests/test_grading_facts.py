"""A grading's facts, read with it in one statement as one immutable value
(service.gradings.facts): the answers are the same as reading them one by one, the value cannot
be changed after the load, and whoever is given none reads what was written since."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts.operations import principal_for_token
from service.campaigns.models import CampaignPhase
from service.context import Actor
from service.gradings import facts, records
from service.gradings.approvals import pending_for, request_approval
from service.gradings.models import Grading
from service.lifecycle import operations as ops
from service.lifecycle.workflow import GRADING_WORKFLOW
from service.organizations.models import Organization
from tests.conftest import Api
from tests.grading_helpers import put_in_state

SYSTEM = Actor.system("t")


def loaded_with_facts(db: Session, grading_id: int) -> tuple[Grading, facts.GradingFacts]:
    row = db.execute(select(Grading, *facts.FACTS).where(Grading.id == grading_id)).one()
    return row[0], facts.GradingFacts.read(grading_id, row[1:])


def view_without_facts(db: Session, api: Api, grading_id: int, who: str) -> dict[str, Any]:
    grading = db.get_one(Grading, grading_id)
    org = db.get_one(Organization, grading.organization_id)
    return ops.view(db, principal_for_token(db, api.world.tokens[who]), grading, org)


def test_a_grading_read_with_its_facts_answers_as_one_read_fact_by_fact(
    api: Api, db: Session
) -> None:
    survey = api.world.gradings["A1-01"]
    records.write(db, SYSTEM, db.get_one(Grading, survey.id), "survey_entry", {"households": 3})
    put_in_state(db, api.world.gradings["A1-02"], "publicity")
    db.commit()
    for key in ("A1-01", "A1-02"):
        gid = api.world.gradings[key].id
        answer = api.get(f"/api/v1/gradings/{gid}", who="reviewer").get_json()
        with Session(db.get_bind()) as fresh:
            expected = view_without_facts(fresh, api, gid, "reviewer")
        assert answer["transitions"] == expected["transitions"]
        assert (answer["deadline"], answer["days_left"], answer["overdue"]) == (
            expected["deadline"].isoformat() if expected["deadline"] else None,
            expected["days_left"],
            expected["overdue"],
        )


def test_the_facts_are_a_value_fixed_at_the_load(api: Api, db: Session) -> None:
    _, loaded = loaded_with_facts(db, api.world.gradings["A1-01"].id)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.pending_approval = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        loaded.due_dates["survey"] = date(2031, 1, 31)  # type: ignore[index]
    assert isinstance(loaded.record_types, frozenset)
    assert not any("facts" in str(key) or "gradings" in str(key) for key in db.info)


def test_a_guard_given_no_facts_reads_a_record_written_since(api: Api, db: Session) -> None:
    grading, loaded = loaded_with_facts(db, api.world.gradings["A1-01"].id)
    opening = GRADING_WORKFLOW.transition("open_self_rating")
    as_loaded = ops.guard_context(db, grading, facts=loaded)
    assert [r.code for r in GRADING_WORKFLOW.refusals(grading, opening, as_loaded)] == [
        "survey_recorded"
    ]
    records.write(db, SYSTEM, grading, "survey_entry", {"households": 1})
    assert GRADING_WORKFLOW.refusals(grading, opening, ops.guard_context(db, grading)) == []


def test_the_facts_of_another_grading_are_not_taken_for_this_ones(api: Api, db: Session) -> None:
    other, theirs = loaded_with_facts(db, api.world.gradings["A1-02"].id)
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    records.write(db, SYSTEM, grading, "survey_entry", {"households": 1})
    context = ops.guard_context(db, grading, facts=theirs)
    opening = GRADING_WORKFLOW.transition("open_self_rating")
    assert GRADING_WORKFLOW.refusals(grading, opening, context) == []  # read, not A1-02's
    assert "survey_entry" not in theirs.record_types and other.id != grading.id


def test_an_approval_requested_after_the_load_is_pending_to_whoever_holds_no_facts(
    api: Api, db: Session
) -> None:
    grading, loaded = loaded_with_facts(db, api.world.gradings["A1-01"].id)
    assert pending_for(db, grading.id, loaded) is None
    approval = request_approval(
        db, SYSTEM, grading, kind="transition", subject="x", payload=None, reason="r"
    )
    assert pending_for(db, grading.id) is approval


def test_a_deadline_read_without_facts_sees_a_phase_changed_since(api: Api, db: Session) -> None:
    grading, loaded = loaded_with_facts(db, api.world.gradings["A1-01"].id)
    phase = db.scalars(
        select(CampaignPhase).where(
            CampaignPhase.campaign_id == grading.campaign_id, CampaignPhase.phase == "survey"
        )
    ).one()
    as_loaded = ops.deadline(db, grading, loaded)
    phase.due_on = date(2031, 1, 31)
    db.flush()
    assert ops.deadline(db, grading) == date(2031, 1, 31) != as_loaded
