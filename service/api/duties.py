"""The superior's duties (service.campaigns.procedure), checked where every role is checked: in
the API layer, after the usual 404/403 of `Principal.require` (docs/decisions/0015, 0033).

Two rules, each a 403 `superior-duty` naming it in Chinese and English:
- not_for_own_organization: an account homed in the graded organization (or below it) never
  does a duty for it — whatever it was granted, and whatever the campaign relaxed;
- superior_only: unless the campaign relaxes the duty, the role must be held on a committee
  strictly above the graded organization — a grant on the organization itself is not enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from service.accounts.models import Account, Role
from service.api.routing import Ctx
from service.campaigns import procedure
from service.campaigns.models import Campaign
from service.campaigns.procedure import DUTY_LABELS, Duty, Holder
from service.errors import SuperiorDuty
from service.organizations.models import Organization, Placed


def _home_path(ctx: Ctx) -> str | None:
    return ctx.session.scalar(
        select(Organization.path)
        .join(Account, Account.organization_id == Organization.id)
        .where(Account.id == ctx.caller.account_id)
    )


def config_of(ctx: Ctx, campaign_id: int) -> Mapping[str, Any] | None:
    campaign = ctx.session.get_one(Campaign, campaign_id)
    config: Mapping[str, Any] | None = campaign.decision_config
    return config


def check_duty(
    ctx: Ctx,
    org: Placed,
    decision_config: Mapping[str, Any] | None,
    duty: Duty,
    roles: Iterable[str],
    what: str,
) -> None:
    """Refuse the caller `duty` for the graded `org` (a 403 naming the rule), or return."""
    roles = tuple(roles)
    zh, en = DUTY_LABELS[duty]
    home = _home_path(ctx)
    if home is not None and home.startswith(org.path):
        raise SuperiorDuty(
            f"{what}: someone homed in {org.name} may not do {en} for it",
            duty=duty.value,
            rule={
                "code": "not_for_own_organization",
                "message_zh": f"本组织（{org.name}）的成员不能为本组织办理{zh}",
                "message_en": f"someone homed in {org.name} may not do {en} for it",
            },
        )
    if procedure.holder(decision_config, duty) is Holder.IN_SCOPE:
        return
    if any(ctx.caller.grants_above(org, Role(role)) for role in roles):
        return
    named = "、".join(roles)
    raise SuperiorDuty(
        f"{what}: {en} is the superior committee's; it needs the role {', '.join(roles)} on a "
        f"committee above {org.name}",
        duty=duty.value,
        rule={
            "code": "superior_only",
            "message_zh": f"{zh}由上级党组织负责：需要在{org.name}的上级党组织担任{named}",
            "message_en": f"{en} is the superior committee's: it needs the role "
            f"{', '.join(roles)} on a committee above {org.name}",
        },
    )


def require_duty(
    ctx: Ctx, org: Placed, campaign_id: int, duty: Duty, roles: Iterable[Role], what: str
) -> Role:
    """`Principal.require` (404 outside, 403 without one of `roles`), then the duty's rules."""
    roles = tuple(roles)
    role = ctx.caller.require(org, roles, what)
    check_duty(ctx, org, config_of(ctx, campaign_id), duty, roles, what)
    return role


def with_duty(description: str | None, duty: Duty | None) -> str | None:
    """An operation's description, saying who may do it when it is one of the superior's
    duties."""
    if duty is None:
        return description
    said = (
        f"The superior's duty `{duty}`: by default only someone holding the role on a committee "
        "strictly above the graded organization (the campaign's decision_config.duties may "
        "relax it), never someone homed in the organization — 403 superior-duty otherwise."
    )
    return f"{description} {said}" if description else said
