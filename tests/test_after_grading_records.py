"""Records the seed documents ask for once a level stands (issue 36): 定级后召开组织生活会; 回头看的
自查报告 — before and during 整改; 对较差党组织调整班子、移送纪检司法机关、派驻工作组、选派第一书记;
总结宣传先进党组织的典型经验."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.gradings.models import Grading
from tests.conftest import Api, assert_problem
from tests.grading_helpers import walk


def at(db: Session, api: Api, state: str, level: str) -> int:
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    walk(grading, state)
    grading.level = level
    db.commit()
    return grading.id


def path(grading: int, tail: str) -> str:
    return f"/api/v1/gradings/{grading}/{tail}"


MEETING = {
    "held_on": "2026-12-05",
    "chaired_by": "王建国",
    "attendees": ["王建国", "李秀英", "张志强"],
    "problems_found": ["三会一课记录不全"],
    "lessons": "定级结果反映出组织生活不规范，今后每月固定主题党日",
}


def test_the_branch_holds_its_organization_life_meeting_on_its_level(api: Api, db: Session) -> None:
    grading = at(db, api, "rated", "average")
    written = api.put(path(grading, "life-meeting"), json=MEETING, who="secretary")
    assert written.status_code == 200, written.get_json()
    read = api.get(path(grading, "life-meeting"), who="inspector").get_json()
    assert read["data"]["lessons"].startswith("定级结果") and read["version"] == 1
    corrected = api.put(path(grading, "life-meeting"), json=MEETING, who="secretary")
    assert_problem(corrected, 422, "validation-error")  # a correction says why
    again = api.put(
        path(grading, "life-meeting"), json={**MEETING, "reason": "补记参会人"}, who="secretary"
    )
    assert again.status_code == 200 and again.get_json()["version"] == 2


def test_no_organization_life_meeting_is_recorded_before_the_level_stands(
    api: Api, db: Session
) -> None:
    grading = at(db, api, "publicity", "average")
    body = assert_problem(
        api.put(
            path(grading, "life-meeting"),
            json=MEETING,
            who="secretary",
            headers={"Accept-Language": "zh-CN"},
        ),
        409,
        "stage-not-open",
    )
    assert body["detail"].startswith("组织生活会须在评定处于") and "公示" in body["detail"]


def test_the_self_check_report_comes_before_and_during_rectification(api: Api, db: Session) -> None:
    grading = at(db, api, "rectification", "poor")
    report = {
        "written_on": "2026-12-06",
        "report": "对照七项标准逐项自查",
        "findings": ["制度执行不严"],
    }
    assert (
        api.put(path(grading, "self-check-report"), json=report, who="secretary").status_code == 200
    )
    kept = api.get(path(grading, "self-check-report"), who="inspector").get_json()
    assert kept["data"]["findings"] == ["制度执行不严"]
    closed = at(db, api, "closed", "good")
    assert_problem(
        api.put(path(closed, "self-check-report"), json=report, who="secretary"),
        409,
        "stage-not-open",
    )


def test_the_self_check_grades_the_organization_again_against_the_standards(
    api: Api, db: Session
) -> None:
    """各基层党组织要组织自查……并对照分类定级的标准重新定级."""
    grading = at(db, api, "rectification", "poor")
    report = {
        "written_on": "2026-12-06",
        "report": "对照七项标准逐项自查，领导班子和服务群众两方面仍有差距",
        "findings": ["承诺事项未全部兑现"],
        "regraded_level": "average",
    }
    written = api.put(path(grading, "self-check-report"), json=report, who="secretary")
    assert written.status_code == 200, written.get_json()
    kept = api.get(path(grading, "self-check-report"), who="inspector").get_json()
    assert kept["data"]["regraded_level"] == "average"
    assert db.get_one(Grading, grading).level == "poor"  # the superior's 复查 decides
    wrong = api.put(
        path(grading, "self-check-report"),
        json={**report, "regraded_level": "excellent", "reason": "改正"},
        who="secretary",
    )
    assert "regraded_level" in assert_problem(wrong, 422, "validation-error")["errors"]


def test_measures_for_a_weak_organization_are_the_superiors_and_only_for_the_lowest_level(
    api: Api, db: Session
) -> None:
    grading = at(db, api, "rated", "poor")
    measures = {
        "measures": [
            {"kind": "adjust_leadership", "taken_on": "2026-12-03", "description": "调整支部书记"},
            {
                "kind": "first_secretary",
                "taken_on": "2026-12-04",
                "description": "选派第一书记赵强",
            },
        ]
    }
    assert_problem(
        api.put(path(grading, "weak-measures"), json=measures, who="secretary"), 403, "forbidden"
    )
    done = api.put(path(grading, "weak-measures"), json=measures, who="reviewer")
    assert done.status_code == 200
    assert [m["kind"] for m in done.get_json()["data"]["measures"]] == [
        "adjust_leadership",
        "first_secretary",
    ]
    kept = api.get(path(grading, "weak-measures"), who="inspector").get_json()
    assert kept["created_by"] == "reviewer"
    fine = at(db, api, "rated", "good")
    refused = assert_problem(
        api.put(path(fine, "weak-measures"), json=measures, who="reviewer"),
        422,
        "validation-error",
    )
    assert refused["errors"] == {"measures": ["only for the lowest level"]}
    assert_problem(
        api.put(
            path(grading, "weak-measures"),
            json={"measures": [{"kind": "praise", "taken_on": "2026-12-03", "description": "x"}]},
            who="reviewer",
        ),
        422,
        "validation-error",
    )


def test_an_exemplary_organizations_experience_is_kept_to_publicize(api: Api, db: Session) -> None:
    grading = at(db, api, "rated", "good")
    experience = {
        "experience": "“党员联系户”制度：每名党员联系5户群众",
        "publicized_on": "2026-12-06",
        "channels": "县委组织部简报第12期",
    }
    done = api.put(path(grading, "exemplary"), json=experience, who="reviewer")
    assert done.status_code == 200 and done.get_json()["data"]["channels"].startswith("县委")
    kept = api.get(path(grading, "exemplary"), who="inspector").get_json()
    assert kept["data"]["experience"].startswith("“党员联系户”")
    weak = at(db, api, "rated", "poor")
    assert_problem(
        api.put(path(weak, "exemplary"), json=experience, who="reviewer"),
        422,
        "validation-error",
    )
    history = api.get(f"/api/v1/gradings/{grading}/history", who="inspector").get_json()
    assert any("exemplary" in str(event) for event in history["items"])


def test_one_organization_one_strategy_task_by_task(api: Api, db: Session) -> None:
    """一组织一策: 围绕“抓书记、强班子…”等任务，分类指导."""
    grading = at(db, api, "rectification", "poor")
    strategy = {
        "tasks": [
            {
                "task": "抓书记、强班子",
                "goal": "配强支部书记",
                "measures": ["选派第一书记", "每季度培训一次"],
                "term": "near",
            },
            {"task": "抓保障、增投入", "goal": "活动经费列入预算", "measures": ["申请专项经费"]},
        ]
    }
    assert_problem(
        api.put(path(grading, "strategy"), json=strategy, who="secretary"), 403, "forbidden"
    )
    done = api.put(path(grading, "strategy"), json=strategy, who="reviewer")
    assert done.status_code == 200, done.get_json()
    kept = api.get(path(grading, "strategy"), who="inspector").get_json()
    assert [t["task"] for t in kept["data"]["tasks"]] == ["抓书记、强班子", "抓保障、增投入"]
    wrong = {"tasks": [{"task": "发财致富", "goal": "g", "measures": ["m"]}]}
    refused = assert_problem(
        api.put(path(grading, "strategy"), json={**wrong, "reason": "r"}, who="reviewer"),
        422,
        "validation-error",
    )
    assert list(refused["errors"]) == ["tasks"]
    rated = at(db, api, "rated", "poor")
    assert_problem(
        api.put(path(rated, "strategy"), json=strategy, who="reviewer"), 409, "stage-not-open"
    )


def re_review(db: Session, api: Api, key: str, level: str = "good") -> int:
    grading = db.get_one(Grading, api.world.gradings[key].id)
    walk(grading, "re_review")
    grading.level = level
    db.commit()
    return grading.id


def sheet(*rows: dict[str, Any]) -> dict[str, Any]:
    return {
        "work_group": {"name": "县委组织部复查组", "leader": "王强", "members": ["李明"]},
        "checked_on": "2026-06-10",
        "results": list(rows),
    }


def test_a_work_group_re_checks_many_organizations_and_a_level_to_adjust_goes_to_a_supervisor(
    api: Api, db: Session
) -> None:
    """各地各单位要成立工作组，对基层党组织分类定级工作进行一次全面复查 … 对有上述情形的 …
    一律调整为“较差”等次."""
    kept, weak = re_review(db, api, "A1-01"), re_review(db, api, "A1-02")
    campaign = api.world.campaigns["open"].id
    answer = api.post(
        f"/api/v1/campaigns/{campaign}/re-checks",
        json=sheet(
            {"grading_id": kept, "outcome": "confirmed", "findings": ["台账齐全"]},
            {
                "grading_id": weak,
                "outcome": "adjust",
                "proposed_level": "poor",
                "three_strikes_issue": True,
                "findings": ["村干部充当“保护伞”"],
            },
        ),
        who="reviewer",
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["checked"], body["adjusted"]) == (2, 1)
    by_id = {r["grading_id"]: r for r in body["results"]}
    assert by_id[kept]["approval_id"] is None and by_id[weak]["approval_id"] is not None
    versions = api.get(path(weak, "records/re_check/main/versions"), who="inspector").get_json()
    written = versions["items"][-1]["data"]
    assert written["proposed_level"] == "poor" and written["three_strikes_issue"] is True
    assert written["work_group"]["name"] == "县委组织部复查组"
    approval = api.get(f"/api/v1/approvals/{by_id[weak]['approval_id']}").get_json()
    assert approval["subject"] == "reopen_review" and "保护伞" in approval["reason"]
    approved = api.post(f"/api/v1/approvals/{approval['id']}/approve", json={}, who="supervisor")
    assert approved.status_code == 200
    assert api.get(f"/api/v1/gradings/{weak}").get_json()["state"] == "superior_review"
    assert api.get(f"/api/v1/gradings/{kept}").get_json()["state"] == "re_review"


def test_a_re_check_sheet_with_one_row_that_cannot_be_written_writes_nothing(
    api: Api, db: Session
) -> None:
    ready = re_review(db, api, "A1-01")
    early = api.world.gradings["A1-02"].id  # still in its survey
    campaign = api.world.campaigns["open"].id
    url = f"/api/v1/campaigns/{campaign}/re-checks"
    refused = assert_problem(
        api.post(
            url,
            json=sheet(
                {"grading_id": ready, "outcome": "confirmed"},
                {"grading_id": early, "outcome": "confirmed"},
            ),
            who="reviewer",
        ),
        409,
        "stage-not-open",
    )
    assert "results[1]" in refused["detail"]
    assert_problem(api.get(path(ready, "records/re_check/main/versions")), 404, "not-found")
    no_level = assert_problem(
        api.post(url, json=sheet({"grading_id": ready, "outcome": "adjust"}), who="reviewer"),
        422,
        "validation-error",
    )
    assert no_level["errors"] == {"results.0.proposed_level": ["required to adjust the level"]}
    twice = assert_problem(
        api.post(
            url,
            json=sheet(
                {"grading_id": ready, "outcome": "confirmed"},
                {"grading_id": ready, "outcome": "confirmed"},
            ),
            who="reviewer",
        ),
        422,
        "validation-error",
    )
    assert list(twice["errors"]) == ["results"]
    bad_id = assert_problem(  # the fuzz's find: a row whose id is not one (was a 500)
        api.post(
            url,
            json=sheet(
                {"grading_id": 1.5, "outcome": "confirmed"},
                {"grading_id": ready, "outcome": "confirmed"},
            ),
            who="reviewer",
        ),
        422,
        "validation-error",
    )
    assert "grading_id" in str(bad_id["errors"])
    assert_problem(
        api.post(url, json=sheet({"grading_id": ready, "outcome": "confirmed"}), who="secretary"),
        403,
        "forbidden",
    )
