"""领导小组 (issue 36): "我镇…召开了…动员会，成立了工作领导小组" — a committee records the group it
forms for a campaign; a change is a new version that says why; the county sees who has formed
one."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, assert_problem

GROUP = {
    "name": "甲镇基层党组织分类定级工作领导小组",
    "leader": "王建国",
    "deputies": ["李秀英"],
    "members": ["张志强", "赵敏"],
    "office": "镇党政办",
    "formed_on": "2026-03-25",
}


def _url(api: Api) -> str:
    return f"/api/v1/campaigns/{api.world.campaigns['open'].id}/leading-groups"


def _form(api: Api, who: str = "reviewer", **changes: Any) -> Any:
    body = {**GROUP, "organization_id": api.world.org("A1").id, **changes}
    return api.post(_url(api), json=body, who=who)


def test_a_township_records_its_leading_group_and_a_change_says_why(api: Api) -> None:
    formed = _form(api)
    assert formed.status_code == 201, formed.get_json()
    assert (formed.get_json()["version"], formed.get_json()["leader"]) == (1, "王建国")
    assert_problem(_form(api, leader="李秀英"), 422, "validation-error")  # no reason given
    changed = _form(api, leader="李秀英", reason="王建国调任，组长由李秀英接任")
    assert changed.status_code == 201 and changed.get_json()["version"] == 2
    township = api.world.org("A1").id
    history = api.get(f"{_url(api)}/{township}", who="inspector").get_json()["items"]
    assert [(g["version"], g["leader"]) for g in history] == [(1, "王建国"), (2, "李秀英")]
    assert history[1]["reason"].startswith("王建国调任")


def test_the_county_sees_which_committees_have_formed_theirs(api: Api) -> None:
    _form(api)
    items = api.get(_url(api), who="inspector").get_json()["items"]
    status = {i["organization_name"]: i["status_label"] for i in items}
    assert status == {"甲县委": "未成立", "甲镇党委": "已成立"}  # branches form none
    township = next(i for i in items if i["formed"])
    assert township["group"]["members"] == ["张志强", "赵敏"]


def test_only_a_committee_of_the_campaign_and_its_people_record_one(api: Api) -> None:
    branch = _form(api, organization_id=api.world.org("A1-01").id)
    assert assert_problem(branch, 422, "validation-error")["errors"] == {
        "organization_id": ["not a committee of the campaign's subtree"]
    }
    assert_problem(_form(api, who="teller"), 403, "forbidden")
    assert_problem(_form(api, who="secretary"), 404, "not-found")  # the township is above it
    assert_problem(_form(api, organization_id=api.world.org("B").id), 404, "not-found")
