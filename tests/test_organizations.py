"""The organization tree: create, change, move with history, merge and dissolve, never delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from service.organizations.models import Organization
from tests.conftest import Api, assert_problem


def _create(api: Api, code: str, parent: str, kind: str = "branch", **kw: Any) -> Any:
    body = {
        "code": code,
        "name": f"{code}党支部",
        "kind": kind,
        "parent_id": api.world.org(parent).id,
    }
    if kind != "committee":
        body["domain"] = "village"
    body.update(kw)
    return api.post("/api/v1/organizations", json=body)


def test_an_admin_creates_a_branch_with_its_labels_and_an_audit_event(
    api: Api, db: Session
) -> None:
    response = _create(
        api,
        "A1-09",
        "A1",
        secretary="王建国",
        member_count=23,
        coordination_area="东片协作区",
        founded_on="2012-03-01",
    )
    assert response.status_code == 201
    org = response.get_json()
    assert org["kind_label"] == "党支部"
    assert org["depth"] == 3 and org["version"] == 1
    assert response.headers["Location"] == f"/api/v1/organizations/{org['id']}"
    assert response.headers["ETag"] == '"1"'
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "organization.create", AuditEvent.entity_id == str(org["id"])
        )
    ).one()
    assert event.actor_username == "admin" and event.after["secretary"] == "王建国"


def test_a_duplicate_code_is_a_409(api: Api) -> None:
    body = assert_problem(_create(api, "A1-01", "A1"), 409, "duplicate")
    assert body["errors"] == {"code": ["is taken"]}


def test_a_branch_needs_a_domain_from_the_closed_list(api: Api) -> None:
    body = assert_problem(_create(api, "A1-10", "A1", domain="farm"), 422, "validation-error")
    assert "domain" in body["errors"]
    body = assert_problem(_create(api, "A1-11", "A1", domain=None), 422, "validation-error")
    assert body["errors"] == {"domain": ["required for this kind"]}


def test_a_branch_cannot_have_sub_organizations(api: Api) -> None:
    body = assert_problem(_create(api, "A1-01-X", "A1-01"), 422, "validation-error")
    assert body["errors"] == {"parent_id": ["a branch cannot be a parent"]}


def test_listing_filters_by_subtree_kind_domain_and_name(api: Api) -> None:
    w = api.world
    items = api.get(f"/api/v1/organizations?within={w.org('A').id}").get_json()["items"]
    assert {i["code"] for i in items} == {"A", "A1", "A1-01", "A1-02"}
    items = api.get("/api/v1/organizations?kind=branch&domain=organ").get_json()["items"]
    assert [i["code"] for i in items] == ["A1-02"]
    items = api.get("/api/v1/organizations?q=东村").get_json()["items"]
    assert [i["code"] for i in items] == ["A1-01"]
    items = api.get(f"/api/v1/organizations?parent_id={w.org('A1').id}").get_json()["items"]
    assert {i["code"] for i in items} == {"A1-01", "A1-02"}


def test_a_move_updates_the_subtree_and_keeps_history(api: Api, db: Session) -> None:
    w = api.world
    a1 = w.org("A1")
    response = api.patch(
        f"/api/v1/organizations/{a1.id}",
        json={"parent_id": w.org("B").id, "reason": "区划调整"},
        who="root_admin",
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["parent_id"] == w.org("B").id
    moved_branch = db.get(Organization, w.org("A1-01").id)
    db.refresh(moved_branch)
    assert moved_branch is not None
    assert moved_branch.path == f"{w.org('B').path}{a1.id}/{moved_branch.id}/"
    assert moved_branch.depth == 3
    moves = api.get(f"/api/v1/organizations/{a1.id}/moves", who="root_admin").get_json()["items"]
    assert [(m["from_parent_id"], m["to_parent_id"], m["reason"]) for m in moves] == [
        (w.org("A").id, w.org("B").id, "区划调整")
    ]
    # county A's admin no longer sees the township: it left their subtree
    assert_problem(api.get(f"/api/v1/organizations/{a1.id}"), 404, "not-found")


def test_moving_an_organization_under_its_own_descendant_is_a_cycle(api: Api) -> None:
    w = api.world
    response = api.patch(
        f"/api/v1/organizations/{w.org('A').id}",
        json={"parent_id": w.org("A1").id},
        who="root_admin",
    )
    body = assert_problem(response, 422, "tree-cycle")
    assert body["errors"] == {"parent_id": ["is the organization itself or one of its descendants"]}
    response = api.patch(
        f"/api/v1/organizations/{w.org('A').id}",
        json={"parent_id": w.org("A").id},
        who="root_admin",
    )
    assert_problem(response, 422, "tree-cycle")


def test_moving_needs_admin_rights_at_the_destination(api: Api) -> None:
    w = api.world
    response = api.patch(
        f"/api/v1/organizations/{w.org('A1-01').id}", json={"parent_id": w.org("B").id}
    )
    body = assert_problem(response, 404, "not-found")
    assert body["errors"] == {"parent_id": ["not found"]}


def test_a_stale_if_match_is_refused_with_412(api: Api) -> None:
    org_id = api.world.org("A1-01").id
    etag = api.get(f"/api/v1/organizations/{org_id}").headers["ETag"]
    assert (
        api.patch(
            f"/api/v1/organizations/{org_id}", json={"member_count": 30}, headers={"If-Match": etag}
        ).status_code
        == 200
    )
    response = api.patch(
        f"/api/v1/organizations/{org_id}", json={"member_count": 31}, headers={"If-Match": etag}
    )
    body = assert_problem(response, 412, "precondition-failed")
    assert body["current_version"] == 2


def test_a_patch_that_changes_nothing_makes_no_new_version(api: Api) -> None:
    org_id = api.world.org("A1-01").id
    response = api.patch(f"/api/v1/organizations/{org_id}", json={"name": "东村党支部"})
    assert response.get_json()["version"] == 1


def test_a_committees_notice_contact_is_set_audited_and_bounded(api: Api, db: Session) -> None:
    county = api.world.org("A").id
    contact = "电话 0717-1234567；地址 县委组织部组织科；信箱 县委组织部收"
    response = api.patch(f"/api/v1/organizations/{county}", json={"notice_contact": contact})
    assert response.status_code == 200 and response.get_json()["notice_contact"] == contact
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == str(county)).order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.after["notice_contact"] == contact
    body = assert_problem(
        api.patch(f"/api/v1/organizations/{county}", json={"notice_contact": "话" * 301}),
        422,
        "validation-error",
    )
    assert "notice_contact" in body["errors"]


def test_merging_needs_a_target_and_is_final(api: Api) -> None:
    w = api.world
    org_id = w.org("A1-02").id
    body = assert_problem(
        api.patch(f"/api/v1/organizations/{org_id}", json={"status": "merged"}),
        422,
        "validation-error",
    )
    assert body["errors"] == {"merged_into_id": ["required when status is merged"]}
    response = api.patch(
        f"/api/v1/organizations/{org_id}",
        json={"status": "merged", "merged_into_id": w.org("A1-01").id, "reason": "合并"},
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "merged"
    assert_problem(
        api.patch(f"/api/v1/organizations/{org_id}", json={"status": "dissolved"}),
        409,
        "organization-inactive",
    )
    # merged organizations stay readable: never deleted
    assert api.get(f"/api/v1/organizations/{org_id}").status_code == 200


def test_a_committee_with_active_branches_cannot_be_dissolved(api: Api) -> None:
    response = api.patch(
        f"/api/v1/organizations/{api.world.org('A1').id}", json={"status": "dissolved"}
    )
    assert_problem(response, 409, "has-active-children")


def test_domains_are_the_closed_list_with_chinese_labels(api: Api) -> None:
    items = api.get("/api/v1/domains", who="secretary").get_json()["items"]
    assert [i["label"] for i in items] == [
        "农村",
        "社区",
        "机关",
        "事业单位",
        "学校",
        "国有企业",
        "非公企业",
        "社会组织",
    ]
