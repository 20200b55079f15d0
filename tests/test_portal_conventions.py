"""What a portal developer expects of HTTP: a retried PUT answered once, If-Match required when
the service says so (428), If-None-Match answered 304, and CORS for configured origins only."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from service.app import create_app
from service.config import Settings
from service.context import Actor
from service.errors import CATALOGUE, CATALOGUE_ZH
from service.gradings.approvals import request_approval
from service.gradings.models import Grading
from tests.conftest import Api, assert_problem
from tests.evaluation_helpers import sheet, url
from tests.grading_helpers import put_in_state
from tests.statement_count import statements


def test_a_retried_put_with_the_same_idempotency_key_gets_the_first_answer(
    api: Api, db: Session
) -> None:
    put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    headers = {"Idempotency-Key": "portal-retry-7f3a"}
    first = api.put(url(api, "self-rating"), json=sheet(), who="secretary", headers=headers)
    assert first.status_code == 200, first.get_json()
    again = api.put(url(api, "self-rating"), json=sheet(), who="secretary", headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    versions = api.get(url(api, "self-rating"), who="inspector").get_json()["versions"]
    assert len(versions) == 1  # not a correction "without a reason" (422): the same write
    other = api.put(
        url(api, "self-rating"), json=sheet(explanation="改"), who="secretary", headers=headers
    )
    assert_problem(other, 422, "idempotency-key-reused")


@pytest.fixture
def strict(app: Flask) -> Iterator[None]:
    settings = app.extensions["grading.settings"]
    app.extensions["grading.settings"] = dataclasses.replace(settings, require_if_match=True)
    yield
    app.extensions["grading.settings"] = settings


def test_a_write_without_if_match_is_428_when_the_service_requires_it(
    api: Api, db: Session, strict: None
) -> None:
    grading = api.world.gradings["A1-01"]
    path = f"/api/v1/gradings/{grading.id}/transitions"
    body = {"transition": "open_self_rating"}
    refused = api.post(path, json=body, who="reviewer")
    assert_problem(refused, 428, "precondition-required")
    version = api.get(f"/api/v1/gradings/{grading.id}", who="reviewer").headers["ETag"]
    tried = api.post(path, json=body, who="reviewer", headers={"If-Match": version})
    assert tried.status_code != 428  # the guards speak now (no survey yet: 409)
    assert_problem(tried, 409, "transition-blocked")


def test_a_get_with_the_current_etag_is_304(api: Api) -> None:
    path = f"/api/v1/gradings/{api.world.gradings['A1-01'].id}"
    first = api.get(path, who="reviewer")
    tag = first.headers["ETag"]
    unchanged = api.get(path, who="reviewer", headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    stale = api.get(path, who="reviewer", headers={"If-None-Match": '"999"'})
    assert stale.status_code == 200 and stale.headers["ETag"] == tag


def test_cors_answers_configured_origins_only() -> None:
    empty = f"sqlite:///{tempfile.mkdtemp(prefix='grading-cors-')}/cors.db"
    app = create_app(
        Settings.from_env(database_url=empty, cors_origins=("https://dangjian.example.gov.cn",))
    )
    client = app.test_client()
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
    }
    allowed = client.options(
        "/api/v1/campaigns",
        headers={"Origin": "https://dangjian.example.gov.cn", **preflight},
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dangjian.example.gov.cn"
    assert "idempotency-key" in allowed.headers["Access-Control-Allow-Headers"].lower()
    foreign = client.options(
        "/api/v1/campaigns", headers={"Origin": "https://elsewhere.example", **preflight}
    )
    assert "Access-Control-Allow-Origin" not in foreign.headers
    off = create_app(Settings.from_env(database_url=empty)).test_client()
    none = off.options(
        "/api/v1/campaigns", headers={"Origin": "https://dangjian.example.gov.cn", **preflight}
    )
    assert "Access-Control-Allow-Origin" not in none.headers  # off unless configured


def _all_pages(api: Api, path: str, key: str, who: str = "admin", limit: int = 1) -> list[Any]:
    seen: list[Any] = []
    cursor: str | None = None
    join = "&" if "?" in path else "?"
    for _ in range(100):
        query = f"{join}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path + query, who=who)
        assert page.status_code == 200, page.get_json()
        seen += [item[key] for item in page.get_json()["items"]]
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


def test_list_items_carry_the_names_a_portal_shows(api: Api, db: Session) -> None:
    campaign = api.world.campaigns["open"].id
    gradings = api.get(f"/api/v1/campaigns/{campaign}/gradings", who="inspector").get_json()
    first = next(g for g in gradings["items"] if g["organization_code"] == "A1-01")
    assert (first["organization_name"], first["state_label"]) == ("东村党支部", "调查摸底")
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    request_approval(
        db,
        Actor.system("t"),
        grading,
        kind="transition",
        subject="decide",
        payload={"version": grading.version},
        reason="r",
    )
    db.commit()
    [approval] = api.get("/api/v1/approvals?state=pending", who="supervisor").get_json()["items"]
    assert approval["organization_name"] == "东村党支部"
    assert approval["organization_id"] == api.world.org("A1-01").id
    assert approval["subject_label"] == "作出定级决定并公示"


@pytest.mark.parametrize("sort", ["name", "-name", "code", "-code"])
def test_organizations_come_sorted_page_by_page(api: Api, sort: str) -> None:
    whole = api.get("/api/v1/organizations?limit=500").get_json()["items"]
    key = sort.lstrip("-")
    expected = [o["id"] for o in sorted(whole, key=lambda o: (o[key], o["id"]))]
    if sort.startswith("-"):  # descending by the column, ties still by id
        expected = [o["id"] for o in sorted(whole, key=lambda o: (o[key], -o["id"]), reverse=True)]
    assert _all_pages(api, f"/api/v1/organizations?sort={sort}", "id", limit=2) == expected


def test_approvals_sort_by_when_they_were_asked(api: Api, db: Session) -> None:
    for key in ("A1-01", "A1-02"):
        grading = db.get_one(Grading, api.world.gradings[key].id)
        request_approval(
            db,
            Actor.system("t"),
            grading,
            kind="transition",
            subject="decide",
            payload={"version": grading.version},
            reason="r",
        )
        db.commit()
    newest_first = _all_pages(api, "/api/v1/approvals?sort=-requested_at", "id", "supervisor")
    assert newest_first == sorted(newest_first, reverse=True) and len(newest_first) == 2


def test_a_list_counts_its_items_when_asked(api: Api) -> None:
    campaign = api.world.campaigns["open"].id
    path = f"/api/v1/campaigns/{campaign}/gradings"
    counted = api.get(f"{path}?limit=1&total=true", who="inspector").get_json()
    assert counted["total"] == len(_all_pages(api, path, "id", "inspector"))
    assert api.get(f"{path}?limit=1", who="inspector").get_json()["total"] is None


def test_a_sort_it_does_not_know_or_a_cursor_of_another_sort_is_a_422(api: Api) -> None:
    assert_problem(api.get("/api/v1/organizations?sort=path"), 422, "validation-error")
    page = api.get("/api/v1/organizations?sort=name&limit=1").get_json()
    mixed = api.get(f"/api/v1/organizations?sort=code&cursor={page['next_cursor']}")
    assert assert_problem(mixed, 422, "validation-error")["errors"] == {
        "cursor": ["invalid cursor"]
    }


def test_the_names_on_a_list_cost_no_statement_per_item(
    api: Api, db: Session, connection: Connection
) -> None:
    path = f"/api/v1/campaigns/{api.world.campaigns['open'].id}/gradings"
    api.get("/api/v1/me", who="inspector")  # the token's last use is written once a minute
    counts = []
    for limit in (1, 500):
        with statements(connection) as seen:
            listed = api.get(f"{path}?limit={limit}", who="inspector")
        assert listed.status_code == 200
        counts.append((len(listed.get_json()["items"]), len(seen)))
    (few, one_page), (many, whole) = counts
    assert few == 1 and many >= 2 and one_page == whole, counts


@pytest.mark.parametrize(
    ("language", "title", "detail"),
    [
        (
            "zh-CN,zh;q=0.9,en;q=0.8",
            "未找到",
            "没有找到评定 999999（不存在，或不在您管理的范围内）",
        ),
        ("en-US,en;q=0.9", "Not found", "grading 999999 was not found"),
        (None, "Not found", "grading 999999 was not found"),
    ],
    ids=["chinese", "english", "no-preference"],
)
def test_a_problem_speaks_the_callers_language(
    api: Api, language: str | None, title: str, detail: str
) -> None:
    headers = {"Accept-Language": language} if language else {}
    body = assert_problem(api.get("/api/v1/gradings/999999", headers=headers), 404, "not-found")
    assert (body["title"], body["detail"]) == (title, detail)
    if language and language.startswith("zh"):
        assert body["detail_en"] == "grading 999999 was not found"
    else:
        assert "detail_en" not in body


ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_field_errors_are_in_chinese_with_the_english_kept(api: Api) -> None:
    body = assert_problem(
        api.post("/api/v1/organizations", json={"code": "A1-09", "kind": "hut"}, headers=ZH),
        422,
        "validation-error",
    )
    assert body["errors"]["name"] == ["必填"] and body["errors"]["parent_id"] == ["必填"]
    assert body["errors"]["kind"][0].startswith("只能是以下之一：")
    assert body["errors_en"]["name"] == ["Missing data for required field."]
    assert body["detail"].startswith("以下字段不合要求：") and "name" in body["detail"]
    long = api.post(
        "/api/v1/organizations",
        json={"code": "A1-09", "name": "村" * 201, "kind": "branch", "parent_id": 1},
        headers=ZH,
    ).get_json()
    assert long["errors"]["name"] == ["长度须在 1 到 200 之间"]


def test_a_missing_role_is_named_in_chinese(api: Api) -> None:
    new = {"code": "A1-09", "name": "南村党支部", "kind": "branch", "domain": "village"}
    new["parent_id"] = api.world.org("A1").id
    body = assert_problem(
        api.post("/api/v1/organizations", json=new, who="reviewer", headers=ZH), 403, "forbidden"
    )
    assert body["detail"].startswith("创建组织需要"), body
    assert "管理员" in body["detail"] and "needs one of the roles" in body["detail_en"]
    grading = api.world.gradings["A1-01"].id
    step = api.post(
        f"/api/v1/gradings/{grading}/transitions",
        json={"transition": "decide", "reason": "测试"},
        headers=ZH,
    ).get_json()
    assert step["detail"].startswith("“作出定级决定并公示”需要"), step


def test_a_step_from_the_wrong_stage_says_which_stages_in_chinese(api: Api) -> None:
    grading = api.world.gradings["A1-01"].id
    body = assert_problem(
        api.post(
            f"/api/v1/gradings/{grading}/transitions",
            json={"transition": "decide", "reason": "测试"},
            who="reviewer",
            headers=ZH,
        ),
        409,
        "transition-not-allowed",
    )
    assert re.fullmatch(r"“[^”]+”须在“[^”]+”时进行，现在是“[^”]+”", body["detail"]), body
    assert "starts from" in body["detail_en"]


def test_a_detail_no_pattern_knows_keeps_the_meaning_not_a_wrong_translation() -> None:
    from service.api import zh

    assert zh.detail("the moon is made of cheese") is None
    assert zh.message("a message nobody wrote a translation for") == (
        "a message nobody wrote a translation for"
    )
    assert zh.messages({"rows": [{"3": {"name": ["Unknown field."]}}]}) == {
        "rows": [{"3": {"name": ["接口不认识这个字段"]}}]
    }


def test_every_problem_type_has_its_chinese_title_and_meaning() -> None:
    assert set(CATALOGUE_ZH) == set(CATALOGUE)
    for slug, (title, meaning) in CATALOGUE_ZH.items():
        assert title and meaning and any("\u4e00" <= ch <= "\u9fff" for ch in title), slug


def test_gradings_and_campaigns_sort_by_their_named_columns(api: Api) -> None:
    campaign = api.world.campaigns["open"].id
    path = f"/api/v1/campaigns/{campaign}/gradings?sort=-organization_code"
    codes = [g["organization_code"] for g in api.get(path, who="inspector").get_json()["items"]]
    assert codes == sorted(codes, reverse=True) and len(codes) >= 2
    names = [c["name"] for c in api.get("/api/v1/campaigns?sort=name").get_json()["items"]]
    assert names == sorted(names)


def test_roles_carry_their_chinese_labels_in_lists(api: Api) -> None:
    me = api.get("/api/v1/me", who="teller").get_json()
    assert {(g["role"], g["role_label"]) for g in me["grants"]} == {("teller", "计票人")}
    accounts = api.get("/api/v1/accounts?limit=500").get_json()["items"]
    labels = {g["role"]: g["role_label"] for a in accounts for g in a["grants"]}
    assert labels["secretary"] == "书记" and labels["admin"] == "管理员"
