"""Problems in Chinese, as specific as in English (the people who run the service read Chinese).

An error raised with `detail_zh` says it itself; the rest are read here from the English detail
by the patterns the service raises them with (an organization not found, a role missing, fields
that do not validate…), and each field message of `errors` from marshmallow's messages and the
service's own. What no pattern knows keeps the problem type's Chinese meaning, with the English
detail beside it in `detail_en` — never a wrong translation."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from service.accounts.models import ROLE_LABELS, Role
from service.workflows.states import GRADING_STATE_LABELS

NOUNS = {
    "account": "账号",
    "approval": "审批",
    "ballot session": "测评场次",
    "campaign": "活动",
    "complaint": "意见",
    "decision meeting": "分类定级会议",
    "delivery": "推送",
    "grading": "评定",
    "grant": "授权",
    "grant request": "授权申请",
    "report submission": "上报记录",
    "inspection group": "检查组",
    "level scheme": "等次方案",
    "organization": "组织",
    "spot check": "抽查",
    "standard": "标准",
    "token": "令牌",
    "webhook subscription": "事件订阅",
    "witness": "见证方",
}

# What a role check protects, as `require(…, what)` names it.
ACTIONS = {
    "approving a rectification plan": "批准整改方案",
    "changing an inspection group": "修改检查组",
    "changing an organization": "修改组织",
    "creating a campaign": "创建活动",
    "creating an account": "创建账号",
    "creating an organization": "创建组织",
    "forming an inspection group": "组建检查组",
    "granting a role there": "在该组织授予角色",
    "importing under this organization": "在该组织下导入",
    "moving an organization there": "把组织移到该处",
    "pairing an organization": "结对帮扶",
    "planning rectification": "制定整改方案",
    "printing ballot codes": "打印测评票码",
    "reading a grant request": "查看授权申请",
    "recording a pairing activity": "记录结对活动",
    "recording an inspection group's acceptance": "记录检查组验收",
    "recording an inspection visit": "记录检查",
    "recording an opinion on a promotion": "记录晋位意见",
    "recording the attendance": "登记到会人数",
    "revoking a role there": "在该组织撤销角色",
    "subscribing to events": "订阅事件",
    "submitting a report": "上报报表",
}

# marshmallow's messages and the service's own, for a field.
MESSAGES = {
    "missing data for required field.": "必填",
    "unknown field.": "接口不认识这个字段",
    "field may not be null.": "不能为空（null）",
    "not a valid string.": "应为文本",
    "not a valid integer.": "应为整数",
    "not a valid number.": "应为数字",
    "not a valid boolean.": "应为 true 或 false",
    "not a valid date.": "应为日期（如 2027-01-04）",
    "not a valid datetime.": "应为时间（ISO 8601，如 2027-01-04T09:30:00+08:00）",
    "not a valid list.": "应为列表",
    "not a valid mapping type.": "应为对象",
    "invalid input type.": "类型不对",
    "not a valid email address.": "不是有效的电子邮箱地址",
    "not a valid url.": "不是有效的网址",
    "string does not match expected pattern.": "格式不对",
    "invalid value.": "取值无效",
    "special numeric values (nan or infinity) are not permitted.": "不能是 NaN 或无穷大",
    "not found": "没有找到",
    "is taken": "已被占用",
    "required": "必填",
    "unknown": "不认识这个值",
    "invalid cursor": "翻页游标无效，请从第一页重新开始",
    "unknown level": "不是该活动等次方案中的等次",
    "has more than two decimal places": "最多两位小数",
    "must be finite": "须是有限的数",
    "is not a number": "不是数字",
    "must be a number or a numeric string": "应为数字或数字字符串",
    "number too long": "数字过长",
    "required for this transition": "这一步须说明理由",
    "required for a resubmission": "重新上报须说明理由",
    "not a committee below the campaign's": "须是活动所属党委之下的党委",
    "required when rejecting": "驳回时须说明理由",
    "required for a correction": "更正时须说明理由",
    "required when the level differs from the computed one": "确定的等次与计算等次不同时须说明理由",
}

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _role(name: str) -> str:
    try:
        return ROLE_LABELS[Role(name)]
    except ValueError:
        return name


def _roles(text: str) -> str:
    return "、".join(_role(n.strip()) for n in text.split(",") if n.strip())


def _action(what: str) -> str:
    step = re.fullmatch(r"\w+ \((.+)\)", what)  # a transition: its name and Chinese label
    if step:
        return f"“{step[1]}”"
    return ACTIONS.get(what, f"此操作（{what}）")


FIELD_RULES: list[_Rule] = [
    (
        re.compile(r"^Shorter than minimum length (\d+)\.$"),
        lambda m: f"长度不能少于 {m[1]}",
    ),
    (
        re.compile(r"^Longer than maximum length (\d+)\.$"),
        lambda m: f"长度不能超过 {m[1]}",
    ),
    (
        re.compile(r"^Length must be between (\d+) and (\d+)\.$"),
        lambda m: f"长度须在 {m[1]} 到 {m[2]} 之间",
    ),
    (re.compile(r"^Length must be (\d+)\.$"), lambda m: f"长度须为 {m[1]}"),
    (
        re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
        lambda m: f"须在 {m[1]} 到 {m[2]} 之间",
    ),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), lambda m: f"不能小于 {m[1]}"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), lambda m: f"不能大于 {m[1]}"),
    (re.compile(r"^Must be one of: (.+)\.$"), lambda m: f"只能是以下之一：{m[1]}"),
]

DETAIL_RULES: list[_Rule] = [
    (
        re.compile(r"^invalid fields: (.+)$"),
        lambda m: f"以下字段不合要求：{'、'.join(m[1].split(', '))}（逐项见 errors）",
    ),
    (
        re.compile(r"^(.+?) (\d+) was not found$"),
        lambda m: (
            f"没有找到{NOUNS[m[1]]} {m[2]}（不存在，或不在您管理的范围内）" if m[1] in NOUNS else ""
        ),
    ),
    (
        re.compile(r"^(.+) needs one of the roles ([a-z, ]+) here; you hold (.+)$"),
        lambda m: (
            f"{_action(m[1])}需要在该组织持有以下角色之一：{_roles(m[2])}；"
            f"您在此持有：{'无' if m[3] == 'none' else _roles(m[3])}"
        ),
    ),
    (
        re.compile(r"^(.+) needs one of the roles ([a-z, ]+)$"),
        lambda m: f"{_action(m[1])}需要以下角色之一：{_roles(m[2])}",
    ),
    (
        re.compile(r"^(.+) needs a reason$"),
        lambda m: "这一步须说明理由（reason）",
    ),
    (
        re.compile(r"^.+ is entered while the grading is in (\w+); it is in (\w+)$"),
        lambda m: f"该项须在评定处于“{_stage(m[1])}”时录入，现在是“{_stage(m[2])}”",
    ),
]


def _stage(name: str) -> str:
    return GRADING_STATE_LABELS.get(name, name)


def _first(rules: list[_Rule], text: str) -> str | None:
    for pattern, build in rules:
        found = pattern.match(text)
        if found:
            return build(found) or None
    return None


def message(text: str) -> str:
    """One field message in Chinese (itself when no rule knows it)."""
    known = MESSAGES.get(text.strip().lower())
    return known or _first(FIELD_RULES, text.strip()) or text


def messages(errors: Any) -> Any:
    """`errors` with every message in Chinese, its shape kept (fields, rows, nested lists)."""
    if isinstance(errors, dict):
        return {key: messages(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [messages(item) for item in errors]
    if isinstance(errors, str):
        return message(errors)
    return errors


def detail(text: str) -> str | None:
    """The English detail in Chinese when a pattern the service raises it with matches."""
    return _first(DETAIL_RULES, text)
