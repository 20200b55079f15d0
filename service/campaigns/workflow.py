"""A campaign's own lifecycle: draft → open → closed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.accounts.models import Role
from service.workflows.engine import Workflow
from service.workflows.spec import Guard, StateSpec, TransitionSpec, WorkflowSpec
from service.workflows.states import CampaignStatus


@dataclass
class CampaignContext:
    session: Session
    missing_domains: list[str]


def _weights_sum_to_100(campaign: object, _ctx: CampaignContext) -> bool:
    sources = getattr(campaign, "sources", [])
    return bool(sources) and sum(s.weight for s in sources) == 100


def _standards_cover(campaign: object, ctx: CampaignContext) -> bool:
    return not ctx.missing_domains


def _has_deadlines(campaign: object, _ctx: CampaignContext) -> bool:
    return bool(getattr(campaign, "phases", []))


CAMPAIGN_SPEC = WorkflowSpec(
    name="campaign",
    label="分类定级工作",
    attribute="status",
    initial=CampaignStatus.DRAFT,
    states=(
        StateSpec(CampaignStatus.DRAFT, "草稿"),
        StateSpec(CampaignStatus.OPEN, "进行中"),
        StateSpec(CampaignStatus.CLOSED, "已结束"),
    ),
    transitions=(
        TransitionSpec(
            "open",
            CampaignStatus.DRAFT,
            CampaignStatus.OPEN,
            "启动",
            roles=(Role.ADMIN,),
            guards=(
                Guard(
                    "weights_sum_to_100",
                    "评价来源的权重之和必须为100",
                    "the rating sources' weights must sum to 100",
                    _weights_sum_to_100,
                ),
                Guard(
                    "standard_for_every_domain",
                    "范围内每个领域都必须指定评分标准",
                    "every 领域 present in the campaign's subtree needs a standard",
                    _standards_cover,
                ),
                Guard(
                    "deadlines_set",
                    "必须设置各阶段的截止日期",
                    "the phases' deadlines must be set",
                    _has_deadlines,
                ),
            ),
        ),
        TransitionSpec("close", CampaignStatus.OPEN, CampaignStatus.CLOSED, "结束", (Role.ADMIN,)),
    ),
)

CAMPAIGN_WORKFLOW = Workflow(CAMPAIGN_SPEC)
