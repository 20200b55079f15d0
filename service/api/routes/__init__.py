"""Importing this package registers every endpoint on the api blueprint."""

from service.api.blueprint import api
from service.api.routes import (
    accounts,
    after_grading,
    audit,
    ballots,
    calendar,
    campaigns,
    decisions,
    evaluation,
    events,
    evidence,
    gradings,
    inspection,
    leading_groups,
    meta,
    organizations,
    promotion,
    publicity,
    rectification,
    reporting,
    reports,
    spotchecks,
    standards,
)
from service.api.transitions import serve_one_endpoint_per_lifecycle

serve_one_endpoint_per_lifecycle(api)  # after every verb is registered

__all__ = [
    "accounts",
    "after_grading",
    "audit",
    "ballots",
    "calendar",
    "campaigns",
    "decisions",
    "evaluation",
    "events",
    "evidence",
    "gradings",
    "inspection",
    "leading_groups",
    "meta",
    "organizations",
    "promotion",
    "publicity",
    "rectification",
    "reporting",
    "reports",
    "spotchecks",
    "standards",
]
