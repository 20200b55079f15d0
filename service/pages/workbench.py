"""The workbench (工作台): pages for the people who do the grading — 组织部 staff, township
reviewers, branch secretaries, tellers, supervisors — on the same API and rules.

Signing in (a password, service/accounts/passwords.py) issues the person an API token for a
working day, kept in an HttpOnly, SameSite=Strict cookie; signing out revokes it. Every page
reads, and every form writes, by calling the API in-process with that token
(`Workbench.call`): the API authorizes, validates, audits and answers exactly as it answers a
portal, so the workbench has no authorization of its own to get wrong. A refusal is shown in
Chinese with the API's own words (and the same status).

Forms carry the CSRF token (Flask-WTF, as every page), the version the page was read at
(If-Match: a form left open while someone else moved the grading is refused, not applied) and
an Idempotency-Key drawn when the page was rendered (a double click writes once)."""

from __future__ import annotations

import functools
import io
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    request,
    url_for,
)
from werkzeug.wrappers import Response as WsgiResponse

from service import calendar
from service.accounts import operations as accounts
from service.accounts import passwords
from service.context import Actor
from service.errors import SignInLocked, SignInRefused
from service.evidence import operations as evidence
from service.pages.web import for_people, known_id, page, unit_of_work
from service.survey.classification import AREA_FINDINGS, SURVEY_AREAS, TERMS, categories
from service.survey.classification import tasks as tasks_of
from service.survey.operations import METHOD_LABELS
from service.workflows.states import GRADING_STATE_LABELS, GRADING_STATES, PHASE_OF_STATE

workbench = Blueprint("workbench", __name__, url_prefix="/w", template_folder="templates")
for_people(workbench)

COOKIE = "wb"
WORKING_DAY = timedelta(hours=10)
PAGE_ITEMS = 100  # gradings asked per API page when the 待办 is gathered
MAX_PAGES = 20  # … and at most this many pages (2,000 gradings a campaign)

PROPOSAL = "提出定级建议"
# The API's field names as the forms call them.
FIELD_LABELS = {
    "reason": "理由",
    "level": "等次",
    "proposed_level": "自我认定等次",
    "chaired_by": "主持人",
    "attendees": "参会人员",
    "minutes": "会议纪要",
    "held_on": "会议日期",
    "scores": "评分",
    "adjustments": "加减分",
    "categories": "计票",
    "problems": "问题",
    "problem_categories": "问题类别",
    "method": "方式",
    "date": "日期",
    "opinion": "意见",
    "met_on": "支委会日期",
    "explanation": "自评说明",
    "comment": "审批意见",
    "transition": "下一步",
}
# What each person fills in at each stage (the sheets), besides the transitions the lifecycle
# offers: state -> [(role, action, label)].
SHEETS: dict[str, list[tuple[str, str, str]]] = {
    "survey": [("reviewer", "survey", "录入调查摸底情况")],
    "self_rating": [("secretary", "self_rating", "填写自评表")],
    "evaluation": [
        ("teller", "tally", "录入测评计票结果"),
        ("secretary", "opinion", "录入支部分类定级意见"),
    ],
    "superior_review": [
        ("reviewer", "assessment", "录入上级评定（量化考核）"),
        ("reviewer", "proposal", PROPOSAL),
        ("reviewer", "meeting", "记录分类定级会议"),
    ],
}


@dataclass
class Answer:
    """What the API answered an in-process call."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        """The refusal in the API's words (Chinese where it has them)."""
        body = self.body if isinstance(self.body, dict) else {}
        return str(body.get("detail") or body.get("title") or f"请求未完成（{self.status}）")

    @property
    def errors(self) -> dict[str, Any]:
        body = self.body if isinstance(self.body, dict) else {}
        found = body.get("errors")
        return found if isinstance(found, dict) else {}


class SignedOut(Exception):
    """No live workbench session: the person is sent to the sign-in page."""


class Workbench:
    """One request's view of the API, as the signed-in person."""

    def __init__(self, token: str | None) -> None:
        if not token:
            raise SignedOut
        self.token = token
        self.last_raw = b""  # the last answer's body when it was not JSON (a file)
        self.last_headers: dict[str, str] = {}
        me = self.call("GET", "/me")
        if me.status == 401:
            raise SignedOut
        self.me: dict[str, Any] = me.body
        self.roles = {g["role"] for g in self.me["grants"]}

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
    ) -> Answer:
        """The API at /api/v1`path`, in this process, in a request of its own (its own
        application context: its own database session and request id)."""
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        sent = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "Accept-Language": "zh-CN",
            **(headers or {}),
        }
        with app.app_context():
            sending: dict[str, Any] = (
                {"data": files, "content_type": "multipart/form-data"}
                if files is not None
                else {"json": body}
            )
            answer = app.test_client().open(
                "/api/v1" + path,
                method=method,
                query_string=query,
                headers=sent,
                environ_base={"REMOTE_ADDR": request.remote_addr or "127.0.0.1"},
                **sending,
            )
            parsed = answer.get_json(silent=True)
            self.last_raw = answer.get_data() if parsed is None else b""
            self.last_headers = dict(answer.headers)
            answer.close()
            # a large upload was spooled to a temporary file: closed now, not when collected
            answer.request.environ["wsgi.input"].close()
        return Answer(answer.status_code, parsed)

    def get(self, path: str, **query: Any) -> Any:
        """A read the page needs: a refusal (a 404, a 422 for a filter the API does not take)
        is the page's answer, with the API's status and words."""
        answer = self.call("GET", path, query=query or None)
        if not answer.ok:
            raise Refused(answer)
        return answer.body

    def write(
        self, method: str, path: str, body: Any = None, *, files: dict[str, Any] | None = None
    ) -> Answer:
        """A form's write, under the Idempotency-Key drawn when the form was rendered."""
        return self.call(method, path, body, files=files, headers={"Idempotency-Key": _key()})

    def has(self, role: str) -> bool:
        """Whether to offer this role's forms (the API decides whether they are accepted)."""
        return role in self.roles


class Refused(Exception):
    """What the API refused a read of the page: shown as the API answered it."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.message)
        self.answer = answer


def _not_yours() -> Refused:
    """An address the workbench has no page for: 没有找到, as the API says 404."""
    return Refused(Answer(404, None))


def _session() -> Workbench:
    return Workbench(request.cookies.get(COOKIE))


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """A page for a signed-in person: the sign-in page otherwise (and back here after it)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            wb = _session()
        except SignedOut:
            target = url_for("workbench.sign_in", next=request.full_path.rstrip("?"))
            response = redirect(target, 303)
            response.delete_cookie(COOKIE, path="/w")
            return response
        try:
            return view(wb, *args, **kwargs)
        except Refused as refused:
            if refused.answer.status == 404:
                heading, text = "没有找到", "您要找的内容不存在，或不在您的工作范围内。"
            else:
                heading, text = "未能办理", refused.answer.message
            status = refused.answer.status
            return render("explain.html", wb, status, heading=heading, text=text, kind="refused")

    return wrapped


def render(template: str, wb: Workbench | None, status: int = 200, **context: Any) -> WsgiResponse:
    return page(template, status, private=True, wb=wb, **context)


# --- signing in and out ----------------------------------------------------------------------


def _safe_next(raw: str | None) -> str:
    """Where to go after signing in: a workbench address of ours, never another site."""
    if raw and (raw == "/w" or raw.startswith(("/w/", "/w?"))):
        return raw
    return url_for("workbench.tasks")


@workbench.get("/sign-in")
def sign_in() -> WsgiResponse:
    return render("wb_sign_in.html", None, next=_safe_next(request.args.get("next")))


@workbench.post("/sign-in")
def sign_in_post() -> WsgiResponse:
    username = _text("username")[:100]
    password = (request.form.get("password") or "")[: passwords.MAX_LENGTH + 1]
    target = _safe_next(request.form.get("next"))
    if not username or not password:
        return render(
            "wb_sign_in.html",
            None,
            422,
            next=target,
            username=username,
            error="请填写用户名和密码。",
        )
    with unit_of_work() as db:
        try:
            account = passwords.sign_in(db, username, password)
        except (SignInRefused, SignInLocked) as refused:
            db.commit()  # the failed attempt counts
            return render(
                "wb_sign_in.html",
                None,
                401,
                next=target,
                username=username,
                error=refused.detail_zh or refused.detail,
            )
        actor = Actor(account_id=account.id, username=account.username, role=None)
        _, token = accounts.issue_token(db, actor, account, name="工作台", lifetime=WORKING_DAY)
    response = redirect(target, 303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(WORKING_DAY.total_seconds()),
        path="/w",
        httponly=True,
        samesite="Strict",
        secure=request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response


@workbench.post("/sign-out")
def sign_out() -> WsgiResponse:
    response = redirect(url_for("workbench.sign_in"), 303)
    try:
        wb = _session()
    except SignedOut:
        response.delete_cookie(COOKIE, path="/w")
        return response
    wb.call(
        "POST",
        f"/accounts/{wb.me['account_id']}/tokens/{wb.me['token_id']}/revoke",
        {"reason": "退出工作台"},
    )
    response.delete_cookie(COOKIE, path="/w")
    return response


# --- 待办 ------------------------------------------------------------------------------------


@dataclass
class Task:
    grading_id: int
    organization: str
    campaign: str
    state: str
    state_label: str
    todo: list[str]
    due: date | None

    @property
    def overdue(self) -> bool:
        return self.due is not None and self.due < calendar.today()


def _workflow(wb: Workbench) -> dict[str, list[tuple[str, set[str]]]]:
    """Per state: the transitions out of it (label, roles), from the lifecycle the API serves."""
    out: dict[str, list[tuple[str, set[str]]]] = {}
    for t in wb.get("/workflows/grading")["transitions"]:
        if not t.get("automatic"):
            out.setdefault(t["source"], []).append((t["label"], set(t["roles"])))
    return out


def _todo(wb: Workbench, state: str, moves: dict[str, list[tuple[str, set[str]]]]) -> list[str]:
    sheets = [label for role, _, label in SHEETS.get(state, []) if wb.has(role)]
    if state == "rectification":
        sheets += [label for role, label in LEDGER_TASKS.items() if wb.has(role)]
    steps = [label for label, roles in moves.get(state, []) if any(wb.has(r) for r in roles)]
    return sheets + steps


def _gradings(wb: Workbench, campaign_id: int, query: dict[str, Any]) -> Iterable[Any]:
    cursor = None
    for _ in range(MAX_PAGES):
        asked = {**query, "limit": PAGE_ITEMS, **({"cursor": cursor} if cursor else {})}
        listed = wb.get(f"/campaigns/{campaign_id}/gradings", **asked)
        yield from listed["items"]
        cursor = listed.get("next_cursor")
        if not cursor:
            return


def _due(campaign: dict[str, Any], state: str) -> date | None:
    phase = PHASE_OF_STATE.get(state)
    for p in campaign.get("phases") or []:
        if p["phase"] == phase and p.get("due_on"):
            return date.fromisoformat(p["due_on"])
    return None


def gather(wb: Workbench, state: str | None, within: int | None) -> list[Task]:
    """What this person may do next, grading by grading, in every open campaign they see:
    overdue first, then by due date."""
    moves = _workflow(wb)
    query: dict[str, Any] = {}
    if state:
        query["state"] = state
    if within:
        query["within"] = within
    tasks: list[Task] = []
    for campaign in wb.get("/campaigns", status="open", limit=100)["items"]:
        for g in _gradings(wb, campaign["id"], query):
            todo = _todo(wb, g["state"], moves)
            if todo:
                tasks.append(
                    Task(
                        g["id"],
                        g["organization_name"],
                        campaign["name"],
                        g["state"],
                        g["state_label"],
                        todo,
                        _due(campaign, g["state"]),
                    )
                )
    if wb.has("reviewer") and state in (None, *COMPLAINT_STATES):
        for waiting in ("received", "investigating"):
            for c in wb.get("/complaints", state=waiting, limit=100)["items"]:
                tasks.append(
                    Task(
                        c["grading_id"],
                        f"公示期意见 #{c['id']}",
                        c["text"][:30],
                        "publicity",
                        COMPLAINT_LABELS[waiting],
                        ["受理调查" if waiting == "received" else "调查核实并答复"],
                        None,
                    )
                )
    far = date.max
    tasks.sort(key=lambda t: (not t.overdue, t.due or far, t.organization))
    return tasks


def pending_approvals(wb: Workbench) -> list[dict[str, Any]]:
    if not wb.has("supervisor"):
        return []
    return list(wb.get("/approvals", state="pending", limit=100)["items"])


def explained(wb: Workbench, approvals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each approval with what it changes — for a step, the stage now and the stage after
    (前后对照) — and whether this person may decide it (not their own request: 四眼原则)."""
    out = []
    for approval in approvals:
        item = dict(approval)
        item["own"] = approval["requested_by"] == wb.me["username"]
        answer = wb.call("GET", f"/gradings/{approval['grading_id']}")
        if answer.ok:
            grading = answer.body
            item["now"] = grading["state_label"]
            step = next(
                (t for t in grading["transitions"] if t["name"] == approval["subject"]), None
            )
            item["after"] = step["dest_label"] if step else None
        out.append(item)
    return out


@workbench.get("/")
@signed_in
def tasks(wb: Workbench) -> WsgiResponse:
    state = request.args.get("state") or None
    within = request.args.get("within")
    within_id = known_id(within, "organization") if within else None
    found = gather(wb, state, within_id)
    states = {t.state: t.state_label for t in found}
    return render(
        "wb_tasks.html",
        wb,
        heading="我的待办",
        tasks=found,
        state=state,
        states=states,
        approvals=pending_approvals(wb),
    )


# --- progress at a glance ----------------------------------------------------------------------

# One colour per stage, in the lifecycle's order (each on white at least 3:1; the numbers are
# in the table beside the chart, which is only a picture of them).
PALETTE = (
    "#1b5e9e",
    "#2e7d32",
    "#8e24aa",
    "#c62828",
    "#ef6c00",
    "#00838f",
    "#6d4c41",
    "#37474f",
    "#ad1457",
    "#558b2f",
    "#4527a0",
    "#795548",
    "#00695c",
    "#5d4037",
    "#283593",
)
LEVEL_PALETTE = ("#2e7d32", "#1b5e9e", "#ef6c00", "#c62828", "#6d4c41", "#37474f")
BAR_WIDTH = 600  # the chart's width in its own units (it scales to the page)


@dataclass
class Bar:
    name: str
    total: int
    segments: list[tuple[str, int, float, float, str]]  # label, count, x, width, colour


def bars(
    rows: list[tuple[str, dict[str, int]]], order: list[tuple[str, str]], colours: tuple[str, ...]
) -> list[Bar]:
    """Stacked bars, one per row, each segment a share of the row's total."""
    out = []
    for name, counts in rows:
        total = sum(counts.values())
        x = 0.0
        segments = []
        for n, (code, label) in enumerate(order):
            count = counts.get(code, 0)
            if count:
                width = BAR_WIDTH * count / total
                segments.append((label, count, x, width, colours[n % len(colours)]))
                x += width
        out.append(Bar(name, total, segments))
    return out


@workbench.get("/progress")
@signed_in
def progress(wb: Workbench) -> WsgiResponse:
    """Per campaign and township: how many gradings at each stage, the levels standing (those
    under 公示 counted), what is overdue, the quota headroom — tables and SVG bars, printable."""
    campaigns = wb.get("/campaigns", status="open", limit=100)["items"]
    asked = request.args.get("campaign")
    chosen = next(
        (c for c in campaigns if str(c["id"]) == asked), campaigns[0] if campaigns else None
    )
    if chosen is None:
        return render("wb_progress.html", wb, heading="工作进度", campaigns=[], chosen=None)
    cid = chosen["id"]
    report = wb.get(f"/campaigns/{cid}/reports/progress")
    summary = wb.get(f"/campaigns/{cid}/reports/summary", provisional="true")
    quotas = wb.get(f"/campaigns/{cid}/quotas")["items"]
    present = {st for unit in report["gradings_by_unit"] for st in unit["states"]}
    stages = [(st.name, st.label) for st in GRADING_STATES if st.name in present]
    by_stage = [(u["unit"], u["states"]) for u in report["gradings_by_unit"]]
    levels = [(lv["code"], lv["label"]) for lv in summary["levels"]]
    level_rows = [
        (row["name"], {code: row["levels"].get(code, {}).get("count", 0) for code, _ in levels})
        for row in summary["rows"]
    ]
    return render(
        "wb_progress.html",
        wb,
        heading="工作进度",
        campaigns=campaigns,
        chosen=chosen,
        report=report,
        stages=stages,
        stage_colours=PALETTE,
        level_colours=LEVEL_PALETTE,
        stage_bars=bars(by_stage, stages, PALETTE),
        levels=levels,
        level_rows=level_rows,
        level_bars=bars([r for r in level_rows if sum(r[1].values())], levels, LEVEL_PALETTE),
        quotas=quotas,
        level_labels=dict(levels),
        state_labels=GRADING_STATE_LABELS,
        width=BAR_WIDTH,
    )


# --- approvals ---------------------------------------------------------------------------------


@workbench.get("/approvals")
@signed_in
def approvals(wb: Workbench) -> WsgiResponse:
    return render(
        "wb_approvals.html", wb, heading="审批", approvals=explained(wb, pending_approvals(wb))
    )


@workbench.post("/approvals/<int:approval_id>/<any(approve, reject):verdict>")
@signed_in
def decide_approval(wb: Workbench, approval_id: int, verdict: str) -> WsgiResponse:
    comment = _text("comment") or None
    answer = wb.write(
        "POST", f"/approvals/{approval_id}/{verdict}", {"comment": comment} if comment else {}
    )
    if answer.ok:
        done = "已批准" if verdict == "approve" else "已驳回"
        return redirect(url_for("workbench.approvals", done=done), 303)
    return render(
        "wb_approvals.html",
        wb,
        answer.status,
        heading="审批",
        approvals=explained(wb, pending_approvals(wb)),
        refused=answer.message,
        refused_errors=answer.errors,
    )


# --- one grading -------------------------------------------------------------------------------


def _key() -> str:
    """The Idempotency-Key of this submission: drawn when the form was rendered."""
    sent = request.form.get("idempotency_key") or ""
    return sent if 16 <= len(sent) <= 64 and sent.isalnum() else secrets.token_hex(16)


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _with_reason(body: dict[str, Any]) -> dict[str, Any]:
    """The body with the form's reason, when one was typed (a correction's, a step's)."""
    return {**body, "reason": _text("reason")} if _text("reason") else body


def _lines(name: str) -> list[str]:
    return [line.strip() for line in (request.form.get(name) or "").splitlines() if line.strip()]


def _int(name: str) -> int | str:
    raw = (request.form.get(name) or "").strip()
    return int(raw) if raw.isdigit() else raw


def _scores(standard: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """A score sheet from the form: one score per indicator, or one per sub-item."""
    scores = []
    for indicator in standard["indicators"]:
        code = indicator["code"]
        entry: dict[str, Any] = {"indicator": code}
        evidence = (request.form.get(f"{prefix}.{code}.evidence") or "").strip()
        if evidence:
            entry["evidence"] = evidence
        if indicator.get("sub_items"):
            entry["sub_items"] = [
                {
                    "code": sub["code"],
                    "score": (request.form.get(f"{prefix}.{code}.{sub['code']}") or "").strip(),
                }
                for sub in indicator["sub_items"]
            ]
        else:
            entry["score"] = (request.form.get(f"{prefix}.{code}") or "").strip()
        scores.append(entry)
    return scores


def _adjustments(standard: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    given = []
    for item in standard.get("adjustments") or []:
        points = (request.form.get(f"{prefix}.adjustment.{item['code']}") or "").strip()
        if points and points not in ("0", "0.0", "0.00"):
            given.append({"code": item["code"], "points": points})
    return given


@dataclass
class Context:
    grading: dict[str, Any]
    organization: dict[str, Any]
    campaign: dict[str, Any]
    levels: list[dict[str, Any]]


def _context(wb: Workbench, grading_id: int) -> Context:
    grading = wb.get(f"/gradings/{grading_id}")
    organization = wb.get(f"/organizations/{grading['organization_id']}")
    campaign = wb.get(f"/campaigns/{grading['campaign_id']}")
    scheme = wb.get(f"/level-schemes/{campaign['level_scheme_id']}")
    return Context(grading, organization, campaign, scheme["levels"])


def _body(wb: Workbench, ctx: Context, action: str) -> tuple[str, str, Any]:
    """The API call an action's form stands for: method, path, body."""
    gid = ctx.grading["id"]
    today = calendar.today().isoformat()
    if action == "survey":
        problems = _lines("problems")
        category = request.form.get("category") or ""
        areas = {
            area: {"finding": request.form.get(f"area.{area}")}
            for area in SURVEY_AREAS
            if request.form.get(f"area.{area}")
        }
        body: dict[str, Any] = {
            "method": request.form.get("method") or "",
            "date": request.form.get("date") or today,
            "problems": problems,
            "problem_categories": [category] * len(problems) if category else [],
            "suggestions": _lines("suggestions"),
            "areas": areas,
        }
        return "POST", f"/gradings/{gid}/survey-entries", body
    if action in ("self_rating", "assessment"):
        standard = wb.get(f"/standards/{ctx.grading['standard_id']}")
        body = {
            "scores": _scores(standard, action),
            "adjustments": _adjustments(standard, action),
        }
        if action == "self_rating":
            body["proposed_level"] = request.form.get("proposed_level") or ""
            body["explanation"] = _text("explanation")
        else:
            body["note"] = _text("note") or None
        path = "self-rating" if action == "self_rating" else "assessment"
        return "PUT", f"/gradings/{gid}/{path}", _with_reason(body)
    if action == "tally":
        cats = []
        for code in _text("categories").split(","):
            if not code:
                continue
            cats.append(
                {
                    "code": code,
                    **{
                        k: _int(f"{code}.{k}") for k in ("present", "issued", "returned", "invalid")
                    },
                    "distribution": {
                        lv["code"]: _int(f"{code}.{lv['code']}")
                        for lv in ctx.levels
                        if (request.form.get(f"{code}.{lv['code']}") or "").strip()
                    },
                }
            )
        return "POST", f"/gradings/{gid}/paper-tallies", {"categories": cats}
    if action == "opinion":
        body = {
            "level": request.form.get("level") or "",
            "opinion": _text("opinion"),
            "met_on": request.form.get("met_on") or today,
        }
        return "PUT", f"/gradings/{gid}/branch-opinion", body
    if action == "proposal":
        return "PUT", f"/gradings/{gid}/decision", _with_reason({"level": _text("level")})
    if action == "meeting":
        body = {
            "organization_id": ctx.organization["parent_id"],
            "held_on": request.form.get("held_on") or today,
            "chaired_by": _text("chaired_by"),
            "attendees": _lines("attendees"),
            "minutes": _text("minutes"),
            "results": [{"grading_id": gid, "level": request.form.get("level") or ""}],
        }
        return "POST", f"/campaigns/{ctx.campaign['id']}/decision-meetings", body
    # a transition of the lifecycle
    return "POST", f"/gradings/{gid}/transitions", _with_reason({"transition": _text("transition")})


ACTIONS = (
    "survey",
    "self_rating",
    "assessment",
    "tally",
    "opinion",
    "proposal",
    "meeting",
    "transition",
)


def _grading_page(wb: Workbench, ctx: Context, status: int = 200, **extra: Any) -> WsgiResponse:
    gid = ctx.grading["id"]
    state = ctx.grading["state"]
    sheets = [(action, label) for role, action, label in SHEETS.get(state, []) if wb.has(role)]
    standard = (
        wb.get(f"/standards/{ctx.grading['standard_id']}")
        if any(a in ("self_rating", "assessment") for a, _ in sheets)
        else None
    )
    history = wb.get(f"/gradings/{gid}/history", limit=50)
    saved, versions = _saved(wb, gid, [a for a, _ in sheets])
    form = extra.pop("form", None)
    attachable = [
        (kind, label)
        for kind, (stages, roles, label) in evidence.TARGETS.items()
        if kind in ("self_rating", "assessment")
        and state in stages
        and any(wb.has(r) for r in roles)
    ]
    files = wb.get(f"/gradings/{gid}/evidence-files")["items"]
    ledger = wb.get(f"/gradings/{gid}/rectification") if state in LEDGER_STATES else None
    meetings = (
        wb.get("/ballot-sessions", grading_id=gid, limit=100)["items"]
        if state in MEETING_STATES
        else []
    )
    promotion = wb.get(f"/gradings/{gid}/promotion") if state == "promotion" else None
    if ledger is not None and state == "rectification" and wb.has("secretary"):
        attachable += [
            (f"rectification_item:{item['key']}", f"整改事项 {item['key']}")
            for item in ledger["items"]
            if item["status"] in ("in_progress", "submitted")
        ]
    complaints = (
        wb.get("/complaints", grading_id=gid, limit=100)["items"]
        if state in COMPLAINT_STATES
        else []
    )
    quotas = (
        _quotas(wb, ctx) if any(t["name"] == "decide" for t in ctx.grading["transitions"]) else []
    )
    score = wb.call("GET", f"/gradings/{gid}/score") if ("proposal", PROPOSAL) in sheets else None
    return render(
        "wb_grading.html",
        wb,
        status,
        heading=ctx.organization["name"],
        ctx=ctx,
        sheets=sheets,
        standard=standard,
        history=history["items"],
        methods=METHOD_LABELS,
        areas=SURVEY_AREAS,
        findings=AREA_FINDINGS,
        categories=categories(ctx.campaign.get("decision_config")),
        ballot_categories=_ballot_categories(ctx.campaign),
        key=secrets.token_hex(16),
        score=score.body if score is not None and score.ok else None,
        field_labels=FIELD_LABELS,
        quotas=quotas,
        level_labels={lv["code"]: lv["label"] for lv in ctx.levels},
        attachable=attachable,
        complaints=complaints,
        ledger=ledger,
        meetings=meetings,
        meeting_states=MEETING_STATES,
        promotion=promotion,
        opinion_bodies=(ctx.campaign.get("decision_config") or {}).get("promotion_opinions") or [],
        meeting_labels=MEETING_LABELS,
        item_labels=ITEM_LABELS,
        terms=TERMS,
        tasks_of_campaign=tasks_of(ctx.campaign.get("decision_config")),
        complaint_labels=COMPLAINT_LABELS,
        form=form if form is not None else saved,
        versions=versions,
        files=files,
        evidence_limit_mb=current_app.extensions["grading.settings"].evidence_max_bytes
        // 1_048_576,
        today=calendar.today().isoformat(),
        **extra,
    )


def _quotas(wb: Workbench, ctx: Context) -> list[dict[str, Any]]:
    """The quota rules that bind this decision — the campaign's and its committee's — with the
    headroom left, shown before the reviewer asks to decide."""
    units = {ctx.campaign["organization_id"], ctx.organization["parent_id"]}
    listed = wb.get(f"/campaigns/{ctx.campaign['id']}/quotas")["items"]
    return [q for q in listed if q["unit_id"] in units]


# the stages whose page shows the rectification ledger (整改台账), and what each role does there
LEDGER_STATES = ("rectification", "re_review")
LEDGER_TASKS = {
    "secretary": "整改事项：制定、逐项整改并提交",
    "reviewer": "整改事项：确定帮扶人员、验收销号",
    "supervisor": "审批整改方案",
}
ITEM_LABELS = {"open": "未开始", "in_progress": "整改中", "submitted": "待验收", "closed": "已销号"}

# 测评会 at the workbench: the branch's in evaluation, the 群众满意度测评会 before promotion
MEETING_STATES = ("evaluation", "promotion")
MEETING_LABELS = {
    "open": "投票中",
    "closed": "已截止，待计票",
    "counted": "已计票",
    "void": "已作废",
}

# the stages whose page shows the complaints filed against the level (公示期意见)
COMPLAINT_STATES = ("publicity", "complaint_review")
COMPLAINT_LABELS = {"received": "待受理", "investigating": "调查核实中", "answered": "已答复"}

SAVED = {
    "self_rating": "self-rating",
    "assessment": "assessment",
    "opinion": "branch-opinion",
    "proposal": "decision",
}


def _saved(wb: Workbench, gid: int, actions: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """What the sheets of this stage hold already: the form's values from each latest version
    (a correction starts from what was saved), and per sheet its version, who and when."""
    values: dict[str, str] = {}
    versions: dict[str, Any] = {}
    for action in actions:
        if action not in SAVED:
            continue
        answer = wb.call("GET", f"/gradings/{gid}/{SAVED[action]}")
        if not answer.ok:
            continue
        kept = answer.body
        versions[action] = kept
        for entry in kept.get("scores") or []:
            code = entry["indicator"]
            for sub in entry.get("sub_items") or []:
                values[f"{action}.{code}.{sub['code']}"] = str(sub["score"])
            if entry.get("score") is not None:
                values[f"{action}.{code}"] = str(entry["score"])
            if entry.get("evidence"):
                values[f"{action}.{code}.evidence"] = entry["evidence"]
        for item in kept.get("adjustments") or []:
            values[f"{action}.adjustment.{item['code']}"] = str(item["points"])
        for field in ("proposed_level", "explanation", "note", "level", "opinion", "met_on"):
            if kept.get(field):
                values[field] = str(kept[field])
    return values, versions


def _ballot_categories(campaign: dict[str, Any]) -> list[tuple[str, str]]:
    config = campaign.get("ballot_config") or {}
    named = config.get("categories") if isinstance(config, dict) else None
    if named:
        return [(c["code"], c.get("label") or c["code"]) for c in named]
    return [("members", "党员"), ("public_reps", "群众代表")]


@workbench.get("/gradings/<int:grading_id>")
@signed_in
def grading(wb: Workbench, grading_id: int) -> WsgiResponse:
    return _grading_page(wb, _context(wb, grading_id), done=request.args.get("done"))


@workbench.post("/gradings/<int:grading_id>/evidence")
@signed_in
def attach_evidence(wb: Workbench, grading_id: int) -> WsgiResponse:
    """A file for the sheet of this stage (佐证材料): sent on to the API as it came."""
    upload = request.files.get("file")
    parts: dict[str, Any] = {
        "attached_to": request.form.get("attached_to") or "",
        "description": _text("description")[:1000],
    }
    if upload is not None and upload.filename:
        parts["file"] = (io.BytesIO(upload.read()), upload.filename)
        upload.close()
    answer = wb.write("POST", f"/gradings/{grading_id}/evidence-files", files=parts)
    return _answered(wb, grading_id, answer, "已上传", "evidence")


@workbench.post(
    "/gradings/<int:grading_id>/complaints/<int:complaint_id>/<any(assign, answer):verb>"
)
@signed_in
def handle_complaint(wb: Workbench, grading_id: int, complaint_id: int, verb: str) -> WsgiResponse:
    """A reviewer takes up a complaint (受理调查) or answers it: findings, the reply the filer
    reads, upheld or not (an upheld one asks a supervisor to send the level back)."""
    body: dict[str, Any] = {}
    if verb == "answer":
        body = {
            "findings": _text("findings"),
            "reply": _text("reply"),
            "upheld": request.form.get("upheld") == "yes",
        }
    answer = wb.write("POST", f"/complaints/{complaint_id}/{verb}", body)
    return _answered(wb, grading_id, answer, "已受理" if verb == "assign" else "已答复", verb)


@workbench.post("/gradings/<int:grading_id>/rectification/<any(item, helpers, approve):what>")
@signed_in
def plan_rectification(wb: Workbench, grading_id: int, what: str) -> WsgiResponse:
    """The rectification plan: an item (the secretary), the helpers (the reviewer), the
    supervisor's approval."""
    base = f"/gradings/{grading_id}/rectification"
    form = request.form
    if what == "item":
        body: dict[str, Any] = {
            k: (form.get(k) or "").strip()
            for k in ("problem", "cause", "measure", "target", "deadline", "responsible")
        }
        for optional in ("category", "task", "term", "priority"):
            if form.get(optional):
                body[optional] = form[optional]
        method, path, done = "POST", f"{base}/items", "已加入整改事项"
    elif what == "helpers":
        body = {
            k: (form.get(k) or "").strip() or None
            for k in ("paired_leader", "liaison", "first_secretary")
        }
        method, path, done = "PUT", f"{base}/helpers", "已确定帮扶人员"
    else:
        body, method, path, done = {}, "POST", f"{base}/plan/approve", "已批准整改方案"
    answer = wb.write(method, path, body)
    return _answered(wb, grading_id, answer, done, f"rectification-{what}")


@workbench.post("/gradings/<int:grading_id>/items/<key>/<any(start, submit, close, return):verb>")
@signed_in
def item_step(wb: Workbench, grading_id: int, key: str, verb: str) -> WsgiResponse:
    """An item's step: started and submitted with its evidence (the secretary), closed (销号)
    or returned with a reason (the reviewer)."""
    if not re.fullmatch(r"I\d{1,4}", key):
        raise _not_yours()
    body: dict[str, Any] = {"evidence": _text("evidence")} if verb == "submit" else {}
    if verb == "return":
        body = _with_reason(body)
    answer = wb.write("POST", f"/gradings/{grading_id}/rectification/items/{key}/{verb}", body)
    return _answered(wb, grading_id, answer, "已办理", f"item-{verb}")


@workbench.post("/gradings/<int:grading_id>/meetings")
@signed_in
def open_meeting(wb: Workbench, grading_id: int) -> WsgiResponse:
    """The teller opens an electronic 测评会 for this organization: its title and how many
    codes each category gets (the roll caps them; the API says so)."""
    grading = wb.get(f"/gradings/{grading_id}")
    categories = [
        {"code": code, "issued": _int(f"meeting.{code}.issued")}
        for code in _text("categories").split(",")
        if code
    ]
    body = {
        "campaign_id": grading["campaign_id"],
        "title": _text("title"),
        "grading_ids": [grading_id],
        "categories": categories,
    }
    answer = wb.write("POST", "/ballot-sessions", body)
    return _answered(wb, grading_id, answer, "测评会已开始，可打印票码", "meeting-open")


@workbench.post(
    "/gradings/<int:grading_id>/meetings/<int:session_id>/<any(close, attendance, count):verb>"
)
@signed_in
def run_meeting(wb: Workbench, grading_id: int, session_id: int, verb: str) -> WsgiResponse:
    """Close the 测评会's voting, record who came (实到), count the sealed box."""
    body: dict[str, Any] = {}
    if verb == "attendance":
        body["categories"] = [
            {"code": code, "present": _int(f"present.{code}")}
            for code in _text("categories").split(",")
            if code
        ]
    answer = wb.write("POST", f"/ballot-sessions/{session_id}/{verb}", body)
    done = {"close": "投票已截止", "attendance": "已记录实到人数", "count": "已计票"}[verb]
    return _answered(wb, grading_id, answer, done, f"meeting-{verb}")


@workbench.post(
    "/gradings/<int:grading_id>/promotion/<any(report, opinion, acceptance, decision):what>"
)
@signed_in
def promotion_step(wb: Workbench, grading_id: int, what: str) -> WsgiResponse:
    """晋位升级: the secretary's 专项述职, a named body's written opinion (the reviewer), the
    inspection group's acceptance (检查验收), and the committee's decision."""
    form = request.form
    base = f"/gradings/{grading_id}"
    today = calendar.today().isoformat()
    body: dict[str, Any]
    if what == "report":
        method, path = "PUT", f"{base}/promotion/report"
        body = {"text": (form.get("text") or "").strip()}
    elif what == "opinion":
        code = form.get("body") or ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", code):
            raise _not_yours()
        method, path = "PUT", f"{base}/promotion/opinions/{code}"
        body = {
            "favourable": form.get("favourable") == "yes",
            "text": (form.get("text") or "").strip(),
            "given_on": form.get("given_on") or today,
            "given_by": (form.get("given_by") or "").strip(),
        }
    elif what == "acceptance":
        method, path = "PUT", f"{base}/inspection/acceptances/promotion"
        body = {
            "conclusion": form.get("conclusion") or "",
            "findings": (form.get("findings") or "").strip(),
            "accepted_on": form.get("accepted_on") or today,
        }
    else:
        method, path = "POST", f"{base}/promotion"
        body = {"level": form.get("level") or "", "reason": _text("reason")}
    answer = wb.write(method, path, _with_reason(body))
    return _answered(wb, grading_id, answer, "已保存", f"promotion-{what}")


def _file_from_api(wb: Workbench, path: str, query: dict[str, Any] | None = None) -> WsgiResponse:
    """A file the API serves this person (a PDF, an evidence file), passed on with its type
    and name — or the API's refusal as a page (a 404 as the page's own)."""
    answer = wb.call("GET", path, query=query)
    if not answer.ok:
        raise Refused(answer)
    kept = {
        k: v
        for k, v in wb.last_headers.items()
        if k in ("Content-Type", "Content-Disposition", "Digest", "Content-Security-Policy")
    }
    return WsgiResponse(
        wb.last_raw,
        headers={**kept, "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@workbench.get("/gradings/<int:grading_id>/meetings/<int:session_id>/cards.pdf")
@signed_in
def meeting_cards(wb: Workbench, grading_id: int, session_id: int) -> WsgiResponse:
    """The 测评会's codes as the A4 card sheets the teller prints (the API's PDF)."""
    return _file_from_api(wb, f"/ballot-sessions/{session_id}/codes", {"format": "pdf"})


@workbench.get("/gradings/<int:grading_id>/evidence/<int:file_id>")
@signed_in
def evidence_file(wb: Workbench, grading_id: int, file_id: int) -> WsgiResponse:
    """An evidence file, as the API serves it to this person (within their scope only)."""
    return _file_from_api(wb, f"/gradings/{grading_id}/evidence-files/{file_id}")


@workbench.post("/gradings/<int:grading_id>/<action>")
@signed_in
def act(wb: Workbench, grading_id: int, action: str) -> WsgiResponse:
    if action not in ACTIONS:
        raise _not_yours()
    ctx = _context(wb, grading_id)
    method, path, body = _body(wb, ctx, action)
    headers = {"Idempotency-Key": _key()}
    version = request.form.get("version") or ""
    if action == "transition" and version.isdigit():
        headers["If-Match"] = f'"{version}"'
    answer = wb.call(method, path, body, headers=headers)
    return _answered(
        wb, grading_id, answer, "已提交审批" if answer.status == 202 else "已保存", action
    )


def _answered(
    wb: Workbench, grading_id: int, answer: Answer, done: str, action: str
) -> WsgiResponse:
    """Done: back to the grading's page, saying so (303, so a reload does not send it again).
    Refused: the page again with the API's refusal and what was typed."""
    if answer.ok:
        return redirect(url_for("workbench.grading", grading_id=grading_id, done=done), 303)
    return _grading_page(
        wb,
        _context(wb, grading_id),
        answer.status,
        refused=answer.message,
        refused_errors=answer.errors,
        form=request.form,
        failed=action,
    )


UPLOAD = re.compile(r"^/w/gradings/\d+/evidence$")


def room_for_uploads(app: Flask) -> None:
    """An evidence file's form may be as large as the evidence limit, not the API's body limit:
    raised before anything reads the form (the CSRF check does) — so installed before it."""

    @app.before_request
    def _room() -> None:
        if request.method == "POST" and UPLOAD.match(request.path):
            limit = app.extensions["grading.settings"].evidence_max_bytes
            request.max_content_length = limit + 65_536


def install(app: Flask) -> None:
    app.register_blueprint(workbench)
    app.jinja_env.globals["fresh_key"] = lambda: secrets.token_hex(16)
