"""API tokens: random, shown once, stored hashed, expiring, revocable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, cast, func, select
from sqlalchemy.orm import Session

import service.models  # noqa: F401 (every table in the metadata)
from service.accounts import operations as ops
from service.accounts.models import Account, ApiToken, Role, RoleGrant
from service.accounts.operations import hash_token
from service.audit.models import AuditEvent, ChainHead
from service.audit.operations import chain_key_for
from service.context import Actor
from service.db import Base, utcnow
from service.gradings.models import Grading
from tests.conftest import Api, assert_problem


def test_no_token_is_a_401_with_www_authenticate(api: Api) -> None:
    response = api.get("/api/v1/me", who=None)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_malformed_authorization_header_is_a_401(api: Api) -> None:
    response = api.get("/api/v1/me", who=None, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert_problem(response, 401, "unauthorized")


def test_an_unknown_token_is_a_401(api: Api) -> None:
    response = api.get("/api/v1/me", who=None, headers={"Authorization": "Bearer gr_nonsense"})
    assert_problem(response, 401, "token-unknown")


def test_an_expired_token_is_a_401(api: Api, db: Session) -> None:
    token = db.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(api.world.tokens["reviewer"]))
    )
    assert token is not None
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert_problem(api.get("/api/v1/me", who="reviewer"), 401, "token-expired")


def test_a_revoked_token_is_a_401(api: Api) -> None:
    me = api.get("/api/v1/me", who="teller").get_json()
    account_id, token_id = me["account_id"], me["token_id"]
    revoked = api.post(
        f"/api/v1/accounts/{account_id}/tokens/{token_id}/revoke",
        json={"reason": "lost laptop"},
        who="teller",
    )
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"] is not None
    assert_problem(api.get("/api/v1/me", who="teller"), 401, "token-revoked")


def test_a_deactivated_account_cannot_use_its_token(api: Api) -> None:
    account = api.world.accounts["reviewer"]
    response = api.patch(
        f"/api/v1/accounts/{account.id}", json={"is_active": False, "reason": "left"}
    )
    assert response.status_code == 200
    assert_problem(api.get("/api/v1/me", who="reviewer"), 401, "account-inactive")


def test_an_issued_token_is_shown_once_and_stored_only_as_a_hash(api: Api, db: Session) -> None:
    account = api.world.accounts["inspector"]
    response = api.post(
        f"/api/v1/accounts/{account.id}/tokens",
        json={"name": "county portal", "expires_in_days": 7},
    )
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    plain = response.get_json()["token"]
    stored = db.get(ApiToken, response.get_json()["id"])
    assert stored is not None
    assert stored.token_hash == hash_token(plain) and plain not in stored.token_hash
    listing = api.get(f"/api/v1/accounts/{account.id}/tokens").get_json()["items"]
    assert all("token" not in item for item in listing)
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.get_json()["username"] == "inspector"


def test_a_token_lifetime_must_be_positive(api: Api) -> None:
    account = api.world.accounts["inspector"]
    body = assert_problem(
        api.post(f"/api/v1/accounts/{account.id}/tokens", json={"name": "x", "expires_in_days": 0}),
        422,
        "validation-error",
    )
    assert "expires_in_days" in body["errors"]


def test_one_account_cannot_revoke_another_accounts_token(api: Api) -> None:
    other = api.get("/api/v1/me", who="supervisor").get_json()
    response = api.post(
        f"/api/v1/accounts/{other['account_id']}/tokens/{other['token_id']}/revoke",
        json={},
        who="teller",
    )
    assert_problem(response, 403, "forbidden")


def test_a_token_issued_with_an_idempotency_key_is_never_stored_in_plain(
    api: Api, db: Session
) -> None:
    """The idempotency layer keeps that the key was used, never the answer holding the token;
    a retry is told so (409) and where to look. No table holds the token afterwards."""
    account = api.world.accounts["reviewer"]
    path = f"/api/v1/accounts/{account.id}/tokens"
    headers = {"Idempotency-Key": "issue-once-91c2"}
    issued = api.post(path, json={"name": "portal"}, headers=headers)
    assert issued.status_code == 201
    plain = issued.get_json()["token"]
    retry = api.post(path, json={"name": "portal"}, headers=headers)
    body = assert_problem(retry, 409, "secret-not-replayed")
    assert plain not in retry.get_data(as_text=True) and "succeeded" in body["detail"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    holding = []
    for table in Base.metadata.sorted_tables:
        text_columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        for column in text_columns:
            found = db.execute(
                select(func.count())
                .select_from(table)
                .where(cast(column, Text).contains(plain[:20]))
            ).scalar()
            if found:
                holding.append(f"{table.name}.{column.name}")
    assert holding == []


def test_a_township_admin_cannot_empower_an_account_granted_beyond_its_township(
    api: Api, db: Session
) -> None:
    """The account lives in the township but holds supervisor on the county: no token from the
    township's admin, no (re)activation either; the county's admin may."""
    actor = Actor.system("t")
    township, county = api.world.org("A1"), api.world.org("A")
    local_admin = ops.create_account(
        db, actor, username="a1.admin", display_name="甲镇管理员", organization=township
    )
    ops.grant_role(db, actor, local_admin, Role.ADMIN, township)
    _, local_token = ops.issue_token(db, actor, local_admin, name="t", lifetime=timedelta(days=1))
    strong = ops.create_account(
        db, actor, username="a1.strong", display_name="挂县职", organization=township
    )
    ops.grant_role(db, actor, strong, Role.SUPERVISOR, county)
    db.commit()
    headers = {"Authorization": f"Bearer {local_token}"}
    tokens = f"/api/v1/accounts/{strong.id}/tokens"
    minted = api.client.post(tokens, json={"name": "x"}, headers=headers)
    body = assert_problem(minted, 403, "forbidden")
    assert "holds a role on 甲县委" in body["detail"]
    paused = api.client.patch(
        f"/api/v1/accounts/{strong.id}", json={"is_active": False}, headers=headers
    )
    assert_problem(paused, 403, "forbidden")
    assert db.scalar(select(func.count()).where(ApiToken.account_id == strong.id)) == 0
    assert api.post(tokens, json={"name": "x"}, who="admin").status_code == 201  # the county's


# A transition checks its caller's token in the statement that loads the grading (PostgreSQL;
# routing's auth_in_load): the same refusals, in the same order, at once.


def _transition(api: Api, grading_id: int, who: str | None = "reviewer", **kw: Any) -> Any:
    return api.post(
        f"/api/v1/gradings/{grading_id}/transitions",
        json=kw.pop("json", {"transition": "open_self_rating"}),
        who=who,
        **kw,
    )


def _head_and_events(db: Session, grading: Grading) -> tuple[Any, int]:
    db.expire_all()
    head = db.get(ChainHead, chain_key_for(grading.organization_id))
    count = db.scalar(select(func.count()).select_from(AuditEvent))
    return (head.seq, head.hash) if head else None, count or 0


@pytest.mark.parametrize("refusal", ["token-revoked", "token-expired", "account-inactive"])
def test_a_transition_refuses_a_token_dead_since_the_last_request(
    api: Api, db: Session, refusal: str
) -> None:
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    assert _transition(api, grading.id, json={"transition": "nonsense"}).status_code == 422
    token = db.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(api.world.tokens["reviewer"]))
    ).one()
    if refusal == "token-revoked":
        token.revoked_at = utcnow()
    elif refusal == "token-expired":
        token.expires_at = utcnow() - timedelta(seconds=1)
    else:
        db.get_one(Account, token.account_id).is_active = False
    db.commit()
    before = _head_and_events(db, grading)
    assert_problem(_transition(api, grading.id), 401, refusal)
    assert _head_and_events(db, grading) == before  # no claim kept, no event
    db.refresh(grading)
    assert grading.state == "survey"


def test_a_transition_follows_a_grant_revoked_since_the_last_request(api: Api, db: Session) -> None:
    grading_id = api.world.gradings["A1-01"].id
    account = api.world.accounts["reviewer"]
    for grant in db.scalars(select(RoleGrant).where(RoleGrant.account_id == account.id)):
        grant.revoked_at = utcnow()
    db.commit()
    assert_problem(_transition(api, grading_id), 404, "not-found")  # sees nothing now


def test_an_unknown_token_is_a_401_before_a_missing_grading_or_a_bad_body(api: Api) -> None:
    stranger = {"Authorization": "Bearer gr_nonsense"}
    assert_problem(_transition(api, 999_999, who=None, headers=stranger), 401, "token-unknown")
    bad_body = _transition(api, 1, who=None, headers=stranger, json={"reason": 5})
    assert_problem(bad_body, 401, "token-unknown")
    revoked_and_missing = _transition(api, 999_999, who=None, headers=stranger, json={})
    assert_problem(revoked_and_missing, 401, "token-unknown")


def test_a_known_caller_is_told_a_grading_is_missing(api: Api) -> None:
    assert_problem(_transition(api, 999_999), 404, "not-found")


def test_a_transition_with_an_idempotency_key_or_on_behalf_of_still_checks_its_token(
    api: Api,
) -> None:
    stranger = {"Authorization": "Bearer gr_nonsense", "Idempotency-Key": "k-1"}
    assert_problem(_transition(api, 1, who=None, headers=stranger), 401, "token-unknown")
    acting = {"Authorization": "Bearer gr_nonsense", "On-Behalf-Of": "someone"}
    assert_problem(_transition(api, 1, who=None, headers=acting), 401, "token-unknown")
