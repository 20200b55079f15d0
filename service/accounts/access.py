"""Who may see and do what, where.

A role grant binds a role to an organization subtree. Outside every subtree of the caller a
resource does not exist for them (404, never 403: no existence leaks). Inside, a role that may
not do a thing gets 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import QueryableAttribute

from service.accounts.models import Role
from service.errors import Forbidden, NotFound
from service.organizations.models import Placed

# Roles whose grant covers the whole subtree below the granted organization.
SUBTREE_ROLES = frozenset({Role.REVIEWER, Role.TELLER, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN})
ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Grant:
    role: Role
    organization_id: int
    path: str  # the granted organization's materialized path


@dataclass(frozen=True)
class Principal:
    account_id: int
    username: str
    token_id: int | None
    grants: tuple[Grant, ...]  # what the caller may see and do; never a portal grant
    # A portal's service account: the subtrees whose people it may act for (On-Behalf-Of).
    # They give it nothing to see or do by itself.
    delegations: tuple[Grant, ...] = ()
    via: str | None = None  # acting for this person: the portal's account

    @classmethod
    def of(
        cls, account_id: int, username: str, token_id: int | None, grants: Iterable[Grant]
    ) -> Principal:
        """The caller of these live grants: portal grants apart, as delegations."""
        held = tuple(grants)
        return cls(
            account_id,
            username,
            token_id,
            tuple(g for g in held if g.role != Role.PORTAL),
            tuple(g for g in held if g.role == Role.PORTAL),
        )

    def acting_for(
        self, account_id: int, username: str, home_path: str, grants: Iterable[Grant]
    ) -> Principal | None:
        """This portal acting for a person homed in one of its delegated subtrees: the person's
        grants, each cut to those subtrees (a county supervisor acted for by a township's portal
        supervises the township only). None if the person lives outside them."""
        subtrees = [d for d in self.delegations if home_path.startswith(d.path)]
        if not subtrees:
            return None
        cut: list[Grant] = []
        for grant in grants:
            if grant.role == Role.PORTAL:
                continue
            for d in subtrees:
                if grant.path.startswith(d.path):
                    cut.append(grant)
                elif d.path.startswith(grant.path) and grant.role in SUBTREE_ROLES:
                    cut.append(Grant(grant.role, d.organization_id, d.path))
        return Principal(
            account_id, username, self.token_id, tuple(dict.fromkeys(cut)), (), self.username
        )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    def _covers(self, grant: Grant, org_path: str) -> bool:
        if grant.role in SUBTREE_ROLES:
            return org_path.startswith(grant.path)
        return org_path == grant.path

    def sees(self, org: Placed) -> bool:
        return any(self._covers(g, org.path) for g in self.grants)

    def roles_at(self, org: Placed) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants if self._covers(g, org.path))

    def grants_above(self, org: Placed, role: Role) -> list[Grant]:
        """The caller's `role` grants on an organization strictly above `org`."""
        return [
            g
            for g in self.grants
            if g.role == role and g.path != org.path and org.path.startswith(g.path)
        ]

    def require(self, org: Placed, roles: Iterable[Role], what: str) -> Role:
        """The first role of `roles` the caller holds at `org`; 404 or 403 otherwise."""
        if not self.sees(org):
            raise NotFound(f"organization {org.id} was not found")
        held = self.roles_at(org)
        for role in roles:
            if role in held:
                return role
        raise Forbidden(
            f"{what} needs one of the roles {', '.join(sorted(roles))} here; "
            f"you hold {', '.join(sorted(held)) or 'none'}"
        )

    def require_role_anywhere(self, roles: Iterable[Role], what: str) -> Role:
        for role in roles:
            if role in self.roles:
                return role
        raise Forbidden(f"{what} needs one of the roles {', '.join(sorted(roles))}")

    def visible_filter(self, path_column: QueryableAttribute[str]) -> ColumnElement[bool]:
        """A WHERE clause keeping the rows whose organization path the caller can see."""
        clauses: list[ColumnElement[bool]] = []
        for grant in self.grants:
            if grant.role in SUBTREE_ROLES:
                clauses.append(path_column.startswith(grant.path, autoescape=True))
            else:
                clauses.append(path_column == grant.path)
        return or_(*clauses) if clauses else false()

    def main_role(self) -> str | None:
        order = [Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR, Role.REVIEWER, Role.TELLER]
        for role in [*order, Role.SECRETARY]:
            if role in self.roles:
                return role.value
        return None
