"""Problems and tasks classified (issue 36): the seeds count what the survey found by category
(作风建设类、党建工作类…), ask five things of every organization (设置是否合理、领导班子是否健全、
组织制度是否完善、经费保障是否落实、作用发挥是否充分), and have rectification serve the tasks
(抓书记、强班子…) with 近期目标 and 中长期安排."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.campaigns.models import Campaign
from tests.conftest import Api, assert_problem
from tests.rectification_helpers import item, rectifying, url


def survey(api: Api, grading: int, **extra: object) -> object:
    body = {
        "method": "meeting",
        "date": "2026-03-01",
        "problems": ["部分党员结构不合理", "制度不健全"],
        **extra,
    }
    return api.post(f"/api/v1/gradings/{grading}/survey-entries", json=body, who="reviewer")


def test_what_the_survey_finds_is_classified_and_the_five_areas_answered(api: Api) -> None:
    grading = api.world.gradings["A1-01"].id
    sent = survey(
        api,
        grading,
        problem_categories=["党建工作类", "作风建设类"],
        areas={
            "setup": {"finding": "yes"},
            "leadership": {"finding": "partly", "note": "组织委员空缺"},
            "funding": {"finding": "no", "note": "活动经费未列入预算"},
        },
    )
    assert sent.status_code == 201, sent.get_json()  # type: ignore[attr-defined]
    ledger = api.get(f"/api/v1/gradings/{grading}/survey-entries", who="inspector").get_json()
    [entry] = ledger["items"]
    assert [(p["text"], p["category"]) for p in entry["problems"]] == [
        ("部分党员结构不合理", "党建工作类"),
        ("制度不健全", "作风建设类"),
    ]
    assert entry["areas"]["leadership"] == {"finding": "partly", "note": "组织委员空缺"}


def test_a_category_not_of_the_campaign_or_one_too_few_is_refused(api: Api) -> None:
    grading = api.world.gradings["A1-01"].id
    wrong = assert_problem(
        survey(api, grading, problem_categories=["党建工作类", "天气类"]), 422, "validation-error"
    )
    assert list(wrong["errors"]) == ["problem_categories"]
    short = assert_problem(
        survey(api, grading, problem_categories=["党建工作类"]), 422, "validation-error"
    )
    assert short["errors"] == {"problem_categories": ["one category per problem, in order"]}
    area = assert_problem(
        survey(api, grading, areas={"weather": {"finding": "yes"}}), 422, "validation-error"
    )
    assert "areas" in area["errors"]


def test_rectification_items_carry_category_task_term_and_urgency(api: Api, db: Session) -> None:
    grading = rectifying(db, api.world.gradings["A1-01"])
    added = api.post(
        url(grading, "/items"),
        json=item(category="党建工作类", task="抓书记、强班子", term="long", priority="urgent"),
        who="secretary",
    )
    assert added.status_code == 201, added.get_json()
    shown = added.get_json()
    assert (shown["category"], shown["task"], shown["term"], shown["priority"]) == (
        "党建工作类",
        "抓书记、强班子",
        "long",
        "urgent",
    )
    refused = assert_problem(
        api.post(url(grading, "/items"), json=item(task="发财致富"), who="secretary"),
        422,
        "validation-error",
    )
    assert list(refused["errors"]) == ["task"]
    assert_problem(
        api.post(url(grading, "/items"), json=item(term="someday"), who="secretary"),
        422,
        "validation-error",
    )


def test_a_campaign_names_its_own_categories(api: Api, db: Session) -> None:
    campaign = db.get_one(Campaign, api.world.campaigns["open"].id)
    campaign.decision_config = {
        **(campaign.decision_config or {}),
        "problem_categories": ["组织类"],
    }
    db.commit()
    grading = api.world.gradings["A1-01"].id
    ok = survey(api, grading, problems=["班子不团结"], problem_categories=["组织类"])
    assert ok.status_code == 201  # type: ignore[attr-defined]
    assert_problem(
        survey(api, grading, problems=["x"], problem_categories=["作风建设类"]),
        422,
        "validation-error",
    )


def test_the_county_counts_problems_and_items_by_category_task_and_term(
    api: Api, db: Session
) -> None:
    grading = api.world.gradings["A1-01"].id
    survey(api, grading, problem_categories=["党建工作类", "作风建设类"])
    survey(api, grading, problems=["未分类的问题"])
    rectifying(db, api.world.gradings["A1-01"])
    api.post(
        url(grading, "/items"),
        json=item(category="党建工作类", task="抓书记、强班子", term="near"),
        who="secretary",
    )
    campaign = api.world.campaigns["open"].id
    report = api.get(f"/api/v1/campaigns/{campaign}/reports/problems", who="inspector").get_json()
    counts = {row["category"]: row for row in report["categories"]}
    assert counts["党建工作类"] == {
        "category": "党建工作类",
        "survey_problems": 1,
        "rectification_items": 1,
        "closed": 0,
    }
    assert counts["作风建设类"]["survey_problems"] == 1
    assert counts["未分类"]["survey_problems"] == 1
    assert {"task": "抓书记、强班子", "rectification_items": 1} in report["tasks"]
    assert report["terms"] == [{"term": "近期", "rectification_items": 1}]
    printed = api.get(
        f"/api/v1/campaigns/{campaign}/reports/problems?format=csv", who="inspector"
    ).get_data(as_text=True)
    assert printed.lstrip("\ufeff").startswith(
        "问题类别,调查摸底发现问题(个),整改项目(个),已销号(个)"
    )
    assert_problem(
        api.get(f"/api/v1/campaigns/{campaign}/reports/problems", who="reviewer_b"),
        404,
        "not-found",
    )
