"""Four eyes on power (docs/decisions/0025): granting supervisor (审批人) waits for an admin of a
higher scope than the grant's organization — never the one who asked, never the account
itself — so one admin cannot create both the requester and the approver of a decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts import operations as ops
from service.accounts.models import Account, GrantRequest, Role, RoleGrant
from service.audit.models import AuditEvent
from service.context import Actor
from tests.conftest import Api, assert_problem


def _me_grants(api: Api, token: str) -> set[tuple[str, int]]:
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    return {(g["role"], g["organization_id"]) for g in me["grants"]}


def _admin(db: Session, username: str, code: str, api: Api, granted_by: str = "t") -> str:
    """An admin account on organization `code`, with a token."""
    actor = Actor.system(granted_by)
    org = api.world.org(code)
    account = ops.create_account(
        db, actor, username=username, display_name=username, organization=org
    )
    ops.grant_role(db, actor, account, Role.ADMIN, org)
    _, token = ops.issue_token(db, actor, account, name="t", lifetime=timedelta(days=1))
    db.commit()
    return token


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _live(db: Session, account_id: int, role: Role) -> int:
    return (
        db.scalar(
            select(func.count()).where(
                RoleGrant.account_id == account_id,
                RoleGrant.role == role.value,
                RoleGrant.revoked_at.is_(None),
            )
        )
        or 0
    )


def test_granting_supervisor_waits_for_an_admin_above(api: Api, db: Session) -> None:
    reviewer = api.world.accounts["reviewer"]
    township = api.world.org("A1")
    asked = api.post(
        f"/api/v1/accounts/{reviewer.id}/grants",
        json={"role": "supervisor", "organization_id": township.id},
    )
    assert asked.status_code == 202, asked.get_json()
    request = asked.get_json()
    assert request["state"] == "pending" and request["requested_by"] == "admin"
    assert asked.headers["Location"] == f"/api/v1/grant-requests/{request['id']}"
    assert ("supervisor", township.id) not in _me_grants(api, api.world.tokens["reviewer"])
    assert (
        api.get(f"/api/v1/accounts/{reviewer.id}").get_json()["pending_grants"][0]["id"]
        == (request["id"])
    )

    approved = api.post(
        f"/api/v1/grant-requests/{request['id']}/approve", json={}, who="root_admin"
    )
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["state"] == "approved" and body["decided_by"] == "root_admin"
    assert body["grant_id"] is not None
    assert ("supervisor", township.id) in _me_grants(api, api.world.tokens["reviewer"])
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("grant.%")).order_by(AuditEvent.id)
    ).all()
    assert actions[-3:] == ["grant.request", "grant.create", "grant.approve"]


def test_asking_again_for_a_pending_grant_changes_nothing(api: Api, db: Session) -> None:
    reviewer = api.world.accounts["reviewer"]
    body = {"role": "supervisor", "organization_id": api.world.org("A1").id}
    first = api.post(f"/api/v1/accounts/{reviewer.id}/grants", json=body)
    again = api.post(f"/api/v1/accounts/{reviewer.id}/grants", json=body)
    assert first.status_code == again.status_code == 202
    assert first.get_json()["id"] == again.get_json()["id"]
    assert db.scalar(select(func.count()).select_from(GrantRequest)) == 1


def test_a_supervisor_grant_already_held_is_answered_at_once(api: Api) -> None:
    chief = api.world.accounts["chief"]  # supervisor on county A already
    response = api.post(
        f"/api/v1/accounts/{chief.id}/grants",
        json={"role": "supervisor", "organization_id": api.world.org("A").id},
    )
    assert response.status_code == 201
    assert response.get_json()["role"] == "supervisor"


def test_an_admin_cannot_approve_its_own_grant_request(api: Api, db: Session) -> None:
    reviewer = api.world.accounts["reviewer"]
    request = api.post(
        f"/api/v1/accounts/{reviewer.id}/grants",
        json={"role": "supervisor", "organization_id": api.world.org("A1").id},
    ).get_json()
    # the county's admin is above the township, but asked for it itself
    refused = api.post(f"/api/v1/grant-requests/{request['id']}/approve", json={})
    assert_problem(refused, 403, "four-eyes")
    db.expire_all()
    assert db.get_one(GrantRequest, request["id"]).state == "pending"
    assert _live(db, reviewer.id, Role.SUPERVISOR) == 0


def test_an_admin_of_the_same_scope_cannot_approve(api: Api, db: Session) -> None:
    reviewer = api.world.accounts["reviewer"]
    request = ops.request_grant(
        db, Actor.system("t"), reviewer, Role.SUPERVISOR, api.world.org("A")
    )
    db.commit()
    refused = api.post(f"/api/v1/grant-requests/{request.id}/approve", json={})  # admin on A
    body = assert_problem(refused, 403, "forbidden")
    assert "needs an admin above 甲县委" in body["detail"]
    assert _live(db, reviewer.id, Role.SUPERVISOR) == 0


def test_a_township_admin_cannot_create_both_requester_and_approver(api: Api, db: Session) -> None:
    """The attack the rule exists for: a township admin makes a supervisor and a second admin of
    its own to approve it — the grant stays pending."""
    township = api.world.org("A1")
    local = _admin(db, "a1.admin", "A1", api)
    created = api.client.post(
        "/api/v1/accounts",
        json={
            "username": "a1.boss",
            "display_name": "镇审批人",
            "organization_id": township.id,
            "grants": [
                {"role": "reviewer", "organization_id": township.id},
                {"role": "supervisor", "organization_id": township.id},
            ],
        },
        headers=_as(local),
    )
    assert created.status_code == 201, created.get_json()
    account = created.get_json()
    assert [g["role"] for g in account["grants"]] == ["reviewer"]
    [pending] = account["pending_grants"]
    second = api.client.post(
        "/api/v1/accounts",
        json={
            "username": "a1.admin2",
            "display_name": "镇管理员二",
            "organization_id": township.id,
            "grants": [{"role": "admin", "organization_id": township.id}],
        },
        headers=_as(local),
    ).get_json()
    token = api.client.post(
        f"/api/v1/accounts/{second['id']}/tokens", json={"name": "t"}, headers=_as(local)
    ).get_json()["token"]
    for who in (local, token):
        refused = api.client.post(
            f"/api/v1/grant-requests/{pending['id']}/approve", json={}, headers=_as(who)
        )
        assert refused.status_code == 403, refused.get_json()
    assert _live(db, account["id"], Role.SUPERVISOR) == 0
    # the county's admin, above the township, may
    approved = api.post(f"/api/v1/grant-requests/{pending['id']}/approve", json={})
    assert approved.status_code == 200
    assert _live(db, account["id"], Role.SUPERVISOR) == 1


def test_the_account_itself_cannot_approve_its_own_power(api: Api, db: Session) -> None:
    root = api.world.org("C")
    token = _admin(db, "c.admin2", "C", api)
    account = db.scalar(select(Account).where(Account.username == "c.admin2"))
    assert account is not None
    request = ops.request_grant(db, Actor.system("t"), account, Role.SUPERVISOR, api.world.org("A"))
    db.commit()
    refused = api.client.post(
        f"/api/v1/grant-requests/{request.id}/approve", json={}, headers=_as(token)
    )
    assert_problem(refused, 403, "four-eyes")
    assert root.parent_id is None


def test_on_the_top_organization_another_admin_not_made_by_the_requester_decides(
    api: Api, db: Session
) -> None:
    root = api.world.org("C")
    reviewer = api.world.accounts["reviewer"]
    asked = api.post(
        f"/api/v1/accounts/{reviewer.id}/grants",
        json={"role": "supervisor", "organization_id": root.id},
        who="root_admin",
    ).get_json()
    approve = f"/api/v1/grant-requests/{asked['id']}/approve"
    made_by_requester = _admin(db, "c.crony", "C", api, granted_by="root_admin")
    assert_problem(
        api.client.post(approve, json={}, headers=_as(made_by_requester)), 403, "forbidden"
    )
    independent = _admin(db, "c.other", "C", api, granted_by="city")
    assert api.client.post(approve, json={}, headers=_as(independent)).status_code == 200


def test_a_rejection_says_why_and_a_decided_request_is_final(api: Api, db: Session) -> None:
    reviewer = api.world.accounts["reviewer"]
    request = api.post(
        f"/api/v1/accounts/{reviewer.id}/grants",
        json={"role": "supervisor", "organization_id": api.world.org("A1").id},
    ).get_json()
    path = f"/api/v1/grant-requests/{request['id']}"
    assert_problem(api.post(f"{path}/reject", json={}, who="root_admin"), 422, "validation-error")
    rejected = api.post(f"{path}/reject", json={"reason": "不符合条件"}, who="root_admin")
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    assert_problem(api.post(f"{path}/approve", json={}, who="root_admin"), 409, "approval-decided")
    assert _live(db, reviewer.id, Role.SUPERVISOR) == 0


def test_grant_requests_outside_the_subtree_do_not_exist(api: Api, db: Session) -> None:
    request = ops.request_grant(
        db, Actor.system("t"), api.world.accounts["reviewer"], Role.SUPERVISOR, api.world.org("A1")
    )
    db.commit()
    assert_problem(api.get(f"/api/v1/grant-requests/{request.id}", who="admin_b"), 404, "not-found")
    listed = api.get("/api/v1/grant-requests?state=pending", who="admin_b").get_json()
    assert listed["items"] == []
    mine = api.get("/api/v1/grant-requests?state=pending").get_json()
    assert [r["id"] for r in mine["items"]] == [request.id]
    assert_problem(api.get("/api/v1/grant-requests?state=maybe"), 422, "validation-error")


@pytest.mark.usefixtures("db")
def test_the_grant_request_lifecycle_is_published(api: Api) -> None:
    body = api.get("/api/v1/workflows/grant_request", who=None).get_json()
    assert {t["name"] for t in body["transitions"]} == {"approve", "reject"}
