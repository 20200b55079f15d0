"""Through HTTP: a composite whose exact value and early-rounded value fall on different sides
of a level boundary gets the level of the exact value, rounded once; and every score leaves the
service with two decimals.

The world's campaign weighs superior 50, members 30, self 20. Self 91.16, superior 84.81 and
members 6 × 好 (100) + 1 × 较好 (85) = 685/7 = 97.857142…: exactly 89.994142… → 89.99 较好;
rounding the members' average to 97.86 first would give 89.995 → 90.00 好.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from tests.ballot_helpers import attend
from tests.conftest import Api, assert_problem
from tests.decision_helpers import propose, scored
from tests.grading_helpers import fire, put_in_state

# members' paper ballots: 6 × 好 (100) + 1 × 较好 (85) = 685/7 on average
SIX_GOOD_ONE_FAIRLY_GOOD = {
    "categories": [
        {
            "code": "members",
            "present": 7,
            "issued": 7,
            "returned": 7,
            "invalid": 0,
            "distribution": {"good": 6, "fairly_good": 1},
        }
    ]
}


def sheet(last: str) -> list[dict[str, str]]:
    """Full marks on six indicators (75 points), `last` on 群众评价 (of 25)."""
    full = [("leader", "15"), ("work_plan", "10"), ("rules", "10"), ("venue", "10")]
    full += [("resources", "10"), ("performance", "20")]
    return [{"indicator": c, "score": s} for c, s in full] + [
        {"indicator": "public_opinion", "score": last}
    ]


def rated_by_self(api: Api, db: Session) -> int:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    written = api.put(
        f"/api/v1/gradings/{grading.id}/self-rating",
        json={"scores": sheet("16.16"), "proposed_level": "good", "explanation": "自评"},
        who="secretary",
    )
    assert written.status_code == 200, written.get_json()
    assert fire(api, grading.id, "submit_self_rating").status_code == 200
    return grading.id


def assessed(api: Api, grading_id: int) -> dict[str, Any]:
    opinion = {"level": "fairly_good", "opinion": "依据测评结果", "met_on": "2026-04-06"}
    formed = api.put(f"/api/v1/gradings/{grading_id}/branch-opinion", json=opinion, who="secretary")
    assert formed.status_code == 200, formed.get_json()
    assert fire(api, grading_id, "close_evaluation").status_code == 200
    written = api.put(
        f"/api/v1/gradings/{grading_id}/assessment",
        json={"scores": sheet("9.81")},
        who="reviewer",
    )
    assert written.status_code == 200, written.get_json()
    score: dict[str, Any] = api.get(f"/api/v1/gradings/{grading_id}/score").get_json()
    return score


def test_a_paper_tally_average_is_not_rounded_before_the_composite(api: Api, db: Session) -> None:
    grading_id = rated_by_self(api, db)
    tally = api.post(
        f"/api/v1/gradings/{grading_id}/paper-tallies",
        json=SIX_GOOD_ONE_FAIRLY_GOOD,
        who="teller",
    )
    assert tally.status_code == 201, tally.get_json()
    score = assessed(api, grading_id)
    assert (score["total"], score["level"]["code"]) == ("89.99", "fairly_good")
    assert score["unrounded"] == "89.994142857143… (629959/7000)"


def test_electronic_ballots_are_not_rounded_before_the_composite(api: Api, db: Session) -> None:
    grading_id = rated_by_self(api, db)
    session = api.post(
        "/api/v1/ballot-sessions",
        json={
            "campaign_id": api.world.campaigns["open"].id,
            "title": "测评会",
            "grading_ids": [grading_id],
            "categories": [{"code": "members", "issued": 7}],
        },
        who="teller",
    ).get_json()
    codes = api.get(
        f"/api/v1/ballot-sessions/{session['id']}/codes?format=csv", who="teller"
    ).get_data(as_text=True)
    for n, line in enumerate(codes.lstrip("\ufeff").splitlines()[1:]):
        choice = "fairly_good" if n == 0 else "good"
        cast = api.post(
            "/api/v1/ballots",
            json={
                "code": line.split(",")[0],
                "answers": [{"grading_id": grading_id, "level": choice}],
            },
            who=None,
        )
        assert cast.status_code == 201
    url = f"/api/v1/ballot-sessions/{session['id']}"
    api.post(f"{url}/close", who="teller")
    attend(api, session["id"])
    assert api.post(f"{url}/count", who="teller").status_code == 200
    score = assessed(api, grading_id)
    assert (score["total"], score["level"]["code"]) == ("89.99", "fairly_good")


SCORE_KEYS = {
    "score",
    "points",
    "total",
    "indicators",
    "bonus",
    "deduction",
    "max_points",
    "value",
    "weighted",
    "composite",
    "earned",
    "weight",
}
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _walk(value: Any, key: str = "") -> list[str]:
    """Every score-like value (by its key) that is not spelled with two decimals."""
    if isinstance(value, dict):
        return [bad for k, v in value.items() for bad in _walk(v, str(k))]
    if isinstance(value, list):
        return [bad for v in value for bad in _walk(v, key)]
    if key in SCORE_KEYS and isinstance(value, str) and NUMBER.match(value):
        return [] if re.match(r"^-?\d+\.\d{2}$", value) else [f"{key}={value}"]
    if key in SCORE_KEYS and isinstance(value, int | float) and not isinstance(value, bool):
        return [f"{key}={value!r} (a number, not a string)"]
    return []


def test_every_score_in_responses_and_audit_payloads_has_two_decimals(
    api: Api, db: Session
) -> None:
    grading_id = rated_by_self(api, db)  # integer input: "15", "10", …
    api.post(
        f"/api/v1/gradings/{grading_id}/paper-tallies",
        json=SIX_GOOD_ONE_FAIRLY_GOOD,
        who="teller",
    )
    assessed(api, grading_id)
    responses = [
        api.get(f"/api/v1/gradings/{grading_id}/{path}").get_json()
        for path in ("self-rating", "assessment", "score", "tallies", "history")
    ]
    responses.append(api.get(f"/api/v1/standards/{api.world.standards['village'].id}").get_json())
    assert [bad for r in responses for bad in _walk(r)] == []
    payloads = [
        e
        for row in db.execute(select(AuditEvent.before, AuditEvent.after))
        for e in row
        if e is not None
    ]
    assert payloads and [bad for p in payloads for bad in _walk(p)] == []


def test_an_earlier_version_of_a_sheet_is_read_as_it_was_written(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    url = f"/api/v1/gradings/{grading.id}/self-rating"
    first = {"scores": sheet("16.16"), "proposed_level": "good", "explanation": "自评"}
    assert api.put(url, json=first, who="secretary").status_code == 200
    corrected = {**first, "scores": sheet("20.00"), "reason": "补充群众评价材料"}
    assert api.put(url, json=corrected, who="secretary").status_code == 200
    original = api.get(f"{url}?version=1").get_json()
    assert original["version"] == 1 and original["totals"]["total"] == "91.16"
    assert (original["created_by"], original["reason"]) == ("secretary", None)
    latest = api.get(url).get_json()
    assert (latest["version"], latest["totals"]["total"], latest["reason"]) == (
        2,
        "95.00",
        "补充群众评价材料",
    )
    assert [v["version"] for v in latest["versions"]] == [1, 2]
    assert_problem(api.get(f"{url}?version=3"), 404, "not-found")
    assert_problem(api.get(f"{url}?version=0"), 422, "validation-error")


def test_every_version_of_a_proposed_level_is_listed_and_readable(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-01", superior="85", members="85", own="85")
    assert propose(api, grading_id, "fairly_good").status_code == 200
    assert propose(api, grading_id, "good", reason="全年工作突出").status_code == 200
    url = f"/api/v1/gradings/{grading_id}/decision"
    latest = api.get(url).get_json()
    assert [(v["version"], v["reason"]) for v in latest["versions"]] == [
        (1, None),
        (2, "全年工作突出"),
    ]
    assert api.get(f"{url}?version=1").get_json()["level"] == "fairly_good"
    assert latest["level"] == "good"


def test_every_version_of_any_stage_record_is_readable(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "survey")
    url = f"/api/v1/gradings/{grading.id}/survey-entries"
    assert (
        api.post(url, json={"method": "meeting", "date": "2026-03-01"}, who="reviewer").status_code
        == 201
    )
    corrected = {"method": "household_visit", "date": "2026-03-02", "reason": "记录有误"}
    assert api.put(f"{url}/E1", json=corrected, who="reviewer").status_code == 200
    versions = api.get(f"/api/v1/gradings/{grading.id}/records/survey_entry/E1/versions")
    items = versions.get_json()["items"]
    assert [(i["version"], i["data"]["method"], i["reason"]) for i in items] == [
        (1, "meeting", None),
        (2, "household_visit", "记录有误"),
    ]
    base = f"/api/v1/gradings/{grading.id}/records"
    assert_problem(api.get(f"{base}/survey_entry/E9/versions"), 404, "not-found")
    assert_problem(api.get(f"{base}/no_such_type/E1/versions"), 404, "not-found")
