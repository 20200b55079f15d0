"""Standards: versioned templates per 领域, consistent sums, frozen once a campaign used them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import migrate
from service.context import Actor
from service.organizations.models import Domain
from service.standards import operations as standards
from service.standards.reference import SEVEN_INDICATORS, reference_domains, reference_standard
from tests.conftest import Api, assert_problem, cli_completed
from tests.world import standard_body


def _create(api: Api, **overrides: Any) -> Any:
    return api.post("/api/v1/standards", json=standard_body("school", **overrides))


def test_the_seven_indicators_make_a_standard_of_100(api: Api) -> None:
    response = _create(api)
    assert response.status_code == 201, response.get_json()
    standard = response.get_json()
    assert standard["version"] == 1 and standard["frozen"] is False
    assert [i["max_points"] for i in standard["indicators"]] == [
        "15.00",
        "10.00",
        "10.00",
        "10.00",
        "10.00",
        "20.00",
        "25.00",
    ]
    assert standard["total_points"] == "100.00"


def test_a_second_standard_for_a_domain_is_its_next_version(api: Api) -> None:
    assert _create(api).get_json()["version"] == 1
    assert _create(api).get_json()["version"] == 2


def test_indicator_maximums_must_sum_to_the_total(api: Api) -> None:
    body = standard_body("school")
    body["indicators"][0]["max_points"] = "16"
    response = api.post("/api/v1/standards", json=body)
    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"] == {
        "indicators": ["the indicators' maximums sum to 101, not to the total 100"]
    }


def test_sub_items_must_sum_to_their_indicator(api: Api) -> None:
    body = standard_body("school")
    body["indicators"][5]["sub_items"] = [
        {"code": "a", "name": "甲", "max_points": "10"},
        {"code": "b", "name": "乙", "max_points": "9.5"},
    ]
    problem = assert_problem(api.post("/api/v1/standards", json=body), 422, "validation-error")
    assert "indicators.5.sub_items" in problem["errors"]


def test_an_adjustment_cannot_exceed_its_cap(api: Api) -> None:
    body = standard_body("school", bonus_cap="2")
    problem = assert_problem(api.post("/api/v1/standards", json=body), 422, "validation-error")
    assert problem["errors"] == {
        "adjustments.0.max_points": ["exceeds the standard's bonus cap of 2"]
    }


def test_scores_with_three_decimals_or_out_of_range_are_refused(api: Api) -> None:
    body = standard_body("school")
    body["indicators"][0]["max_points"] = "15.005"
    body["indicators"][1]["max_points"] = -3
    body["indicators"][2]["max_points"] = "ten"
    problem = assert_problem(api.post("/api/v1/standards", json=body), 422, "validation-error")
    errors = problem["errors"]["indicators"]
    assert errors["0"]["max_points"] == ["has more than two decimal places"]
    assert errors["1"]["max_points"] == ["must be between 0.01 and 1000"]
    assert errors["2"]["max_points"] == ["is not a number"]


def test_numbers_and_strings_are_both_exact_decimals(api: Api) -> None:
    body = standard_body("school")
    body["indicators"][0]["max_points"] = 14.9
    body["indicators"][1]["max_points"] = "10.1"
    response = api.post("/api/v1/standards", json=body)
    assert response.status_code == 201, response.get_json()
    assert [i["max_points"] for i in response.get_json()["indicators"][:2]] == ["14.90", "10.10"]


def test_an_unknown_domain_is_refused(api: Api) -> None:
    problem = assert_problem(
        api.post("/api/v1/standards", json=standard_body("moon")), 422, "validation-error"
    )
    assert problem["errors"] == {"domain": ["unknown 领域"]}


def test_an_unused_standard_can_be_changed(api: Api) -> None:
    standard_id = _create(api).get_json()["id"]
    response = api.patch(
        f"/api/v1/standards/{standard_id}", json={"name": "七项指标（修订）", "reason": "措辞"}
    )
    assert response.status_code == 200
    assert response.get_json()["name"] == "七项指标（修订）"


def test_a_standard_used_by_an_open_campaign_is_frozen(api: Api) -> None:
    village = api.world.standards["village"]
    response = api.patch(f"/api/v1/standards/{village.id}", json={"name": "改"})
    problem = assert_problem(response, 409, "standard-frozen")
    assert problem["new_version_url"] == f"/api/v1/standards/{village.id}/versions"
    assert "publish a new version" in problem["detail"]
    assert api.get(f"/api/v1/standards/{village.id}").get_json()["frozen"] is True


def test_a_new_version_starts_from_the_frozen_one(api: Api) -> None:
    village = api.world.standards["village"]
    response = api.post(
        f"/api/v1/standards/{village.id}/versions",
        json={"name": "七项指标（2027）", "reason": "年度修订"},
    )
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert new["version"] == 2 and new["supersedes_id"] == village.id
    assert len(new["indicators"]) == 7 and new["frozen"] is False


def test_only_admins_write_standards(api: Api) -> None:
    assert_problem(_create_as(api, "supervisor"), 403, "forbidden")


def _create_as(api: Api, who: str) -> Any:
    return api.post("/api/v1/standards", json=standard_body("school"), who=who)


def test_the_builtin_level_schemes_are_there(api: Api) -> None:
    items = api.get("/api/v1/level-schemes", who="secretary").get_json()["items"]
    four = next(s for s in items if s["code"] == "four_levels")
    assert [(lv["label"], lv["lower_bound"]) for lv in four["levels"]] == [
        ("好", "90.00"),
        ("较好", "80.00"),
        ("一般", "60.00"),
        ("较差", "0.00"),
    ]
    assert {s["code"] for s in items} == {"four_levels", "five_levels", "five_stars"}


def test_a_custom_level_scheme_needs_decreasing_bounds(api: Api) -> None:
    levels = [
        {"code": "a", "label": "优", "lower_bound": "85"},
        {"code": "b", "label": "良", "lower_bound": "85"},
    ]
    problem = assert_problem(
        api.post("/api/v1/level-schemes", json={"code": "two", "name": "两级", "levels": levels}),
        422,
        "validation-error",
    )
    assert "levels" in problem["errors"]
    levels[1]["lower_bound"] = "0"
    response = api.post(
        "/api/v1/level-schemes", json={"code": "two", "name": "两级", "levels": levels}
    )
    assert response.status_code == 201
    assert_problem(
        api.post("/api/v1/level-schemes", json={"code": "two", "name": "两级", "levels": levels}),
        409,
        "duplicate",
    )


def test_a_missing_standard_is_a_404(api: Api) -> None:
    assert_problem(api.get("/api/v1/standards/999999"), 404, "not-found")


def test_the_reference_standard_has_seven_indicators_summing_to_100() -> None:
    assert len(SEVEN_INDICATORS) == 7
    assert sum(i.max_points for i in SEVEN_INDICATORS) == 100


def test_every_domain_has_a_reference_standard_weighted_for_it(api: Api, db: Session) -> None:
    """附件1: 各领域基层党组织分类定级参考标准 — "可结合各领域各行业基层党组织的特点，
    对七项指标进一步细化分解": each 领域 has one, shipped as data, that publishes as it is."""
    assert set(reference_domains()) == set(db.scalars(select(Domain.code)))
    weightings = set()
    for domain in reference_domains():
        content = reference_standard(domain)
        names = [i["name"] for i in content["indicators"]]
        assert names == [i.name for i in SEVEN_INDICATORS], domain
        weightings.add(tuple(i["max_points"] for i in content["indicators"]))
        published = standards.create_standard(db, Actor.system("t"), content)
        shown = api.get(f"/api/v1/standards/{published.id}", who="inspector").get_json()
        assert Decimal(shown["total_points"]) == 100 and shown["domain"] == domain
    db.rollback()
    assert len(weightings) > 1  # not one weighting for all
    village = reference_standard("village")["indicators"][5]["sub_items"]
    assert [s["name"] for s in village] == ["发展村级集体经济", "为民服务全程代理", "维护稳定"]


def test_the_command_line_publishes_the_missing_reference_standards(
    fresh_database_url: Any,
) -> None:
    url = fresh_database_url("reference")
    migrate.upgrade(url)
    listed = cli_completed(url, "standards", "reference", "--dry-run")
    assert listed.returncode == 0 and listed.stdout.count("would publish") == 8
    done = cli_completed(url, "standards", "reference")
    assert done.returncode == 0 and "community: published 社区基层党组织" in done.stdout
    again = cli_completed(url, "standards", "reference")
    assert "every 领域 has a standard already" in again.stdout
    one = cli_completed(url, "standards", "reference", "school")
    assert "school: published" in one.stdout and "version 2" in one.stdout
    unknown = cli_completed(url, "standards", "reference", "moon")
    assert unknown.returncode != 0 and "no reference standard for moon" in unknown.stderr
