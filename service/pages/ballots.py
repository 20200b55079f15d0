"""The ballot a QR code opens (/b/<code>), the typed-code form (/b), the confirmation step,
the receipt after voting and the page to check a receipt once the session is counted.

Without JavaScript: the form posts to itself; a complete ballot is shown back for
confirmation (step=review) and cast only from that page (step=cast). Nothing about the voter is
kept: the receipt travels back in the voter's own signed cookie, and the rate limit is in
memory (service/api/throttle.py)."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import redirect, request, session, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from service.api.throttle import throttle_ballots
from service.ballots import codes
from service.ballots import operations as ops
from service.ballots.config import UNKNOWN
from service.errors import CodeRejected, NotFound, ValidationFailed
from service.pages.web import page, unit_of_work, web

CODE_HELP = "票码是10位字母和数字，例如 7KQ2M-XB4RT；大小写、空格和短横线都可以。"


RETRY_RE = re.compile(r"^[0-9a-f]{32}$")


@web.get("/b", strict_slashes=False)  # /b/ too: a typed address often ends with a slash
def enter_code() -> Response:
    typed = request.args.get("code")
    if typed is None:
        return page("ballot_code.html", private=True, heading="输入票码投票")
    code = codes.normalize(typed[:64])
    if code is None:
        return page(
            "ballot_code.html",
            422,
            private=True,
            heading="输入票码投票",
            typed=typed[:64],
            error=f"“{typed[:64]}”不是有效的票码。{CODE_HELP}",
        )
    return redirect(url_for("web.ballot", code=code), 303)


@web.route("/b/<code>", methods=["GET", "POST"])
def ballot(code: str) -> Response:
    throttle_ballots()
    canonical = codes.normalize(code[:64])
    if canonical is None:
        return page(
            "explain.html",
            404,
            private=True,
            heading="没有这个票码",
            text=CODE_HELP,
            kind=f"{CodeRejected.type}:unknown",
        )
    if canonical != code and request.method == "GET":
        return redirect(url_for("web.ballot", code=canonical), 303)
    retry = _retry_key(request.form) if request.method == "POST" else None
    with unit_of_work() as db:
        try:
            form = ops.form(db, canonical)  # refuses unknown, used and closed codes
        except CodeRejected:
            # the confirm page sent twice (a double tap, a lost answer): the first one's answer
            cast = ops.replay(db, canonical, retry) if retry else None
            if cast is None:
                raise
            return _cast(cast)
        if request.method == "GET":
            return _form_page(canonical, form, {}, {})
        step = request.form.get("step", "review")
        answers, chosen, errors = _read(form, request.form)
        if step == "edit" or errors:
            return _form_page(canonical, form, chosen, errors, 422 if errors else 200)
        if step != "cast":
            return page(
                "ballot_confirm.html",
                private=True,
                heading="请确认您的选择",
                code=canonical,
                form=form,
                chosen=chosen,
                shown=_shown(form, chosen),
                retry=secrets.token_hex(16),
            )
        try:
            cast = ops.submit(db, canonical, answers, retry)
        except ValidationFailed:
            return _form_page(
                canonical, form, chosen, {"_": "选票内容与本次测评不符，请重新填写。"}, 422
            )
    return _cast(cast)


def _cast(cast: ops.Cast) -> Response:
    session["ballot"] = {
        "session_id": cast.session_id,
        "title": cast.title,
        "receipt": cast.receipt,
    }
    return redirect(url_for("web.ballot_cast"), 303)


def _retry_key(sent: MultiDict[str, str]) -> str | None:
    """The confirm page's one-time token (32 hex digits): its Idempotency-Key."""
    value = sent.get("retry", "")
    return value if RETRY_RE.match(value) else None


@web.get("/b/cast")
def ballot_cast() -> Response:
    cast = session.get("ballot")
    if not cast:
        return redirect(url_for("web.enter_code"), 303)
    return page("ballot_done.html", private=True, heading="投票成功", cast=cast)


@web.get("/b/receipt")
def check_receipt() -> Response:
    """Was the ballot with this receipt counted? The same answer for everyone who asks."""
    throttle_ballots()
    raw_session, typed = request.args.get("session", ""), request.args.get("receipt", "")
    context: dict[str, Any] = {"session_id": raw_session[:12], "typed": typed[:64]}
    if not raw_session and not typed:
        return page("ballot_receipt.html", private=True, heading="核对投票回执", **context)
    if not raw_session.isdigit() or len(raw_session) > 9:
        context["error"] = "测评编号应是数字，见您的回执页面。"
        return page("ballot_receipt.html", 422, private=True, heading="核对投票回执", **context)
    with unit_of_work() as db:
        found = ops.get_session(db, int(raw_session))
        context["title"] = found.title
        try:
            context["counted"] = ops.receipt_counted(db, found, typed)
        except NotFound:
            context["counted"] = None
    return page("ballot_receipt.html", private=True, heading="核对投票回执", **context)


def _form_page(
    code: str,
    form: dict[str, Any],
    chosen: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return page(
        "ballot_form.html",
        status,
        private=True,
        heading=form["session"],
        code=code,
        form=form,
        chosen=chosen,
        errors=errors,
        unknown=UNKNOWN,
    )


def _read(
    form: dict[str, Any], posted: MultiDict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
    """The answers as the API takes them, what was chosen (to show it again) and what is
    missing or wrong, per field name."""
    answers: list[dict[str, Any]] = []
    chosen: dict[str, str] = {}
    errors: dict[str, str] = {}
    for question in form["questions"]:
        name = f"g{question['grading_id']}"
        if form["asks"] == "level":
            value = posted.get(name, "")
            allowed = {c["code"] for c in question["choices"]}
            if value in allowed:
                chosen[name] = value
                answers.append({"grading_id": question["grading_id"], "level": value})
            else:
                errors[name] = f"请为“{question['organization_name']}”选择一项。"
            continue
        scores = []
        for indicator in question["indicators"]:
            field = f"{name}-{indicator['code']}"
            raw = posted.get(field, "").strip()[:20]
            chosen[field] = raw
            try:
                score = Decimal(raw)
            except InvalidOperation:
                score = Decimal(-1)
            maximum = Decimal(indicator["max_points"])
            if not score.is_finite() or score < 0 or score > maximum:
                errors[field] = f"“{indicator['name']}”请填 0 到 {maximum:g} 之间的分数。"
                continue
            scores.append({"indicator": indicator["code"], "score": score})
        answers.append({"grading_id": question["grading_id"], "scores": scores})
    return answers, chosen, errors


def _shown(form: dict[str, Any], chosen: dict[str, str]) -> list[tuple[str, str]]:
    """Each organization with what the voter chose, in words."""
    shown = []
    for question in form["questions"]:
        name = f"g{question['grading_id']}"
        if form["asks"] == "level":
            labels = {c["code"]: c["label"] for c in question["choices"]}
            shown.append((question["organization_name"], labels[chosen[name]]))
        else:
            parts = [
                f"{i['name']} {chosen[name + '-' + i['code']]}" for i in question["indicators"]
            ]
            shown.append((question["organization_name"], "；".join(parts)))
    return shown
