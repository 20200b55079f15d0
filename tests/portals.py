"""A portal's service account for tests (On-Behalf-Of): made as an admin makes one, with a
portal grant on one organization."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from service.accounts import operations as ops
from service.accounts.models import Role
from service.context import Actor
from tests.world import World


def portal(world: World, db: Session, code: str, username: str = "portal.gov") -> str:
    """A portal's service account with a portal grant on organization `code`: its token."""
    actor = Actor.system("t")
    account = ops.create_account(
        db, actor, username=username, display_name="政务门户", organization=world.org("C")
    )
    ops.grant_role(db, actor, account, Role.PORTAL, world.org(code))
    _, token = ops.issue_token(db, actor, account, name="portal", lifetime=timedelta(days=1))
    db.commit()
    return token


def as_person(token: str, person: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "On-Behalf-Of": person}
