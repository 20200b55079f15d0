"""The workbench's people, through Flask's test client, and one branch's walk from survey to 公示
— through the workbench's forms or the same steps through the API — on a demo of its own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.site import DemoSite

BRANCH = "YC-XL-FH-V01"  # 白河村党支部, baihe.secretary's
LEVEL = "fairly_good"


def hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action`."""
    for form in re.findall(r"<form\b[^>]*>.*?</form>", html, re.S):
        if f'action="{action}"' in form:
            return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    raise AssertionError(f"no form posts to {action}")


def field_names(html: str, prefix: str) -> list[str]:
    return re.findall(rf'name="({re.escape(prefix)}\.[a-z_]+(?:\.[a-z0-9_]+)?)"', html)


def refusal(html: str) -> str:
    found = re.search(r'<div class="error-box"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


@dataclass
class Desk:
    """One person at the workbench."""

    client: FlaskClient
    username: str

    @classmethod
    def signed_in(cls, app: Flask, username: str, password: str) -> Desk:
        desk = cls(app.test_client(), username)
        answer = desk.sign_in(password)
        assert answer.status_code == 303, refusal(answer.get_data(as_text=True))
        return desk

    def sign_in(self, password: str, next_page: str = "/w/") -> TestResponse:
        page = self.client.get("/w/sign-in")
        fields = hidden_fields(page.get_data(as_text=True), "/w/sign-in")
        return self.client.post(
            "/w/sign-in",
            data={**fields, "username": self.username, "password": password, "next": next_page},
        )

    def page(self, path: str) -> str:
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.get_data(as_text=True)

    def submit(self, page_path: str, action: str, data: dict[str, Any]) -> TestResponse:
        """Fill in the form of `page_path` that posts to `action`, as the page rendered it."""
        fields = hidden_fields(self.page(page_path), action)
        return self.client.post(action, data={**fields, **data})


def scores_filled(names: list[str], points: str = "5") -> dict[str, str]:
    """Every score field of a sheet given `points`, every indicator's evidence 台账."""
    return {
        n: ("台账" if n.endswith(".evidence") else points) for n in names if ".adjustment." not in n
    }


TALLY = {
    f"{c}.{k}": v
    for c in ("members", "public_reps")
    for k, v in (("present", "10"), ("issued", "10"), ("returned", "10"), ("invalid", "0"))
} | {f"{c}.{LEVEL}": "10" for c in ("members", "public_reps")}
SURVEY = {
    "method": "meeting",
    "date": "2026-12-07",
    "area.setup": "yes",
    "area.leadership": "partly",
    "problems": "三会一课记录不全",
    "category": "党建工作类",
    "suggestions": "每月开展一次主题党日",
}
OPINION = {"level": LEVEL, "opinion": "依据测评结果，支委会研究提出意见", "met_on": "2026-12-07"}
MEETING = {
    "held_on": "2026-12-07",
    "chaired_by": "陈志刚",
    "attendees": "陈志刚\n刘芳\n王磊",
    "minutes": "综合考核和测评结果，研究确定等级",
    "level": LEVEL,
}
EXPLANATION = "对照七项指标逐项自评"
NOTE = "量化考核"
PROPOSAL_REASON = "综合测评结果"
DECIDE_REASON = "凤凰镇分类定级会议研究"
APPROVAL = "同意"


def workbench_walk(app: Flask, site: DemoSite, grading_id: int) -> None:
    """The branch from survey to 公示 through the workbench's forms: the township's reviewer,
    the branch secretary, the teller, the county's supervisor."""
    page = f"/w/gradings/{grading_id}"
    act = f"{page}/"
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    secretary = Desk.signed_in(app, "baihe.secretary", site.password)
    teller = Desk.signed_in(app, "county.teller", site.password)
    supervisor = Desk.signed_in(app, "county.supervisor", site.password)

    def done(desk: Desk, action: str, data: dict[str, Any]) -> None:
        answer = desk.submit(page, act + action, data)
        assert answer.status_code == 303, (action, refusal(answer.get_data(as_text=True)))

    done(reviewer, "survey", SURVEY)
    done(reviewer, "transition", {"transition": "open_self_rating"})
    sheet = scores_filled(field_names(secretary.page(page), "self_rating"))
    done(
        secretary,
        "self_rating",
        {**sheet, "proposed_level": LEVEL, "explanation": EXPLANATION},
    )
    done(secretary, "transition", {"transition": "submit_self_rating"})
    done(teller, "tally", {"categories": "members,public_reps", **TALLY})
    done(secretary, "opinion", OPINION)
    done(teller, "transition", {"transition": "close_evaluation"})
    sheet = scores_filled(field_names(reviewer.page(page), "assessment"))
    done(reviewer, "assessment", {**sheet, "note": NOTE})
    done(reviewer, "proposal", {"level": LEVEL, "reason": PROPOSAL_REASON})
    done(reviewer, "meeting", MEETING)
    done(reviewer, "transition", {"transition": "decide", "reason": DECIDE_REASON})
    inbox = supervisor.page("/w/approvals")
    [approval] = re.findall(r"/w/approvals/(\d+)/approve", inbox)
    answer = supervisor.submit(
        "/w/approvals", f"/w/approvals/{approval}/approve", {"comment": APPROVAL}
    )
    assert answer.status_code == 303, refusal(answer.get_data(as_text=True))


def _sheet(standard: dict[str, Any]) -> list[dict[str, Any]]:
    """The sheet the workbench sends for scores_filled's form: 5 per score, evidence 台账."""
    out = []
    for indicator in standard["indicators"]:
        entry: dict[str, Any] = {"indicator": indicator["code"], "evidence": "台账"}
        if indicator["sub_items"]:
            entry["sub_items"] = [{"code": s["code"], "score": "5"} for s in indicator["sub_items"]]
        else:
            entry["score"] = "5"
        out.append(entry)
    return out


def api_walk(client: FlaskClient, site: DemoSite, grading_id: int) -> None:
    """The same steps through the API, each person with their own token."""

    def call(who: str, method: str, path: str, body: Any) -> Any:
        answer = client.open(
            "/api/v1" + path,
            method=method,
            json=body,
            headers={"Authorization": f"Bearer {site.tokens[who]}"},
        )
        assert 200 <= answer.status_code < 300, (path, answer.get_json())
        return answer.get_json()

    g = f"/gradings/{grading_id}"
    grading = call("county.reviewer", "GET", g, None)
    standard = call("county.reviewer", "GET", f"/standards/{grading['standard_id']}", None)
    organization = call(
        "county.reviewer", "GET", f"/organizations/{grading['organization_id']}", None
    )
    survey = {
        "method": "meeting",
        "date": "2026-12-07",
        "problems": ["三会一课记录不全"],
        "problem_categories": ["党建工作类"],
        "suggestions": ["每月开展一次主题党日"],
        "areas": {"setup": {"finding": "yes"}, "leadership": {"finding": "partly"}},
    }
    call("county.reviewer", "POST", f"{g}/survey-entries", survey)
    call("county.reviewer", "POST", f"{g}/transitions", {"transition": "open_self_rating"})
    self_rating = {
        "scores": _sheet(standard),
        "adjustments": [],
        "proposed_level": LEVEL,
        "explanation": EXPLANATION,
    }
    call("baihe.secretary", "PUT", f"{g}/self-rating", self_rating)
    call("baihe.secretary", "POST", f"{g}/transitions", {"transition": "submit_self_rating"})
    categories = [
        {
            "code": c,
            "present": 10,
            "issued": 10,
            "returned": 10,
            "invalid": 0,
            "distribution": {LEVEL: 10},
        }
        for c in ("members", "public_reps")
    ]
    call("county.teller", "POST", f"{g}/paper-tallies", {"categories": categories})
    call("baihe.secretary", "PUT", f"{g}/branch-opinion", OPINION)
    call("county.teller", "POST", f"{g}/transitions", {"transition": "close_evaluation"})
    assessment = {"scores": _sheet(standard), "adjustments": [], "note": NOTE}
    call("county.reviewer", "PUT", f"{g}/assessment", assessment)
    call("county.reviewer", "PUT", f"{g}/decision", {"level": LEVEL, "reason": PROPOSAL_REASON})
    meeting = {
        "organization_id": organization["parent_id"],
        "held_on": MEETING["held_on"],
        "chaired_by": MEETING["chaired_by"],
        "attendees": MEETING["attendees"].split("\n"),
        "minutes": MEETING["minutes"],
        "results": [{"grading_id": grading_id, "level": LEVEL}],
    }
    call(
        "county.reviewer", "POST", f"/campaigns/{grading['campaign_id']}/decision-meetings", meeting
    )
    asked = call(
        "county.reviewer",
        "POST",
        f"{g}/transitions",
        {"transition": "decide", "reason": DECIDE_REASON},
    )
    call("county.supervisor", "POST", f"/approvals/{asked['id']}/approve", {"comment": APPROVAL})
