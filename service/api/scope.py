"""What a caller may see: a resource inside one of their subtrees, or 404 — never 403, so a
resource outside them does not exist for them (no existence leaks). One helper loads any scoped
resource; each kind says how it reaches the organization it belongs to."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, join, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from service.accounts.access import Grant
from service.accounts.models import Account, ApiToken, GrantRequest, Role, RoleGrant
from service.accounts.operations import TOKEN_COLUMNS, principal_from
from service.api.routing import Ctx
from service.audit.operations import claim_head, keep_claim, record
from service.ballots.models import BallotSession
from service.campaigns import operations as campaigns
from service.campaigns.models import Campaign
from service.db import DriverStatement, persistent
from service.decisions.models import DecisionMeeting
from service.errors import NotFound
from service.gradings.facts import FACTS, GradingFacts
from service.gradings.load import COLUMNS, GRADINGS, GradingLoad
from service.gradings.models import Approval, Grading
from service.inspection.models import InspectionGroup
from service.organizations.models import Organization, Placed
from service.publicity.models import Complaint
from service.reporting.models import ReportSubmission
from service.spotchecks.models import SpotCheck

T = TypeVar("T")

_GRADING_ORG = (Organization, Organization.id == Grading.organization_id)
# kind -> (its name in a 404, the joins from it to its organization)
_REACH: dict[type, tuple[str, tuple[tuple[Any, Any], ...]]] = {
    Organization: ("organization", ()),
    Campaign: ("campaign", ((Organization, Organization.id == Campaign.organization_id),)),
    Grading: ("grading", (_GRADING_ORG,)),
    BallotSession: (
        "ballot session",
        ((Organization, Organization.id == BallotSession.organization_id),),
    ),
    Approval: ("approval", ((Grading, Grading.id == Approval.grading_id), _GRADING_ORG)),
    Complaint: ("complaint", ((Grading, Grading.id == Complaint.grading_id), _GRADING_ORG)),
    SpotCheck: ("spot check", ((Organization, Organization.id == SpotCheck.organization_id),)),
    InspectionGroup: (
        "inspection group",
        ((Organization, Organization.id == InspectionGroup.organization_id),),
    ),
    DecisionMeeting: (
        "decision meeting",
        ((Organization, Organization.id == DecisionMeeting.organization_id),),
    ),
    GrantRequest: (
        "grant request",
        ((Organization, Organization.id == GrantRequest.organization_id),),
    ),
    ReportSubmission: (
        "report submission",
        ((Organization, Organization.id == ReportSubmission.organization_id),),
    ),
}


@cache
def _by_id(kind: type) -> Any:
    """The statement that loads one `kind` by id with its organization, built once."""
    _, joins = _REACH[kind]
    query: Any = select(kind, Organization) if kind is not Organization else select(kind)
    for target, onclause in joins:
        query = query.join(target, onclause)
    return query.where(kind.id == bindparam("resource_id"))  # type: ignore[attr-defined]


@cache
def _claiming_load(with_token: bool) -> DriverStatement:
    """PostgreSQL, a transition's hot path: a grading's columns, its organization's id, name
    and path (who may, the answer), its facts, and its organization's audit chain head claimed
    (claim_head) — one statement on the driver's cursor, no ORM loading. `with_token`: the
    caller's token too (TOKEN_COLUMNS and the account's live grants, as principal_for_token
    reads them), the grading outer-joined to it — a row for a known token, the grading's
    columns empty when there is no such grading; the head claimed only for a live token."""
    found = select(Grading.organization_id).where(Grading.id == bindparam("resource_id"))
    columns = COLUMNS
    if not with_token:
        head = claim_head(found.scalar_subquery())
        return DriverStatement(
            select(*columns, *(select(c).scalar_subquery() for c in head.c))
            .join_from(Grading, Organization, Organization.id == Grading.organization_id)
            .where(Grading.id == bindparam("resource_id"))
            .add_cte(head)
        )
    live = (
        select(ApiToken.id)
        .join(Account, Account.id == ApiToken.account_id)
        .where(
            ApiToken.token_hash == bindparam("token_hash"),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > func.now(),
            Account.is_active.is_(True),
        )
        .exists()
    )
    head = claim_head(found.scalar_subquery(), only_if=live)
    granted = aliased(Organization)
    grants = (
        select(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_array(RoleGrant.role, RoleGrant.organization_id, granted.path),
                    RoleGrant.id,
                )
            )
        )
        .join(granted, granted.id == RoleGrant.organization_id)
        .where(RoleGrant.account_id == Account.id, RoleGrant.revoked_at.is_(None))
        .scalar_subquery()
    )
    graded = join(GRADINGS, Organization, Organization.id == Grading.organization_id)
    return DriverStatement(
        select(*TOKEN_COLUMNS, grants, *columns, *(select(c).scalar_subquery() for c in head.c))
        .select_from(ApiToken)
        .join(Account, Account.id == ApiToken.account_id)
        .outerjoin(graded, Grading.id == bindparam("resource_id"))
        .where(ApiToken.token_hash == bindparam("token_hash"))
        .add_cte(head)
    )


_TOKEN = len(TOKEN_COLUMNS)  # a row of the load with the token: its columns, its live grants


def scoped(
    ctx: Ctx, kind: type[T], resource_id: int, field: str | None = None
) -> tuple[T, Organization]:
    """The resource and its organization if the caller sees it; 404 (naming `field`) if not."""
    noun, joins = _REACH[kind]
    query = _by_id(kind)  # type: ignore[arg-type]
    if kind is Campaign:
        query = query.where(campaigns.visible_to(ctx.caller))
    row = ctx.session.execute(query, {"resource_id": resource_id}).first()
    # Who sees an organization is decided here, in Python, as Principal.visible_filter
    # decides it in SQL for lists (a campaign is also seen by whoever it covers).
    if row is None or (kind is not Campaign and not ctx.caller.sees(row[1 if joins else 0])):
        raise _not_found(noun, resource_id, field)
    found = tuple(row)
    return found[0], found[-1]


_GRADING_WITH_FACTS = (
    select(Grading, Organization, *FACTS)
    .join(Organization, Organization.id == Grading.organization_id)
    .where(Grading.id == bindparam("resource_id"))
)


def scoped_grading(ctx: Ctx, grading_id: int) -> tuple[Grading, Organization, GradingFacts]:
    """`scoped` for a grading, with the facts its guards and view read (one statement)."""
    row = ctx.session.execute(_GRADING_WITH_FACTS, {"resource_id": grading_id}).first()
    if row is None or not ctx.caller.sees(row[1]):
        raise _not_found("grading", grading_id, None)
    return row[0], row[1], GradingFacts.read(row[0].id, row[2:])


def claimed(ctx: Ctx, grading_id: int) -> tuple[Grading, Placed, GradingFacts]:
    """`scoped` for a grading a transition will record an event on: on PostgreSQL with its
    organization's audit chain head claimed in the same statement (one round trip fewer; see
    claim_head), the caller's token checked there too when it is pending, and the organization
    as a Place (its id, name and path)."""
    if ctx.session.get_bind().dialect.name != "postgresql":
        return scoped_grading(ctx, grading_id)
    pending = ctx.pending
    params = {"resource_id": grading_id}
    if pending is not None:
        params["token_hash"] = pending.token_hash  # type: ignore[assignment]
    rows = _claiming_load(pending is not None).rows(ctx.session.connection(), params)
    row = rows[0] if rows else None
    if pending is not None:
        if row is None:
            ctx.settle(pending.resolve())  # no such token: the usual lookup says so (401)
            raise AssertionError("an unknown token was resolved")
        live = row[_TOKEN] or ()
        grants = (Grant(Role(role), org_id, path) for role, org_id, path in live)
        ctx.settle(principal_from(ctx.session, row[:_TOKEN], grants))
        row = row[_TOKEN + 1 :]
        if row[0] is None:  # the grading outer-joined to the token's row: no such grading
            row = None
    if row is None:
        raise _not_found("grading", grading_id, None)
    load = GradingLoad.read(row)
    if not ctx.caller.sees(load.place):
        raise _not_found("grading", grading_id, None)
    grading = persistent(ctx.session, Grading, load.values)
    keep_claim(ctx.session, *load.claim)
    return grading, load.place, GradingFacts.read(grading.id, load.facts)


def _not_found(noun: str, resource_id: int, field: str | None) -> NotFound:
    return NotFound(
        f"{noun} {resource_id} was not found", errors={field: ["not found"]} if field else None
    )


def within_path(ctx: Ctx, args: dict[str, Any]) -> str | None:
    """The path of the subtree a list is narrowed to (`within`), if the caller sees it; 404
    naming `within` if not; None when the list is not narrowed."""
    if "within" not in args:
        return None
    root, _ = scoped(ctx, Organization, args["within"], "within")
    return root.path


def read_grading_story(ctx: Ctx, grading_id: int, view: str) -> Grading:
    """A grading in scope whose story (history, evidence) is read: an inspector's read is
    itself an audit event (audit.read, naming the view)."""
    grading, org = scoped(ctx, Grading, grading_id)
    if Role.INSPECTOR in ctx.caller.roles_at(org):
        record(
            ctx.session,
            ctx.actor,
            "audit.read",
            "grading",
            grading.id,
            organization_id=grading.organization_id,
            after={"view": view},
        )
    return grading
