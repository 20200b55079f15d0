"""Every list is paginated (limit ≤ PAGE_SIZE_MAX, an opaque cursor) or capped with a documented
maximum: level schemes, amendments, a grading's history, the anonymous public notice; a
rectification plan holds at most 100 items."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.context import Actor
from service.gradings.models import RecordVersion
from service.pages import publicity as notice_page
from service.rectification import operations as rectification
from service.rectification.operations import MAX_PLAN_ITEMS
from tests.conftest import Api, assert_problem
from tests.publicity_helpers import in_publicity
from tests.rectification_helpers import item, rectifying, url

SURVEY = {"method": "meeting", "date": "2026-03-01"}


def _walk_pages(api: Api, path: str, key: str, limit: int, who: str | None = "admin") -> list[Any]:
    """Every item, following next_cursor page by page; each page at most `limit` long."""
    seen: list[Any] = []
    cursor = None
    join = "&" if "?" in path else "?"
    for _ in range(50):
        query = f"{join}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path + query, who=who)
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        assert len(body["items"]) <= limit
        seen += [i[key] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


def test_level_schemes_come_in_pages(api: Api) -> None:
    whole = [s["id"] for s in api.get("/api/v1/level-schemes").get_json()["items"]]
    for n in range(2):
        body = {
            "code": f"scheme_{n}",
            "name": f"方案{n}",
            "levels": [
                {"code": "a", "label": "优", "lower_bound": "80"},
                {"code": "b", "label": "差", "lower_bound": "0"},
            ],
        }
        assert api.post("/api/v1/level-schemes", json=body).status_code == 201
    listed = _walk_pages(api, "/api/v1/level-schemes", "id", 1)
    assert len(listed) == len(whole) + 2 and listed == sorted(listed)
    assert_problem(api.get("/api/v1/level-schemes?limit=501"), 422, "validation-error")


def test_amendments_come_in_pages(api: Api) -> None:
    campaign_id = api.world.campaigns["open"].id
    for days in (6, 7, 8):
        sent = api.post(
            f"/api/v1/campaigns/{campaign_id}/amendments",
            json={"reason": f"改为{days}天", "changes": {"publicity_working_days": days}},
        )
        assert sent.status_code == 201
    listed = _walk_pages(api, f"/api/v1/campaigns/{campaign_id}/amendments", "reason", 2)
    assert listed == ["改为6天", "改为7天", "改为8天"]


def test_a_gradings_history_comes_in_pages(api: Api, db: Session) -> None:
    grading_id = api.world.gradings["A1-01"].id
    api.post(f"/api/v1/gradings/{grading_id}/survey-entries", json=SURVEY, who="reviewer")
    for step in ("open_self_rating", "return_to_survey", "open_self_rating"):
        sent = api.post(
            f"/api/v1/gradings/{grading_id}/transitions",
            json={"transition": step, "reason": "r"},
            who="reviewer",
        )
        assert sent.status_code == 200, sent.get_json()
    path = f"/api/v1/gradings/{grading_id}/history"
    whole = api.get(path, who="reviewer").get_json()
    assert whole["next_cursor"] is None and len(whole["items"]) >= 4
    assert _walk_pages(api, path, "event_id", 1, who="reviewer") == [
        i["event_id"] for i in whole["items"]
    ]


def test_the_public_notice_comes_in_pages_in_tree_order(api: Api, db: Session) -> None:
    first = in_publicity(db, api.world.gradings["A1-01"])
    second = in_publicity(db, api.world.gradings["A1-02"])
    path = f"/api/v1/public/notices/{api.world.campaigns['open'].id}"
    whole = [i["grading_id"] for i in api.get(path, who=None).get_json()["items"]]
    assert sorted(whole) == sorted([first, second])
    assert _walk_pages(api, path, "grading_id", 1, who=None) == whole


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        base64.urlsafe_b64encode(b"id:3").decode(),  # an id cursor where a path one belongs
        base64.urlsafe_b64encode(b"path:/1/'; DROP TABLE x;--/").decode(),
        base64.urlsafe_b64encode(("path:/" + "1/" * 61).encode()).decode(),
    ],
)
def test_a_notice_cursor_not_issued_here_is_a_422(api: Api, cursor: str) -> None:
    path = f"/api/v1/public/notices/{api.world.campaigns['open'].id}?cursor={cursor}"
    body = assert_problem(api.get(path, who=None), 422, "validation-error")
    assert body["errors"] == {"cursor": ["invalid cursor"]}


def test_the_notice_page_asks_for_an_area_past_its_row_cap(
    api: Api, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_publicity(db, api.world.gradings["A1-01"])
    in_publicity(db, api.world.gradings["A1-02"])
    monkeypatch.setattr(notice_page, "NOTICE_PAGE_ROWS", 1)
    html = api.client.get(f"/notice/{api.world.campaigns['open'].id}").get_data(as_text=True)
    assert "前 1 个基层党组织（组织较多，请在下方按地区查看全部）" in html


def test_a_plan_holds_at_most_a_hundred_items(api: Api, db: Session) -> None:
    grading_id = rectifying(db, api.world.gradings["A1-01"])
    grading = db.get_one(type(api.world.gradings["A1-01"]), grading_id)
    for _ in range(MAX_PLAN_ITEMS):
        rectification.add_item(db, Actor.system("t"), grading, item())
    db.commit()
    refused = api.post(url(grading_id, "/items"), json=item(), who="secretary")
    assert_problem(refused, 409, "plan-full")
    written = db.scalar(
        select(func.count()).where(
            RecordVersion.grading_id == grading_id,
            RecordVersion.record_type == "rectification_item",
        )
    )
    assert written == MAX_PLAN_ITEMS
