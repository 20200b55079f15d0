"""How the seed documents classify what a survey finds and what rectification does: problems by
category (作风建设类、党建工作类…), the tasks (抓书记、强班子…), the five things a survey asks
(设置是否合理、班子是否健全…), and each item's term (近期 / 中长期) and urgency. A campaign may
name its own categories and tasks (decision_config.problem_categories, .rectification_tasks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from service.errors import ValidationFailed

# the categories the seeds' 调查摸底 summary counts its problems by
SEED_CATEGORIES = (
    "作风建设类",
    "党建工作类",
    "农业工作类",
    "基础设施建设类",
    "新农村建设类",
    "人口和计划生育类",
    "教育类",
    "社会管理类",
)
# 抓书记、强班子, 抓发展、明思路, 抓覆盖、建组织, 抓规范、建制度, 抓载体、增活力, 抓保障、增投入
SEED_TASKS = (
    "抓书记、强班子",
    "抓发展、明思路",
    "抓覆盖、建组织",
    "抓规范、建制度",
    "抓载体、增活力",
    "抓保障、增投入",
)
# what the working group finds out about each organization (摸清底数、找准问题)
SURVEY_AREAS = {
    "setup": "设置是否合理",
    "leadership": "领导班子是否健全",
    "systems": "组织制度是否完善",
    "funding": "经费保障是否落实",
    "role": "作用发挥是否充分",
}
AREA_FINDINGS = {"yes": "是", "partly": "部分", "no": "否"}
TERMS = {"near": "近期", "long": "中长期"}
PRIORITIES = {"urgent": "紧迫", "normal": "一般"}


def categories(config: Any) -> tuple[str, ...]:
    named = (config or {}).get("problem_categories")
    return tuple(named) if named else SEED_CATEGORIES


def tasks(config: Any) -> tuple[str, ...]:
    named = (config or {}).get("rectification_tasks")
    return tuple(named) if named else SEED_TASKS


def require_known(field: str, given: Iterable[str], known: tuple[str, ...]) -> None:
    """Each of `given` is one of the campaign's `known` (categories, tasks), or 422 naming
    `field` and what may be chosen."""
    unknown = [value for value in dict.fromkeys(given) if value not in known]
    if unknown:
        raise ValidationFailed(
            f"{field}: not the campaign's: {', '.join(unknown)}",
            detail_zh=f"不是本活动的选项：{'、'.join(unknown)}（可选：{'、'.join(known)}）",
            errors={field: [f"one of: {', '.join(known)}"]},
        )
