"""What every page shares: the blueprint, the unit of work, Chinese explanations instead of
problem+json, security headers and protection against cross-site request forgery."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from service.api.blueprint import api
from service.api.problems import RETRY_AFTER_SECONDS, http_problem, problem, unavailable
from service.api.routing import session as request_session
from service.api.schemas.common import MAX_ID
from service.config import Settings
from service.errors import (
    BallotBoxLocked,
    BallotSessionWrongState,
    CodeRejected,
    DatabaseUnavailable,
    DomainError,
    NotFound,
    NotInPublicity,
    TooManyRequests,
    ValidationFailed,
)

log = logging.getLogger(__name__)

web = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)

# Paths whose visitors are people with a browser: errors there are pages, never JSON.
PEOPLE_PATHS = ("/b", "/notice", "/complaints", "/plans", "/assets", "/docs", "/w")

# No script but our own files, no inline script, nothing from another site; forms post only
# here; no framing. The API reference's viewer sets inline styles (style attributes), so its
# page alone allows them.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
CSP_DOCS = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

csrf = CSRFProtect()


def settings() -> Settings:
    settings: Settings = current_app.extensions["grading.settings"]
    return settings


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The request's database session: committed once at the end, rolled back on any error."""
    db = request_session()
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise


def page(template: str, status: int = 200, *, private: bool = False, **context: Any) -> Response:
    """A rendered page. `private` pages (a ballot, a receipt, a tracking code) are never cached
    by the browser or anything between."""
    response = Response(render_template(template, **context), status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store" if private else "no-cache"
    return response


def known_id(raw: str | int, what: str) -> int:
    """An id from an address or a form, as the API takes ids: digits, at most MAX_ID (a larger
    number is no resource of ours, not a database error)."""
    text = str(raw)
    if not text.isdigit() or int(text) > MAX_ID:
        raise NotFound(f"no {what} {text[:20]!r}")
    return int(text)


def cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def points(value: object) -> str:
    """A maximum as people write it: 15, 7.5."""
    return format(Decimal(str(value)).normalize(), "f")


# What a refusal means to the person who met it, by problem type (and reason, for codes).
EXPLANATIONS: dict[str, tuple[str, str]] = {
    f"{CodeRejected.type}:unknown": (
        "没有这个票码",
        "请核对票码是否输入正确（10位字母和数字，不区分大小写）。如果是扫码打开的，请向计票人员询问。",
    ),
    f"{CodeRejected.type}:used": (
        "这个票码已经投过票",
        "每个票码只能投一次。如果您刚刚提交过，您的票已经投入票箱，不需要再投。"
        "如果您没有投过，请向计票人员反映。",
    ),
    f"{CodeRejected.type}:closed": (
        "本次测评已经结束",
        "投票已截止，不能再投。计票后可以凭回执核对您的票是否计入。",
    ),
    f"{CodeRejected.type}:stage_over": (
        "本次测评已经结束",
        "被测评的党组织已经进入下一个环节，不能再投票。如有疑问，请向组织部门反映。",
    ),
    TooManyRequests.type: (
        "操作太频繁，请稍后再试",
        "为防止有人反复试探，同一网络在短时间内的请求次数有限制。",
    ),
    NotFound.type: ("没有找到", "您要找的内容不存在，请核对链接或号码。"),
    NotInPublicity.type: (
        "该组织目前不在公示期",
        "只有在公示期内才能对定级结果提出意见。请查看公示页面上的公示时间。",
    ),
    BallotSessionWrongState.type: (
        "还不能核对回执",
        "本次测评还没有计票。计票结束后，再用回执核对。",
    ),
    BallotBoxLocked.type: (
        "这次测评的票箱暂时无法打开",
        "请联系组织部门，这不影响您已经投出的票。",
    ),
    ValidationFailed.type: ("填写的内容有问题", "请返回检查后重新提交。"),
}
FALLBACK = ("出了点问题", "请稍后再试。如果一直这样，请联系组织部门。")


def explain(exc: DomainError) -> Response:
    key = exc.type
    if isinstance(exc, CodeRejected):
        key = f"{exc.type}:{exc.extra.get('reason', 'unknown')}"
    title, text = EXPLANATIONS.get(key, FALLBACK)
    status = exc.status
    if key == f"{CodeRejected.type}:unknown":
        status = 404
    extra: dict[str, Any] = {}
    if exc.status == 429:
        extra["wait_minutes"] = max(1, -(-int(exc.extra["retry_after"]) // 60))
    response = page(
        "explain.html", status, private=True, heading=title, text=text, kind=key, **extra
    )
    if exc.status == 429:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def _is_people_path() -> bool:
    return any(request.path == p or request.path.startswith(p + "/") for p in PEOPLE_PATHS)


def _http_error(exc: HTTPException) -> Response:
    if not _is_people_path():
        return http_problem(exc)
    status = exc.code or 500
    if status == 404:
        title, text = EXPLANATIONS[NotFound.type]
    elif status == 413:
        title, text = "内容太长", "提交的内容太多了，请删减后再试。"
    else:
        title, text = FALLBACK
    return page("explain.html", status, private=True, heading=title, text=text, kind=str(status))


def _unavailable(exc: DatabaseUnavailable) -> Response:
    """The database is down or not migrated: a Chinese page for people, problem+json else."""
    if _is_people_path():
        heading, text = (
            "系统暂时无法使用",
            "系统正在维护或暂时出现故障，请过几分钟再试。您已提交的内容不受影响。",
        )
        response = page("explain.html", 503, private=True, heading=heading, text=text, kind="503")
    else:
        response = problem(DatabaseUnavailable, exc.detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(app.extensions["grading.settings"].public_base_url or "").startswith(
            "https://"
        ),
        # A voter may keep the page open through a long meeting: the token lives as long as the
        # browser's session. The referrer check of HTTPS is off because pages send no Referer.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
    )
    app.jinja_env.filters["cn_date"] = cn_date
    app.jinja_env.filters["points"] = points
    csrf.init_app(app)
    # The API is called with bearer tokens, never with the browser's cookies: nothing to forge.
    csrf.exempt(api)
    app.register_blueprint(web)
    for code in (404, 405, 413):
        app.register_error_handler(code, _http_error)
    app.register_error_handler(DatabaseUnavailable, _unavailable)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        # The ballot code and the tracking code are in page addresses: no page tells another
        # site where its visitor came from.
        response.headers["Referrer-Policy"] = "no-referrer"
        if response.mimetype == "text/html":
            strict = CSP_DOCS if request.path == "/docs" else CSP
            response.headers.setdefault("Content-Security-Policy", strict)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault(
                "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
            )
        return response


def _domain_error(exc: DomainError) -> Response:
    return explain(exc)


def _csrf_error(exc: CSRFError) -> Response:
    return page(
        "explain.html",
        400,
        private=True,
        heading="页面已过期",
        text="为了安全，这个表单需要从本网站打开后提交。请返回，刷新页面后重新提交。",
        kind="csrf",
    )


def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if isinstance(exc, DBAPIError):
        found = unavailable(exc)  # a lost connection, a database down: 503, not our fault
        if found is not None:
            return _unavailable(found)
    log.exception("unhandled error on a page")
    title, text = FALLBACK
    return page("explain.html", 500, private=True, heading=title, text=text, kind="500")


def for_people(blueprint: Blueprint) -> None:
    """A blueprint of pages answers its errors as pages: a refusal explained in Chinese, an
    expired form, an unexpected failure — never problem+json."""
    blueprint.register_error_handler(DomainError, _domain_error)
    blueprint.register_error_handler(CSRFError, _csrf_error)
    blueprint.register_error_handler(Exception, _unexpected)


for_people(web)
