"""A grading's facts, read with it in one statement and remembered for the session
(service.gradings.facts): the answers are the same as reading them one by one, and a fact
written later in the same session is not hidden by the memo."""

from __future__ import annotations

from datetime import date
from typing import Any

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


def loaded_with_facts(db: Session, grading_id: int) -> Grading:
    row = db.execute(select(Grading, *facts.FACTS).where(Grading.id == grading_id)).one()
    facts.remember(db, row[0], row[1:])
    return row[0]


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


def test_a_record_written_after_the_facts_were_read_satisfies_the_guard(
    api: Api, db: Session
) -> None:
    grading = loaded_with_facts(db, api.world.gradings["A1-01"].id)
    context = ops.guard_context(db, grading)
    refusals = GRADING_WORKFLOW.refusals(
        grading, GRADING_WORKFLOW.transition("open_self_rating"), context
    )
    assert [r.code for r in refusals] == ["survey_recorded"]
    records.write(db, SYSTEM, grading, "survey_entry", {"households": 1})
    assert (
        GRADING_WORKFLOW.refusals(grading, GRADING_WORKFLOW.transition("open_self_rating"), context)
        == []
    )


def test_an_approval_requested_after_the_facts_were_read_is_pending(api: Api, db: Session) -> None:
    grading = loaded_with_facts(db, api.world.gradings["A1-01"].id)
    assert pending_for(db, grading.id) is None
    approval = request_approval(
        db, SYSTEM, grading, kind="transition", subject="x", payload=None, reason="r"
    )
    assert pending_for(db, grading.id) is approval


def test_changing_a_campaigns_phases_forgets_its_due_dates(api: Api, db: Session) -> None:
    grading = loaded_with_facts(db, api.world.gradings["A1-01"].id)
    assert facts.known(db, facts.DUE_DATES, grading.campaign_id) is not None
    phase = db.scalars(
        select(CampaignPhase).where(
            CampaignPhase.campaign_id == grading.campaign_id, CampaignPhase.phase == "survey"
        )
    ).one()
    phase.due_on = date(2031, 1, 31)
    db.flush()
    assert facts.known(db, facts.DUE_DATES, grading.campaign_id) is None
    assert ops.deadline(db, grading) == date(2031, 1, 31)


def test_a_record_written_in_a_savepoint_that_rolled_back_does_not_count(
    api: Api, db: Session
) -> None:
    grading = loaded_with_facts(db, api.world.gradings["A1-01"].id)
    savepoint = db.begin_nested()
    records.write(db, SYSTEM, grading, "survey_entry", {"households": 1})
    savepoint.rollback()
    refusals = GRADING_WORKFLOW.refusals(
        grading, GRADING_WORKFLOW.transition("open_self_rating"), ops.guard_context(db, grading)
    )
    assert [r.code for r in refusals] == ["survey_recorded"]
