"""Bad input always gets a clear problem+json 4xx naming the field; never a 500."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from service.api.problems import PROBLEM_TYPES
from service.errors import CATALOGUE, Conflict
from tests.conftest import Api, assert_problem


def _new_org(api: Api, **overrides: Any) -> dict[str, Any]:
    body = {
        "code": "A1-03",
        "name": "南村党支部",
        "kind": "branch",
        "domain": "village",
        "parent_id": api.world.org("A1").id,
    }
    body.update(overrides)
    return body


def test_broken_utf8_is_a_400_malformed_request(api: Api) -> None:
    response = api.post(
        "/api/v1/organizations",
        data=b'{"name": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    body = assert_problem(response, 400, "malformed-request")
    assert "UTF-8" in body["detail"]


def test_invalid_json_says_where(api: Api) -> None:
    response = api.post(
        "/api/v1/organizations", data=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 400, "malformed-request")
    assert "line 1" in body["detail"]


def test_a_body_that_is_not_json_media_type_is_a_415(api: Api) -> None:
    response = api.post(
        "/api/v1/organizations",
        data="code=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "unsupported-media-type")


def test_a_json_array_instead_of_an_object_is_refused(api: Api) -> None:
    response = api.post("/api/v1/organizations", json=[1, 2])
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == {"_schema": ["expected an object"]}


def test_unknown_fields_are_refused_by_name(api: Api) -> None:
    response = api.post("/api/v1/organizations", json=_new_org(api, colour="red"))
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == {"colour": ["Unknown field."]}


def test_wrong_types_are_refused_by_field(api: Api) -> None:
    response = api.post(
        "/api/v1/organizations",
        json=_new_org(api, member_count="12", name=5, founded_on="yesterday"),
    )
    body = assert_problem(response, 422, "validation-error")
    assert set(body["errors"]) == {"member_count", "name", "founded_on"}


def test_a_float_is_not_a_whole_number(api: Api) -> None:
    response = api.post("/api/v1/organizations", json=_new_org(api, member_count=12.5))
    body = assert_problem(response, 422, "validation-error")
    assert "member_count" in body["errors"]


def test_missing_required_fields_are_each_named(api: Api) -> None:
    response = api.post("/api/v1/organizations", json={})
    body = assert_problem(response, 422, "validation-error")
    assert set(body["errors"]) == {"code", "name", "kind", "parent_id"}


def test_an_oversized_body_is_a_413(api: Api) -> None:
    response = api.post("/api/v1/organizations", json=_new_org(api, name="党" * 70_000))
    body = assert_problem(response, 413, "payload-too-large")
    assert "bytes" in body["detail"]


def test_unknown_query_parameters_are_refused(api: Api) -> None:
    response = api.get("/api/v1/organizations?colour=red")
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == {"colour": ["Unknown field."]}


def test_an_endpoint_without_query_parameters_refuses_any(api: Api) -> None:
    response = api.get("/api/v1/me?x=1")
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == {"x": ["unknown parameter"]}


def test_a_forged_cursor_is_refused_by_name(api: Api) -> None:
    response = api.get("/api/v1/organizations?cursor=bm9wZQ")
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == {"cursor": ["invalid cursor"]}


def test_cursor_pagination_walks_every_visible_row_once(api: Api) -> None:
    seen: list[int] = []
    url = "/api/v1/organizations?limit=2"
    while True:
        page = api.get(url, who="root_admin").get_json()
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        url = f"/api/v1/organizations?limit=2&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted(o.id for o in api.world.orgs.values())
    assert len(seen) == len(set(seen))


def test_a_limit_out_of_range_is_refused(api: Api) -> None:
    body = assert_problem(api.get("/api/v1/organizations?limit=0"), 422, "validation-error")
    assert "limit" in body["errors"]


def test_an_unknown_path_is_a_problem_404(api: Api) -> None:
    assert_problem(api.get("/api/v1/no-such-thing"), 404, "not-found")


def test_a_wrong_method_is_a_problem_405_with_allow(api: Api) -> None:
    response = api.client.delete(
        "/api/v1/organizations", headers={"Authorization": f"Bearer {api.world.tokens['admin']}"}
    )
    assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["Allow"]


def test_the_request_id_is_echoed_or_made(api: Api) -> None:
    assert (
        api.get("/api/v1/me", headers={"X-Request-Id": "portal-42"}).headers["X-Request-Id"]
        == "portal-42"
    )
    made = api.get("/api/v1/me", headers={"X-Request-Id": "bad id with spaces"}).headers[
        "X-Request-Id"
    ]
    assert len(made) == 32


def test_a_failed_request_leaves_nothing_half_written(api: Api) -> None:
    # The second grant names an organization that does not exist: the account is not created.
    response = api.post(
        "/api/v1/accounts",
        json={
            "username": "half",
            "display_name": "半",
            "organization_id": api.world.org("A").id,
            "grants": [
                {"role": "reviewer", "organization_id": api.world.org("A").id},
                {"role": "reviewer", "organization_id": 999999},
            ],
        },
    )
    body = assert_problem(response, 404, "not-found")
    assert body["errors"] == {"grants.1.organization_id": ["not found"]}
    listing = api.get("/api/v1/accounts?limit=500").get_json()["items"]
    assert "half" not in {a["username"] for a in listing}


def test_the_spec_and_docs_are_served(api: Api) -> None:
    spec = api.client.get("/openapi.yaml")
    assert spec.status_code == 200
    assert "openapi: 3.1.0" in spec.get_data(as_text=True)
    docs = api.client.get("/docs")
    assert docs.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', docs.get_data(as_text=True))
    assert scripts == ["/docs/assets/swagger-ui-bundle.js", "/assets/docs.js"]  # all local
    for script in scripts:
        with api.client.get(script) as served:
            assert served.status_code == 200
    assert "<script>" not in docs.get_data(as_text=True)  # no inline script


def test_problem_types_are_documented(api: Api) -> None:
    response = api.client.get("/problems/standard-frozen")
    assert response.status_code == 200
    assert response.get_json()["title"] == "Standard version frozen"


def test_no_problem_is_raised_with_an_ad_hoc_type_or_title() -> None:
    """A problem's slug and title come from its class (service/errors.py), never from a call."""
    root = Path(__file__).resolve().parents[1] / "service"
    ad_hoc = [
        f"{f.relative_to(root)}:{n}"
        for f in root.rglob("*.py")
        for n, line in enumerate(f.read_text().splitlines(), 1)
        if re.search(r"\b(type|title)=\"[a-z][a-z-]+\"", line) and "mimetype" not in line
    ]
    assert ad_hoc == []
    with pytest.raises(TypeError):
        Conflict("a conflict", type="made-up")


def test_the_catalogue_lists_every_problem_class_once_with_its_own_words() -> None:
    for slug, kind in CATALOGUE.items():
        assert kind.type == slug
        assert PROBLEM_TYPES[slug] == (kind.title, kind.description)
        assert kind.title and kind.description and 400 <= kind.status < 600
    assert set(PROBLEM_TYPES) == set(CATALOGUE)
