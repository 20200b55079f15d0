from __future__ import annotations

from datetime import timedelta
from typing import Any

from service.accounts import operations as ops
from service.accounts.models import (
    APPROVING_ROLES,
    Account,
    GrantRequest,
    Role,
    RoleGrant,
)
from service.api.blueprint import api
from service.api.pagination import paginate
from service.api.routing import Ctx, Reply, operation
from service.api.schemas.accounts import (
    AccountCreate,
    AccountListQuery,
    AccountOut,
    AccountPage,
    AccountPatch,
    GrantIn,
    GrantOut,
    GrantRequestOut,
    GrantRequestPage,
    GrantRequestQuery,
    MeOut,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
)
from service.api.schemas.common import ReasonBody
from service.api.scope import scoped, within_path
from service.errors import Forbidden, NotFound
from service.organizations.models import Organization

TAG = "access"
READERS = [Role.ADMIN, Role.INSPECTOR]


def _empowering(ctx: Ctx, account_id: int, what: str) -> Account:
    """An account the caller would give power to (a token, activation): an admin where it
    lives and where every one of its live grants reaches — and every grant it waits for, which
    a token minted now would carry once approved — never beyond the caller's own subtree (a
    township admin cannot mint a token for an account granted, or to be granted, on the
    county)."""
    account = _account(ctx, account_id, [Role.ADMIN], what)
    for org in ops.reach(ctx.session, account):
        if Role.ADMIN not in ctx.caller.roles_at(org):
            raise Forbidden(
                f"{what}: account {account.username} holds a role on {org.name} ({org.code}), "
                "beyond your administration"
            )
    return account


def _account(ctx: Ctx, account_id: int, roles: list[Role], what: str) -> Account:
    found = ops.with_home(ctx.session, account_id)
    if found is None or not ctx.caller.sees(found[1]):
        raise NotFound(f"account {account_id} was not found")
    ctx.caller.require(found[1], roles, what)
    return found[0]


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
        "portal_for": [d.organization_id for d in p.delegations],
        "via": p.via,
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
    visible = ctx.caller.visible_filter(Organization.path)
    query = ops.listed(visible, within_path(ctx, ctx.query))
    return paginate(ctx, query, Account.id, {"username": Account.username})


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
        _grant_or_request(ctx, account, role, org)
    ctx.session.refresh(account, ["grants", "pending_grants"])
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


def _grant_or_request(
    ctx: Ctx, account: Account, role: Role, org: Organization
) -> RoleGrant | GrantRequest:
    """A role granted now, or — an approving role not held yet — asked for, pending a second
    admin above (docs/decisions/0025)."""
    if role in APPROVING_ROLES and not _holds(ctx, account, role, org):
        return ops.request_grant(ctx.session, ctx.actor, account, role, org)
    return ops.grant_role(ctx.session, ctx.actor, account, role, org)


def _holds(ctx: Ctx, account: Account, role: Role, org: Organization) -> bool:
    return any(
        g.role == role.value and g.organization_id == org.id and g.revoked_at is None
        for g in account.grants
    )


@operation(
    api,
    "POST",
    "/accounts/<int:account_id>/grants",
    summary="Grant a role on a subtree (an approving role: asked for, 202, until approved)",
    tag=TAG,
    body=GrantIn,
    responses={201: GrantOut, 202: GrantRequestOut},
    errors=(403, 404, 422),
    description="Granting supervisor (审批人) takes effect only when an admin of a higher scope "
    "than the grant's organization — not the one who asked, not the account itself — approves "
    "it: the answer is 202 with the pending grant request (Location: /api/v1/grant-requests/{id}).",
)
def add_grant(ctx: Ctx, account_id: int) -> Any:
    account = _empowering(ctx, account_id, "granting a role")
    org = scoped(ctx, Organization, ctx.body["organization_id"], "organization_id")[0]
    ctx.caller.require(org, [Role.ADMIN], "granting a role there")
    outcome = _grant_or_request(ctx, account, Role(ctx.body["role"]), org)
    if isinstance(outcome, GrantRequest):
        return Reply(outcome, 202, {"Location": f"/api/v1/grant-requests/{outcome.id}"})
    return Reply(outcome, 201)


@operation(
    api,
    "GET",
    "/grant-requests",
    summary="Grants of approving roles asked for, in your subtree (newest last)",
    tag=TAG,
    query=GrantRequestQuery,
    responses={200: GrantRequestPage},
    errors=(403, 404, 422),
)
def list_grant_requests(ctx: Ctx) -> Any:
    ctx.caller.require_role_anywhere(READERS, "listing grant requests")
    visible = ctx.caller.visible_filter(Organization.path)
    query = ops.grant_requests(visible, ctx.query, within_path(ctx, ctx.query))
    return paginate(ctx, query, GrantRequest.id)


@operation(
    api,
    "GET",
    "/grant-requests/<int:request_id>",
    summary="One grant request",
    tag=TAG,
    responses={200: GrantRequestOut},
    errors=(403, 404),
)
def get_grant_request(ctx: Ctx, request_id: int) -> Any:
    request, org = scoped(ctx, GrantRequest, request_id)
    ctx.caller.require(org, READERS, "reading a grant request")
    return request


def _deciding(ctx: Ctx, request_id: int, step: str) -> GrantRequest:
    """A grant request the caller may decide: an admin on an organization strictly above the
    grant's; for a grant on a top organization, another admin there whose own admin grant the
    requester did not make."""
    request, org = scoped(ctx, GrantRequest, request_id)
    ctx.caller.require(org, [Role.ADMIN], f"{step} a grant request")
    if ctx.caller.grants_above(org, Role.ADMIN):
        return request
    if org.parent_id is None and ops.holds_admin_granted_by_another(
        ctx.session, ctx.caller.account_id, org, request.requested_by
    ):
        return request
    raise Forbidden(
        f"{step} a grant of {request.role} on {org.name} needs an admin above {org.name}"
    )


@operation(
    api,
    "POST",
    "/grant-requests/<int:request_id>/approve",
    summary="Approve a grant request (an admin above its organization, not the requester)",
    tag=TAG,
    body=ReasonBody,
    responses={200: GrantRequestOut},
    errors=(403, 404, 409, 422),
    fires=("grant_request", "approve"),
)
def approve_grant_request(ctx: Ctx, request_id: int) -> Any:
    request = _deciding(ctx, request_id, "approving")
    return ops.decide_grant_request(
        ctx.session, ctx.actor, request, approve=True, reason=ctx.body.get("reason")
    )


@operation(
    api,
    "POST",
    "/grant-requests/<int:request_id>/reject",
    summary="Reject a grant request, saying why (an admin above its organization)",
    tag=TAG,
    body=ReasonBody,
    responses={200: GrantRequestOut},
    errors=(403, 404, 409, 422),
    fires=("grant_request", "reject"),
)
def reject_grant_request(ctx: Ctx, request_id: int) -> Any:
    request = _deciding(ctx, request_id, "rejecting")
    return ops.decide_grant_request(
        ctx.session, ctx.actor, request, approve=False, reason=ctx.body.get("reason")
    )


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
    grant = ops.grant_of(ctx.session, account, grant_id)
    if grant is None:
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
    return {"items": ops.tokens_of(ctx.session, account)}


@operation(
    api,
    "POST",
    "/accounts/<int:account_id>/tokens",
    summary="Issue an API token (shown once, stored hashed)",
    tag=TAG,
    body=TokenCreate,
    responses={201: TokenCreated},
    errors=(403, 404, 422),
    description="An admin where the account lives and wherever its grants — held or waiting "
    "for approval — reach. Never on behalf of someone (On-Behalf-Of: 403): a portal does not "
    "mint credentials for the people it acts for.",
)
def create_token(ctx: Ctx, account_id: int) -> Any:
    account = _empowering(ctx, account_id, "issuing a token")
    if ctx.caller.via is not None:
        raise Forbidden(
            f"a portal acting for {ctx.caller.username} (On-Behalf-Of) does not create "
            "credentials: a token would outlive the portal's grant and hide `via` from the trail"
        )
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
    api_token = ops.token_of(ctx.session, account, token_id)
    if api_token is None:
        raise NotFound(f"token {token_id} was not found")
    return ops.revoke_token(
        ctx.session, ctx.actor, api_token, account.organization_id, ctx.body.get("reason")
    )
