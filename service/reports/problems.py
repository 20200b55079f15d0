"""问题分类统计: what the surveys found and what rectification does, counted by the seeds'
categories (作风建设类、党建工作类…), by task (抓书记、强班子…) and by term (近期 / 中长期) —
the seeds' summary counts its problems this way ("通过梳理汇总，存在的主要问题如下")."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.campaigns.models import Campaign
from service.gradings import records
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.survey import classification
from service.workflows.states import ItemStatus

UNCLASSIFIED = "未分类"


def _latest_records(
    session: Session, campaign: Campaign, root: Organization, record_type: str
) -> list[Any]:
    """The newest version of every record of one type of the campaign's gradings under
    `root`, in one query."""
    gradings = (
        select(Grading.id)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(
            Grading.campaign_id == campaign.id,
            Organization.path.startswith(root.path, autoescape=True),
        )
    )
    return records.latest_data(session, gradings, record_type)


def classified(session: Session, campaign: Campaign, root: Organization) -> dict[str, Any]:
    config = campaign.decision_config
    found: Counter[str] = Counter()
    for entry in _latest_records(session, campaign, root, "survey_entry"):
        for problem in entry.get("problems") or []:
            found[problem.get("category") or UNCLASSIFIED] += 1
    items: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    by_task: Counter[str] = Counter()
    by_term: Counter[str] = Counter()
    for item in _latest_records(session, campaign, root, "rectification_item"):
        category = item.get("category") or UNCLASSIFIED
        items[category] += 1
        closed[category] += item.get("status") == ItemStatus.CLOSED
        by_task[item.get("task") or UNCLASSIFIED] += 1
        by_term[classification.TERMS.get(item.get("term") or "", UNCLASSIFIED)] += 1
    names = [*classification.categories(config), UNCLASSIFIED]
    return {
        "campaign": campaign.name,
        "unit": root.name,
        "categories": [
            {
                "category": name,
                "survey_problems": found[name],
                "rectification_items": items[name],
                "closed": closed[name],
            }
            for name in names
            if name != UNCLASSIFIED or found[name] or items[name]
        ],
        "tasks": [
            {"task": name, "rectification_items": by_task[name]}
            for name in [*classification.tasks(config), UNCLASSIFIED]
            if name != UNCLASSIFIED or by_task[name]
        ],
        "terms": [{"term": name, "rectification_items": n} for name, n in sorted(by_term.items())],
    }
