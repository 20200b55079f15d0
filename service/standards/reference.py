"""The reference standards of the seed documents (分类定级参考标准).

SEVEN_INDICATORS: the seven indicators summing to 100, weighted as a school branch's
self-assessment weighs them (seed document 4) — the tests build their standards from it.

reference_standard(domain): each 领域's reference standard (附件1: 各领域基层党组织分类定级参考标
准), shipped as data in reference_standards.json — the same seven indicators, 工作业绩 refined
for the 领域 and the points weighted for it ("可结合各领域各行业基层党组织的特点，对七项指标进一步
细化分解"). A county publishes them as they are (`python -m service standards reference`) or
its own versions; the demo uses them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE_FILE = Path(__file__).with_name("reference_standards.json")


@dataclass(frozen=True)
class ReferenceIndicator:
    code: str
    name: str
    max_points: int
    description: str


SEVEN_INDICATORS: tuple[ReferenceIndicator, ...] = (
    ReferenceIndicator(
        "leader", "党组织带头人", 15, "书记及班子成员的政治素质、履职能力、群众公认度"
    ),
    ReferenceIndicator("work_plan", "工作思路", 10, "发展思路清晰，年度工作计划具体可行"),
    ReferenceIndicator("rules", "工作制度", 10, "三会一课、民主评议党员等制度健全并落实"),
    ReferenceIndicator("venue", "活动阵地", 10, "有固定活动场所，设施齐全，使用正常"),
    ReferenceIndicator("resources", "保障机制", 10, "经费、报酬、培训等保障落实"),
    ReferenceIndicator("performance", "工作业绩", 20, "完成中心任务、服务群众、推动发展的实绩"),
    ReferenceIndicator("public_opinion", "群众评价", 25, "党员群众测评满意度"),
)


@cache
def _shipped() -> dict[str, Any]:
    shipped: dict[str, Any] = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))["standards"]
    return shipped


def reference_domains() -> list[str]:
    """The 领域 with a shipped reference standard."""
    return list(_shipped())


def reference_standard(domain: str) -> dict[str, Any]:
    """The 领域's reference standard as `standards.create_standard` takes it (points as
    Decimals); KeyError for a 领域 without one."""

    def points(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: Decimal(str(v)) if k in _POINTS and v is not None else points(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [points(v) for v in value]
        return value

    return {"domain": domain, **points(_shipped()[domain])}


_POINTS = ("max_points", "total_points", "bonus_cap", "deduction_cap")
