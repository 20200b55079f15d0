from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from service.accounts import operations as ops
from service.accounts.models import Account, ApiToken, Role, RoleGrant
from service.api.blueprint import api
from service.api.routing import Ctx, Reply, operation, paginate
from service.api.schemas.accounts import (
    AccountCreate,
    AccountListQuery,
    AccountOut,
    AccountPage,
    AccountPatch,
    GrantIn,
    GrantOut,
    MeOut,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
)
from service.api.schemas.common import ReasonBody
from service.api.scope import scoped, within
from service.errors import Forbidden, NotFound
from service.organizations.models import Organization

TAG = "access"
READERS = [Role.ADMIN, Role.INSPECTOR]


def _empowering(ctx: Ctx, account_id: int, what: str) -> Account:
    """An account the caller would give power to (a token, activation): an admin where it
    lives and where every one of its live grants reaches — never beyond the caller's own
    subtree (a township admin cannot mint a token for an account granted on the county)."""
    account = _account(ctx, account_id, [Role.ADMIN], what)
    reaches = ctx.session.scalars(
        select(Organization)
        .join(RoleGrant, RoleGrant.organization_id == Organization.id)
        .where(RoleGrant.account_id == account.id, RoleGrant.revoked_at.is_(None))
    ).all()
    for org in reaches:
        if Role.ADMIN not in ctx.caller.roles_at(org):
            raise Forbidden(
                f"{what}: account {account.username} holds a role on {org.name} ({org.code}), "
                "beyond your administration"
            )
    return account


def _account(ctx: Ctx, account_id: int, roles: list[Role], what: str) -> Account:
    account = ctx.session.get(Account, account_id)
    home = ctx.session.get(Organization, account.organization_id) if account else None
    if account is None or home is None or not ctx.caller.sees(home):
        raise NotFound(f"account {account_id} was not found")
    ctx.caller.require(home, roles, what)
    return account


@operation(
    api,
    "GET",
    "/me",
    summary="The caller: account, token and role grants",
    tag=TAG,
    responses={200: MeOut},
)
def me(ctx: Ctx) -> Any:
    p = ctx.caller
    return {
        "account_id": p.account_id,
        "username": p.username,
        "token_id": p.token_id,
        "grants": [{"role": g.role.value, "organization_id": g.organization_id} for g in p.grants],
    }


@operation(
    api,
    "GET",
    "/accounts",
    summary="Accounts whose home organization you can see",
    tag=TAG,
    query=AccountListQuery,
    responses={200: AccountPage},
    errors=(403, 404, 422),
)
def list_accounts(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere(READERS, "listing accounts")
    query = (
        select(Account)
        .join(Organization, Organization.id == Account.organization_id)
        .where(ctx.caller.visible_filter(Organization.path))
    )
    query = within(ctx, query, ctx.query)
    return paginate(ctx, query, Account.id)


@operation(
    api,
    "POST",
    "/accounts",
    summary="Create an account, optionally with role grants",
    tag=TAG,
    body=AccountCreate,
    responses={201: AccountOut},
    errors=(403, 404, 409, 422),
)
def create_account(ctx: Ctx) -> Any:
    home = scoped(ctx, Organization, ctx.body["organization_id"], "organization_id")[0]
    ctx.caller.require(home, [Role.ADMIN], "creating an account")
    grants = []
    for n, grant in enumerate(ctx.body.get("grants") or []):
        org = scoped(ctx, Organization, grant["organization_id"], f"grants.{n}.organization_id")[0]
        ctx.caller.require(org, [Role.ADMIN], "granting a role there")
        grants.append((Role(grant["role"]), org))
    account = ops.create_account(
        ctx.session,
        ctx.actor,
        username=ctx.body["username"],
        display_name=ctx.body["display_name"],
        organization=home,
    )
    for role, org in grants:
        ops.grant_role(ctx.session, ctx.actor, account, role, org)
    ctx.session.refresh(account, ["grants"])
    return Reply(account, 201, {"Location": f"/api/v1/accounts/{account.id}"})


@operation(
    api,
    "GET",
    "/accounts/<int:account_id>",
    summary="One account with its grants",
    tag=TAG,
    responses={200: AccountOut},
    errors=(403, 404),
)
def get_account(ctx: Ctx, account_id: int) -> Any:
    return _account(ctx, account_id, READERS, "reading an account")


@operation(
    api,
    "PATCH",
    "/accounts/<int:account_id>",
    summary="Deactivate or reactivate an account",
    tag=TAG,
    body=AccountPatch,
    responses={200: AccountOut},
    errors=(403, 404, 422),
)
def patch_account(ctx: Ctx, account_id: int) -> Any:
    account = _empowering(ctx, account_id, "changing an account")
    if "is_active" in ctx.body:
        ops.set_account_active(
            ctx.session, ctx.actor, account, ctx.body["is_active"], ctx.body.get("reason")
        )
    return account


@operation(
    api,
    "POST",
    "/accounts/<int:account_id>/grants",
    summary="Grant a role on a subtree",
    tag=TAG,
    body=GrantIn,
    responses={201: GrantOut},
    errors=(403, 404, 422),
)
def add_grant(ctx: Ctx, account_id: int) -> Any:
    account = _account(ctx, account_id, [Role.ADMIN], "granting a role")
    org = scoped(ctx, Organization, ctx.body["organization_id"], "organization_id")[0]
    ctx.caller.require(org, [Role.ADMIN], "granting a role there")
    return Reply(ops.grant_role(ctx.session, ctx.actor, account, Role(ctx.body["role"]), org), 201)


@operation(
    api,
    "POST",
    "/accounts/<int:account_id>/grants/<int:grant_id>/revoke",
    summary="Revoke a role grant (kept, marked revoked)",
    tag=TAG,
    body=ReasonBody,
    responses={200: GrantOut},
    errors=(403, 404, 422),
)
def revoke_grant(ctx: Ctx, account_id: int, grant_id: int) -> Any:
    account = _account(ctx, account_id, [Role.ADMIN], "revoking a role")
    grant = ctx.session.get(RoleGrant, grant_id)
    if grant is None or grant.account_id != account.id:
        raise NotFound(f"grant {grant_id} was not found")
    org = scoped(ctx, Organization, grant.organization_id)[0]
    ctx.caller.require(org, [Role.ADMIN], "revoking a role there")
    return ops.revoke_grant(ctx.session, ctx.actor, grant, ctx.body.get("reason"))


@operation(
    api,
    "GET",
    "/accounts/<int:account_id>/tokens",
    summary="The account's API tokens",
    tag=TAG,
    responses={200: TokenList},
    errors=(403, 404),
)
def list_tokens(ctx: Ctx, account_id: int) -> Any:
    account = _account(ctx, account_id, READERS, "listing tokens")
    return {
        "items": ctx.session.scalars(
            select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id)
        ).all()
    }


@operation(
    api,
    "POST",
    "/accounts/<int:account_id>/tokens",
    summary="Issue an API token (shown once, stored hashed)",
    tag=TAG,
    body=TokenCreate,
    responses={201: TokenCreated},
    errors=(403, 404, 422),
)
def create_token(ctx: Ctx, account_id: int) -> Any:
    account = _empowering(ctx, account_id, "issuing a token")
    days = ctx.body.get("expires_in_days")
    lifetime = timedelta(days=days) if days else ctx.settings.token_lifetime
    api_token, plain = ops.issue_token(
        ctx.session, ctx.actor, account, name=ctx.body["name"], lifetime=lifetime
    )
    data = {name: getattr(api_token, name) for name in TokenOut().fields}
    return Reply({**data, "token": plain}, 201, {"Cache-Control": "no-store"})


@operation(
    api,
    "POST",
    "/accounts/<int:account_id>/tokens/<int:token_id>/revoke",
    summary="Revoke an API token (the account itself or an admin)",
    tag=TAG,
    body=ReasonBody,
    responses={200: TokenOut},
    errors=(403, 404, 422),
)
def revoke_token(ctx: Ctx, account_id: int, token_id: int) -> Any:
    if account_id == ctx.caller.account_id:
        account = ops.get_account(ctx.session, account_id)
    else:
        account = _account(ctx, account_id, [Role.ADMIN], "revoking a token")
    api_token = ctx.session.get(ApiToken, token_id)
    if api_token is None or api_token.account_id != account.id:
        raise NotFound(f"token {token_id} was not found")
    return ops.revoke_token(
        ctx.session, ctx.actor, api_token, account.organization_id, ctx.body.get("reason")
    )
