"""Survey ledger, self-rating, superior assessment and the composite score, through HTTP."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.context import Actor
from service.gradings import records
from tests.conftest import Api, assert_problem
from tests.evaluation_helpers import entry, sheet, url
from tests.grading_helpers import ballot_tally, put_in_state


def test_the_survey_ledger_keeps_entries_and_items(api: Api) -> None:
    created = api.post(url(api, "survey-entries"), json=entry(), who="reviewer")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["key"] == "E1" and body["method_label"] == "问卷调查"
    assert [p["id"] for p in body["problems"]] == ["E1-P1", "E1-P2"]
    api.post(
        url(api, "survey-entries"),
        json=entry(method="household_visit", problems=[]),
        who="reviewer",
    )
    ledger = api.get(url(api, "survey-entries"), who="secretary").get_json()
    assert [e["key"] for e in ledger["items"]] == ["E1", "E2"]
    view = api.get(f"/api/v1/gradings/{api.world.gradings['A1-01'].id}", who="reviewer").get_json()
    assert next(t for t in view["transitions"] if t["name"] == "open_self_rating")["allowed"]


def test_a_survey_entry_is_checked(api: Api) -> None:
    problem = assert_problem(
        api.post(
            url(api, "survey-entries"),
            who="reviewer",
            json=entry(
                method="telepathy",
                counts={"questionnaires_issued": 5, "questionnaires_returned": 9},
            ),
        ),
        422,
        "validation-error",
    )
    assert set(problem["errors"]) == {"method", "counts"}
    assert_problem(
        api.post(url(api, "survey-entries"), json=entry(), who="secretary"), 403, "forbidden"
    )


def test_no_new_survey_entry_after_the_survey(api: Api, db: Session) -> None:
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    problem = assert_problem(
        api.post(url(api, "survey-entries"), json=entry(), who="reviewer"), 409, "stage-not-open"
    )
    assert problem["state"] == "self_rating"


def test_a_survey_correction_is_a_version_and_later_needs_approval(api: Api, db: Session) -> None:
    api.post(url(api, "survey-entries"), json=entry(), who="reviewer")
    problem = assert_problem(
        api.put(url(api, "survey-entries/E1"), json=entry(), who="reviewer"),
        422,
        "validation-error",
    )
    assert problem["errors"] == {"reason": ["Missing data for required field."]}
    fixed = api.put(
        url(api, "survey-entries/E1"),
        json={**entry(problems=["记录不全"]), "reason": "合并重复问题"},
        who="reviewer",
    )
    assert fixed.status_code == 200 and fixed.get_json()["version"] == 2
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    waiting = api.put(
        url(api, "survey-entries/E1"), json={**entry(), "reason": "补录"}, who="reviewer"
    )
    assert waiting.status_code == 202 and waiting.get_json()["kind"] == "correction"
    assert_problem(
        api.put(url(api, "survey-entries/E9"), json={**entry(), "reason": "x"}, who="reviewer"),
        404,
        "not-found",
    )


def test_the_secretary_enters_the_self_rating_with_its_totals(api: Api, db: Session) -> None:
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    response = api.put(url(api, "self-rating"), json=sheet(), who="secretary")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["totals"] == {
        "indicators": "93.00",
        "bonus": "2.00",
        "deduction": "0.00",
        "total": "95.00",
    }
    assert body["version"] == 1 and body["proposed_level"] == "fairly_good"
    assert (
        api.get(url(api, "self-rating"), who="inspector").get_json()["versions"][0]["created_by"]
        == "secretary"
    )


def test_a_self_rating_above_a_maximum_or_incomplete_is_refused_by_field(
    api: Api, db: Session
) -> None:
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    bad = sheet()
    bad["scores"][0]["score"] = "15.5"
    bad["scores"] = bad["scores"][:-1]
    bad["adjustments"] = [{"code": "honours", "points": "6"}]
    bad["proposed_level"] = "excellent"
    problem = assert_problem(
        api.put(url(api, "self-rating"), json=bad, who="secretary"), 422, "validation-error"
    )
    assert set(problem["errors"]) == {
        "scores.0.score",
        "scores",
        "adjustments.0.points",
        "adjustments",
    }


def test_a_level_outside_the_scheme_is_refused(api: Api, db: Session) -> None:
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    problem = assert_problem(
        api.put(url(api, "self-rating"), json=sheet(proposed_level="star5"), who="secretary"),
        422,
        "validation-error",
    )
    assert list(problem["errors"]) == ["proposed_level"]


def test_each_later_version_needs_a_reason_and_after_submission_an_approval(
    api: Api, db: Session
) -> None:
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    assert api.put(url(api, "self-rating"), json=sheet(), who="secretary").status_code == 200
    problem = assert_problem(
        api.put(url(api, "self-rating"), json=sheet(), who="secretary"), 422, "validation-error"
    )
    assert problem["errors"] == {"reason": ["required for a correction"]}
    again = api.put(url(api, "self-rating"), json=sheet(reason="补充材料"), who="secretary")
    assert again.get_json()["version"] == 2
    put_in_state(db, api.world.gradings["A1-01"], "evaluation")
    waiting = api.put(url(api, "self-rating"), json=sheet(reason="提交后发现错误"), who="secretary")
    assert waiting.status_code == 202
    assert api.get(url(api, "self-rating")).get_json()["version"] == 2


def test_the_self_rating_waits_for_its_stage_and_belongs_to_the_secretary(
    api: Api, db: Session
) -> None:
    assert_problem(
        api.put(url(api, "self-rating"), json=sheet(), who="secretary"), 409, "stage-not-open"
    )
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    assert_problem(api.put(url(api, "self-rating"), json=sheet(), who="reviewer"), 403, "forbidden")
    assert_problem(api.get(url(api, "assessment")), 404, "not-found")


def test_the_score_is_shown_step_by_step(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"]
    put_in_state(db, grading, "self_rating")
    api.put(url(api, "self-rating"), json=sheet(), who="secretary")  # 95
    put_in_state(db, grading, "superior_review")
    assessed = sheet(adjustments=[])
    del assessed["proposed_level"], assessed["explanation"]
    assessed["scores"][6]["score"] = "16"  # 93 - 24 + 16 = 85
    assert api.put(url(api, "assessment"), json=assessed, who="reviewer").status_code == 200
    open_score = api.get(url(api, "score")).get_json()
    assert open_score["missing"] == ["members"] and open_score["total"] is None
    records.write(
        db,
        Actor.system("t"),
        db.get_one(type(grading), grading.id),
        "ballot_tally",
        ballot_tally("85.00", 20),
        key="S1",
    )
    db.commit()
    score = api.get(url(api, "score"), who="secretary").get_json()
    # world weights: superior 50, members 30, self 20
    assert [(s["source"], s["value"], s["weighted"]) for s in score["steps"]] == [
        ("superior", "85.00", "42.50"),
        ("members", "85.00", "25.50"),
        ("self", "95.00", "19.00"),
    ]
    assert (score["unrounded"], score["total"]) == ("87", "87.00")  # exact, then rounded once
    assert score["level"] == {"code": "fairly_good", "label": "较好"}
    assert score["rounding"].startswith("ROUND_HALF_UP")
