"""Importing this package registers every endpoint on the api blueprint."""

from service.api.routes import (
    accounts,
    audit,
    ballots,
    campaigns,
    decisions,
    evaluation,
    events,
    gradings,
    meta,
    organizations,
    promotion,
    publicity,
    rectification,
    reports,
    spotchecks,
    standards,
)

__all__ = [
    "accounts",
    "audit",
    "ballots",
    "campaigns",
    "decisions",
    "evaluation",
    "events",
    "gradings",
    "meta",
    "organizations",
    "promotion",
    "publicity",
    "rectification",
    "reports",
    "spotchecks",
    "standards",
]
