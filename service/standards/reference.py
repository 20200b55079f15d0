"""The reference standard of the seed documents (分类定级参考标准): seven indicators summing to
100, weighted as a school branch's self-assessment weighs them (seed document 4). The demo
data and the tests build their standards from this one definition."""

from __future__ import annotations

from dataclasses import dataclass


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
