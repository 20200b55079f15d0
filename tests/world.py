"""A small, complete world for tests, built with the domain operations themselves.

    C  宜昌市委 (root; root_admin)
    ├── A  甲县委 (admin, supervisor, reviewer, teller, inspector)
    │   └── A1 甲镇党委
    │       ├── A1-01 东村党支部 (village; secretary)
    │       └── A1-02 甲镇机关党支部 (organ)
    └── B  乙县委 (admin_b)
        └── B-01 西村党支部 (village)

Campaigns: `draft` (A, ready to open), `open` (A, opened) and `open_b` (B, opened).
Gradings (of the open campaigns): `A1-01`, `A1-02` and `b:B-01`, all in `survey`.
`chief` is a reviewer and a supervisor of A (to test that nobody approves their own request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts import operations as accounts
from service.accounts.models import Account, Role
from service.campaigns import operations as campaigns
from service.campaigns.models import Campaign
from service.context import Actor
from service.gradings import enrolment
from service.gradings.models import Grading
from service.organizations import operations as orgs
from service.organizations.models import Organization
from service.standards import operations as standards
from service.standards.models import Standard
from service.standards.reference import SEVEN_INDICATORS

# (code, name, maximum) of the reference standard's seven indicators.
SEVEN = [(i.code, i.name, i.max_points) for i in SEVEN_INDICATORS]


def standard_body(domain: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "domain": domain,
        "name": "七项指标",
        "total_points": "100",
        "bonus_cap": "5",
        "deduction_cap": "10",
        "indicators": [{"code": c, "name": n, "max_points": str(p)} for c, n, p in SEVEN],
        "adjustments": [
            {"code": "honours", "kind": "bonus", "name": "表彰", "max_points": "5"},
            {"code": "late", "kind": "deduction", "name": "迟报漏报", "max_points": "5"},
        ],
    }
    body.update(overrides)
    return body


def _domain_data(body: dict[str, Any]) -> dict[str, Any]:
    """The API body, as the operations take it (Decimals)."""
    return {
        **body,
        "total_points": Decimal(body["total_points"]),
        "bonus_cap": Decimal(body["bonus_cap"]),
        "deduction_cap": Decimal(body["deduction_cap"]),
        "indicators": [{**i, "max_points": Decimal(i["max_points"])} for i in body["indicators"]],
        "adjustments": [{**a, "max_points": Decimal(a["max_points"])} for a in body["adjustments"]],
    }


def campaign_body(
    org_id: int, standards_by_domain: dict[str, int], year: int = 2026
) -> dict[str, Any]:
    return {
        "organization_id": org_id,
        "name": f"{year}年分类定级",
        "year": year,
        "level_scheme_id": 1,
        "standards": [{"domain": d, "standard_id": s} for d, s in standards_by_domain.items()],
        "phases": [
            {"phase": "survey", "due_on": f"{year}-03-31"},
            {"phase": "self_rating", "due_on": f"{year}-04-05"},
            {"phase": "evaluation", "due_on": f"{year}-04-10"},
        ],
        "publicity_working_days": 5,
        "sources": [
            {"source": "superior", "weight": "50"},
            {"source": "members", "weight": "30"},
            {"source": "self", "weight": "20"},
        ],
        "quota_rules": [{"level_code": "good", "max_share": "20"}],
        "veto_rules": [
            {
                "code": "leader_violation",
                "description": "班子成员违法违纪",
                "forced_level_code": "poor",
            }
        ],
    }


def _campaign_data(body: dict[str, Any]) -> dict[str, Any]:
    return {
        **body,
        "phases": [{**p, "due_on": date.fromisoformat(p["due_on"])} for p in body["phases"]],
        "sources": [{**s, "weight": Decimal(s["weight"])} for s in body["sources"]],
        "quota_rules": [{**q, "max_share": Decimal(q["max_share"])} for q in body["quota_rules"]],
    }


@dataclass
class World:
    orgs: dict[str, Organization] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    standards: dict[str, Standard] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    gradings: dict[str, Grading] = field(default_factory=dict)

    def org(self, code: str) -> Organization:
        return self.orgs[code]


def build_world(session: Session) -> World:
    actor = Actor.system("test")
    w = World()

    def org(parent: str | None, code: str, name: str, kind: str, domain: str | None = None) -> None:
        w.orgs[code] = orgs.create_organization(
            session,
            actor,
            w.orgs[parent] if parent else None,
            {
                "code": code,
                "name": name,
                "kind": kind,
                "domain": domain,
                "member_count": 10,
                "founded_on": date(2000, 1, 1),
            },
        )

    org(None, "C", "宜昌市委", "committee")
    org("C", "A", "甲县委", "committee")
    org("A", "A1", "甲镇党委", "committee")
    org("A1", "A1-01", "东村党支部", "branch", "village")
    org("A1", "A1-02", "甲镇机关党支部", "branch", "organ")
    org("C", "B", "乙县委", "committee")
    org("B", "B-01", "西村党支部", "branch", "village")

    for domain in ("village", "organ"):
        w.standards[domain] = standards.create_standard(
            session, actor, _domain_data(standard_body(domain))
        )
    ids = {d: s.id for d, s in w.standards.items()}
    w.campaigns["draft"] = campaigns.create_campaign(
        session, actor, w.orgs["A"], _campaign_data(campaign_body(w.orgs["A"].id, ids))
    )
    w.campaigns["open"] = campaigns.create_campaign(
        session, actor, w.orgs["A"], _campaign_data(campaign_body(w.orgs["A"].id, ids, 2025))
    )
    enrolment.open_campaign(session, actor, w.campaigns["open"])
    w.campaigns["open_b"] = campaigns.create_campaign(
        session,
        actor,
        w.orgs["B"],
        _campaign_data(campaign_body(w.orgs["B"].id, {"village": ids["village"]})),
    )
    enrolment.open_campaign(session, actor, w.campaigns["open_b"])

    people = [
        ("root_admin", Role.ADMIN, "C"),
        ("admin", Role.ADMIN, "A"),
        ("supervisor", Role.SUPERVISOR, "A"),
        ("reviewer", Role.REVIEWER, "A"),
        ("teller", Role.TELLER, "A"),
        ("inspector", Role.INSPECTOR, "A"),
        ("secretary", Role.SECRETARY, "A1-01"),
        ("admin_b", Role.ADMIN, "B"),
        ("chief", Role.REVIEWER, "A"),  # also a supervisor: for the four-eyes rule
        ("reviewer_b", Role.REVIEWER, "B"),
    ]
    for username, role, code in people:
        account = accounts.create_account(
            session, actor, username=username, display_name=username, organization=w.orgs[code]
        )
        accounts.grant_role(session, actor, account, role, w.orgs[code])
        if username == "chief":
            accounts.grant_role(session, actor, account, Role.SUPERVISOR, w.orgs[code])
        _, token = accounts.issue_token(
            session, actor, account, name="test", lifetime=timedelta(days=1)
        )
        w.accounts[username] = account
        w.tokens[username] = token
    for grading in session.scalars(select(Grading)):
        org_code = next(code for code, o in w.orgs.items() if o.id == grading.organization_id)
        prefix = "b:" if grading.campaign_id == w.campaigns["open_b"].id else ""
        w.gradings[prefix + org_code] = grading
    session.flush()
    return w
