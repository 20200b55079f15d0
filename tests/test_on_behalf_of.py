"""A portal acts for a person (On-Behalf-Of) only with a portal grant on that person's
organization; the person's power is cut to the portal's subtree; the audit trail names the
person as the actor and the portal as `via`, and inspectors filter by either."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts import operations as ops
from service.accounts.models import Role, RoleGrant
from service.audit.models import AuditEvent
from service.context import Actor
from tests.conftest import Api, assert_problem
from tests.portals import as_person, portal


def test_a_portal_acts_for_a_person_and_the_trail_names_both(api: Api, db: Session) -> None:
    token = portal(api.world, db, "A")
    grading = api.world.gradings["A1-01"].id
    written = api.client.post(
        f"/api/v1/gradings/{grading}/survey-entries",
        json={"method": "meeting", "date": "2026-03-01"},
        headers=as_person(token, "reviewer"),
    )
    assert written.status_code == 201, written.get_json()
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert (event.actor_username, event.actor_role, event.via) == (
        "reviewer",
        "reviewer",
        "portal.gov",
    )
    assert event.actor_account_id == api.world.accounts["reviewer"].id
    by_portal = api.get("/api/v1/audit/events?via=portal.gov", who="inspector").get_json()
    assert [e["id"] for e in by_portal["items"]] == [event.id]
    assert by_portal["items"][0]["actor_username"] == "reviewer"
    by_person = api.get("/api/v1/audit/events?actor=reviewer", who="inspector").get_json()
    assert event.id in [e["id"] for e in by_person["items"]]
    assert api.get("/api/v1/audit/verify", who="inspector").get_json()["intact"] is True
    me = api.client.get("/api/v1/me", headers=as_person(token, "reviewer")).get_json()
    assert (me["username"], me["via"]) == ("reviewer", "portal.gov")


def test_without_a_portal_grant_no_one_acts_for_another(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"].id
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    refused = api.client.post(
        f"/api/v1/gradings/{grading}/survey-entries",
        json={"method": "meeting", "date": "2026-03-01"},
        headers=as_person(api.world.tokens["admin"], "reviewer"),
    )
    assert "needs a portal grant" in assert_problem(refused, 403, "forbidden")["detail"]
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_a_portal_acts_only_for_people_of_its_subtree(api: Api, db: Session) -> None:
    token = portal(api.world, db, "A")
    for person in ("admin_b", "nobody.here"):  # in county B; no such account
        refused = api.client.get("/api/v1/me", headers=as_person(token, person))
        assert f"may not act for '{person}'" in assert_problem(refused, 403, "forbidden")["detail"]


def test_a_persons_power_is_cut_to_the_portals_subtree(api: Api, db: Session) -> None:
    """A township cadre who supervises the whole county, acted for by the township's portal,
    supervises the township only; the county's own people are not the township portal's."""
    token = portal(api.world, db, "A1")
    county, township = api.world.org("A"), api.world.org("A1")
    actor = Actor.system("t")
    cadre = ops.create_account(
        db, actor, username="a1.cadre", display_name="镇干部", organization=township
    )
    ops.grant_role(db, actor, cadre, Role.SUPERVISOR, county)
    db.commit()
    through = api.client.get(
        f"/api/v1/organizations/{county.id}", headers=as_person(token, "a1.cadre")
    )
    assert_problem(through, 404, "not-found")
    inside = api.client.get(
        f"/api/v1/organizations/{township.id}", headers=as_person(token, "a1.cadre")
    )
    assert inside.status_code == 200
    me = api.client.get("/api/v1/me", headers=as_person(token, "a1.cadre")).get_json()
    assert me["grants"] == [
        {"role": "supervisor", "role_label": "审批人", "organization_id": township.id}
    ]
    homed_above = api.client.get("/api/v1/me", headers=as_person(token, "supervisor"))
    assert_problem(homed_above, 403, "forbidden")


def test_a_portal_by_itself_sees_nothing(api: Api, db: Session) -> None:
    token = portal(api.world, db, "A")
    headers = {"Authorization": f"Bearer {token}"}
    me = api.client.get("/api/v1/me", headers=headers).get_json()
    assert me["grants"] == [] and me["portal_for"] == [api.world.org("A").id]
    found = api.client.get(f"/api/v1/organizations/{api.world.org('A').id}", headers=headers)
    assert_problem(found, 404, "not-found")


def test_a_revoked_portal_grant_stops_the_next_request(api: Api, db: Session) -> None:
    token = portal(api.world, db, "A")
    assert api.client.get("/api/v1/me", headers=as_person(token, "reviewer")).status_code == 200
    grant = db.scalars(select(RoleGrant).where(RoleGrant.role == "portal")).one()
    ops.revoke_grant(db, Actor.system("t"), grant, "门户下线")
    db.commit()
    refused = api.client.get("/api/v1/me", headers=as_person(token, "reviewer"))
    assert_problem(refused, 403, "forbidden")


def test_a_malformed_on_behalf_of_is_a_400(api: Api, db: Session) -> None:
    token = portal(api.world, db, "A")
    for bad in ("", "Reviewer", "a" * 101, "x y"):
        sent = api.client.get("/api/v1/me", headers=as_person(token, bad))
        assert_problem(sent, 400, "malformed-request")


def test_granting_the_portal_role_needs_a_second_admin_above(api: Api) -> None:
    account = api.world.accounts["reviewer"]
    asked = api.post(
        f"/api/v1/accounts/{account.id}/grants",
        json={"role": "portal", "organization_id": api.world.org("A1").id},
    )
    assert asked.status_code == 202 and asked.get_json()["state"] == "pending"
