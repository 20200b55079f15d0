"""Accounts, role grants and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from service.accounts.access import Grant, Principal
from service.accounts.models import Account, ApiToken, GrantRequest, Role, RoleGrant
from service.accounts.workflow import GRANT_REQUEST_WORKFLOW
from service.audit.operations import record
from service.context import Actor
from service.db import DriverStatement, utcnow
from service.errors import (
    AccountInactive,
    Duplicate,
    Forbidden,
    NotFound,
    SelfApproval,
    TokenExpired,
    TokenRevoked,
    TokenUnknown,
    ValidationFailed,
)
from service.organizations.models import Organization
from service.organizations.operations import in_subtree
from service.workflows.states import ApprovalState

TOKEN_PREFIX = "gr_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# The columns of a token's row that principal_from takes, in its order (for a statement that
# reads them along with something else: service.api.scope's transition load).
TOKEN_COLUMNS = (
    ApiToken.id,
    ApiToken.revoked_at,
    ApiToken.expires_at,
    ApiToken.last_used_at,
    Account.id,
    Account.username,
    Account.is_active,
)


# One round trip per request: the token, its account and the account's live grants with their
# paths (a row per grant; one row with no grant for an account that has none). Plain columns, no
# ORM objects: this runs on every authenticated request.
_TOKEN_QUERY = DriverStatement(
    select(
        *TOKEN_COLUMNS,
        RoleGrant.role,
        RoleGrant.organization_id,
        Organization.path,
    )
    .join(Account, Account.id == ApiToken.account_id)
    .outerjoin(RoleGrant, (RoleGrant.account_id == Account.id) & RoleGrant.revoked_at.is_(None))
    .outerjoin(Organization, Organization.id == RoleGrant.organization_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .order_by(RoleGrant.id)
)


def principal_for_token(session: Session, token: str, now: datetime | None = None) -> Principal:
    """Resolve a bearer token to its account and live grants; 401 for anything else."""
    rows = _TOKEN_QUERY.rows(session.connection(), {"token_hash": hash_token(token)})
    if not rows:
        raise TokenUnknown("the API token is not known")
    grants = (Grant(Role(r[7]), r[8], r[9]) for r in rows if r[7] is not None)
    return principal_from(session, rows[0][:7], grants, now)


def principal_from(
    session: Session, token_row: Sequence[Any], grants: Iterable[Grant], now: datetime | None = None
) -> Principal:
    """The caller a token's row (TOKEN_COLUMNS) and its account's live grants make; 401 for a
    revoked or expired token or a deactivated account."""
    token_id, revoked_at, expires_at, last_used_at, account_id, username, is_active = token_row
    now = now or utcnow()
    if revoked_at is not None:
        raise TokenRevoked("the API token was revoked")
    if expires_at <= now:
        raise TokenExpired("the API token has expired")
    if not is_active:
        raise AccountInactive("the account is deactivated")
    # Recording last use costs a write per request; once a minute is plenty.
    if last_used_at is None or now - last_used_at > timedelta(minutes=1):
        session.connection().execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
        )
    return Principal.of(account_id, username, token_id, grants)


def act_for(session: Session, portal: Principal, username: str) -> Principal:
    """The person a portal names (On-Behalf-Of), with their grants cut to the portal's
    delegated subtrees; 403 without a portal grant or for anyone outside those subtrees."""
    if not portal.delegations:
        raise Forbidden(
            "acting on behalf of someone needs a portal grant (role portal) on their organization"
        )
    found = session.execute(
        select(Account.id, Account.username, Account.is_active, Organization.path)
        .join(Organization, Organization.id == Account.organization_id)
        .where(Account.username == username)
    ).first()
    person = (
        portal.acting_for(found[0], found[1], found[3], live_grants(session, found[0]))
        if found is not None and found[2]
        else None
    )
    if person is None:
        raise Forbidden(
            f"{portal.username} may not act for {username!r}: no active account of that name "
            "in the organizations it is a portal for"
        )
    return person


def live_grants(session: Session, account_id: int) -> tuple[Grant, ...]:
    """The account's grants not revoked, with their organizations' paths, oldest first."""
    rows = session.execute(
        select(RoleGrant.role, RoleGrant.organization_id, Organization.path)
        .join(Organization, Organization.id == RoleGrant.organization_id)
        .where(RoleGrant.account_id == account_id, RoleGrant.revoked_at.is_(None))
        .order_by(RoleGrant.id)
    )
    return tuple(Grant(Role(role), oid, path) for role, oid, path in rows)


def create_account(
    session: Session, actor: Actor, *, username: str, display_name: str, organization: Organization
) -> Account:
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Duplicate(
            f"an account named {username!r} exists already",
            errors={"username": ["is taken"]},
        )
    account = Account(username=username, display_name=display_name, organization_id=organization.id)
    session.add(account)
    session.flush()
    record(
        session,
        actor,
        "account.create",
        "account",
        account.id,
        organization_id=organization.id,
        after={
            "username": username,
            "display_name": display_name,
            "organization_id": organization.id,
        },
    )
    return account


def set_account_active(
    session: Session, actor: Actor, account: Account, active: bool, reason: str | None
) -> Account:
    before = account.is_active
    if before != active:
        account.is_active = active
        session.flush()
        record(
            session,
            actor,
            "account.activate" if active else "account.deactivate",
            "account",
            account.id,
            organization_id=account.organization_id,
            before={"is_active": before},
            after={"is_active": active},
            reason=reason,
        )
    return account


def grant_role(
    session: Session, actor: Actor, account: Account, role: Role, organization: Organization
) -> RoleGrant:
    existing = session.scalar(
        select(RoleGrant).where(
            RoleGrant.account_id == account.id,
            RoleGrant.role == role.value,
            RoleGrant.organization_id == organization.id,
            RoleGrant.revoked_at.is_(None),
        )
    )
    if existing is not None:
        return existing  # granting what is held already changes nothing
    grant = RoleGrant(
        account_id=account.id,
        role=role.value,
        organization_id=organization.id,
        granted_by=actor.username,
    )
    session.add(grant)
    session.flush()
    record(
        session,
        actor,
        "grant.create",
        "role_grant",
        grant.id,
        organization_id=organization.id,
        after={"account_id": account.id, "role": role.value, "organization_id": organization.id},
    )
    return grant


def request_grant(
    session: Session, actor: Actor, account: Account, role: Role, organization: Organization
) -> GrantRequest:
    """An approving role asked for: pending until an admin of a higher scope decides
    (decide_grant_request). Asking again for what waits already changes nothing."""
    existing = session.scalar(
        select(GrantRequest).where(
            GrantRequest.account_id == account.id,
            GrantRequest.role == role.value,
            GrantRequest.organization_id == organization.id,
            GrantRequest.state == GRANT_REQUEST_WORKFLOW.spec.initial,
        )
    )
    if existing is not None:
        return existing
    request = GrantRequest(
        account_id=account.id,
        role=role.value,
        organization_id=organization.id,
        requested_by=actor.username,
        requested_by_account_id=actor.account_id,
    )
    session.add(request)
    session.flush()
    record(
        session,
        actor,
        "grant.request",
        "grant_request",
        request.id,
        organization_id=organization.id,
        after={"account_id": account.id, "role": role.value, "organization_id": organization.id},
    )
    return request


def decide_grant_request(
    session: Session, actor: Actor, request: GrantRequest, *, approve: bool, reason: str | None
) -> GrantRequest:
    """An admin (the caller has checked the scope: may_decide_grant) who is neither the
    requester nor the account itself approves — the grant becomes live — or rejects with a
    reason. The row is locked first: of two decisions sent at once the second finds it
    decided (409)."""
    session.refresh(request, with_for_update=True)
    step = "approve" if approve else "reject"
    GRANT_REQUEST_WORKFLOW.require_source(request, step)
    if actor.account_id is not None and actor.account_id in (
        request.requested_by_account_id,
        request.account_id,
    ):
        raise SelfApproval("an admin cannot decide a grant they asked for or that empowers them")
    if not approve and not (reason and reason.strip()):
        raise ValidationFailed(
            "a rejection says why", errors={"reason": ["required when rejecting"]}
        )
    if approve:
        account = session.get_one(Account, request.account_id)
        organization = session.get_one(Organization, request.organization_id)
        request.grant_id = grant_role(session, actor, account, Role(request.role), organization).id
    GRANT_REQUEST_WORKFLOW.apply(request, step)
    request.decided_by = actor.username
    request.decided_at = utcnow()
    request.reason = reason
    session.flush()
    record(
        session,
        actor,
        f"grant.{step}",
        "grant_request",
        request.id,
        organization_id=request.organization_id,
        before={"state": GRANT_REQUEST_WORKFLOW.spec.initial},
        after={"state": request.state, "grant_id": request.grant_id},
        reason=reason,
    )
    return request


def revoke_grant(session: Session, actor: Actor, grant: RoleGrant, reason: str | None) -> RoleGrant:
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
        grant.revoked_by = actor.username
        session.flush()
        record(
            session,
            actor,
            "grant.revoke",
            "role_grant",
            grant.id,
            organization_id=grant.organization_id,
            before={"revoked_at": None},
            after={"revoked_at": grant.revoked_at},
            reason=reason,
        )
    return grant


def issue_token(
    session: Session,
    actor: Actor,
    account: Account,
    *,
    name: str,
    lifetime: timedelta,
    token: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; the plain text is returned once and never stored."""
    if lifetime <= timedelta(0):
        raise ValidationFailed(
            "the lifetime must be positive", errors={"expires_in_days": ["must be ≥ 1"]}
        )
    plain = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken(
        account_id=account.id,
        name=name,
        prefix=plain[:10],
        token_hash=hash_token(plain),
        created_by=actor.username,
        expires_at=utcnow() + lifetime,
    )
    session.add(api_token)
    session.flush()
    record(
        session,
        actor,
        "token.create",
        "api_token",
        api_token.id,
        organization_id=account.organization_id,
        after={
            "account_id": account.id,
            "name": name,
            "prefix": api_token.prefix,
            "expires_at": api_token.expires_at,
        },
    )
    return api_token, plain


def revoke_token(
    session: Session, actor: Actor, api_token: ApiToken, organization_id: int, reason: str | None
) -> ApiToken:
    if api_token.revoked_at is None:
        api_token.revoked_at = utcnow()
        session.flush()
        record(
            session,
            actor,
            "token.revoke",
            "api_token",
            api_token.id,
            organization_id=organization_id,
            before={"revoked_at": None},
            after={"revoked_at": api_token.revoked_at},
            reason=reason,
        )
    return api_token


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} was not found")
    return account


def reach(session: Session, account: Account) -> list[Organization]:
    """Where an account has power or will: the organizations of its live grants and of the
    grants it waits for (a token minted now would carry those once approved), in id order."""
    held = select(RoleGrant.organization_id).where(
        RoleGrant.account_id == account.id, RoleGrant.revoked_at.is_(None)
    )
    pending = select(GrantRequest.organization_id).where(
        GrantRequest.account_id == account.id, GrantRequest.state == ApprovalState.PENDING
    )
    return list(
        session.scalars(
            select(Organization)
            .where(Organization.id.in_(held.union(pending).scalar_subquery()))
            .order_by(Organization.id)
        )
    )


def with_home(session: Session, account_id: int) -> tuple[Account, Organization] | None:
    """An account and its home organization, if both exist."""
    account = session.get(Account, account_id)
    home = session.get(Organization, account.organization_id) if account else None
    return (account, home) if account is not None and home is not None else None


def listed(visible: Any, within: str | None) -> Any:
    """The accounts whose home `visible` admits (narrowed to the subtree at `within`)."""
    query = (
        select(Account)
        .join(Organization, Organization.id == Account.organization_id)
        .where(visible)
    )
    return in_subtree(query, within)


def grant_requests(visible: Any, filters: Mapping[str, Any], within: str | None) -> Any:
    """The grant requests on organizations `visible` admits, by state and subtree."""
    query = (
        select(GrantRequest)
        .join(Organization, Organization.id == GrantRequest.organization_id)
        .where(visible)
    )
    if "state" in filters:
        query = query.where(GrantRequest.state == filters["state"])
    return in_subtree(query, within)


def holds_admin_granted_by_another(
    session: Session, account_id: int, org: Organization, requester: str
) -> bool:
    """Whether the account holds a live admin grant on `org` that `requester` did not make."""
    found = session.scalar(
        select(RoleGrant.id).where(
            RoleGrant.account_id == account_id,
            RoleGrant.role == Role.ADMIN.value,
            RoleGrant.organization_id == org.id,
            RoleGrant.revoked_at.is_(None),
            RoleGrant.granted_by != requester,
        )
    )
    return found is not None


def grant_of(session: Session, account: Account, grant_id: int) -> RoleGrant | None:
    found = session.get(RoleGrant, grant_id)
    return found if found is not None and found.account_id == account.id else None


def tokens_of(session: Session, account: Account) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id)
        )
    )


def token_of(session: Session, account: Account, token_id: int) -> ApiToken | None:
    found = session.get(ApiToken, token_id)
    return found if found is not None and found.account_id == account.id else None
