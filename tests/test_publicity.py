"""公示 and complaints: the public notice, filing, investigating, answering, rate limits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import calendar
from service.app import create_app
from service.audit.models import AuditEvent
from service.config import Settings
from service.gradings.models import Grading
from service.publicity.models import Complaint
from tests.conftest import Api, assert_problem
from tests.decision_helpers import approve, decide, propose, scored
from tests.grading_helpers import walk
from tests.publicity_helpers import in_publicity


def complain(api: Api, grading_id: int, **extra: Any) -> Any:
    return api.post(
        "/api/v1/public/complaints",
        who=None,
        json={"grading_id": grading_id, "text": "该支部三会一课流于形式", **extra},
    )


def finalize(api: Api, grading_id: int) -> Any:
    return api.post(
        f"/api/v1/gradings/{grading_id}/transitions",
        json={"transition": "finalize"},
        who="reviewer",
    )


def test_working_days_skip_weekends_and_holidays() -> None:
    calendar.configure(frozenset({date(2026, 4, 6)}))  # 清明 (observed), a Monday
    try:
        assert calendar.add_working_days(date(2026, 4, 2), 3) == date(2026, 4, 8)  # Fri, Tue, Wed
    finally:
        calendar.configure(frozenset())


def test_a_decision_opens_publicity_for_the_campaigns_working_days(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-01", superior="70", members="70", own="70")
    propose(api, grading_id, "average")
    assert approve(api, decide(api, grading_id)).status_code == 200
    db.expire_all()
    grading = db.get_one(Grading, grading_id)
    assert grading.publicity_starts_on == calendar.today()
    assert grading.publicity_ends_on == calendar.notice_ends(calendar.today(), 5)[0]


def test_the_public_notice_lists_an_area_without_a_token(api: Api, db: Session) -> None:
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    campaign_id = api.world.campaigns["open"].id
    notice = api.get(f"/api/v1/public/notices/{campaign_id}", who=None).get_json()
    assert notice["area"] == "甲县委"
    assert [(i["grading_id"], i["organization"], i["level_label"]) for i in notice["items"]] == [
        (grading_id, "东村党支部", "一般")
    ]
    assert notice["items"][0]["domain_label"] == "农村"
    assert notice["committee"] == "甲县委" and notice["publicity_working_days"] == 5
    assert notice["page"] == f"http://localhost/notice/{campaign_id}"  # the page people read
    area = api.get(f"/api/v1/public/notices/{campaign_id}?area={api.world.org('A1').id}", who=None)
    assert len(area.get_json()["items"]) == 1
    assert_problem(
        api.get(f"/api/v1/public/notices/{campaign_id}?area={api.world.org('B').id}", who=None),
        404,
        "not-found",
    )
    assert_problem(api.get("/api/v1/public/notices/999999", who=None), 404, "not-found")


def test_a_complaint_is_filed_anonymously_and_tracked(api: Api, db: Session) -> None:
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    filed = complain(api, grading_id)
    assert filed.status_code == 201
    code = filed.get_json()["tracking_code"]
    tracked = api.get(f"/api/v1/public/complaints/{code}", who=None).get_json()
    assert tracked["state"] == "received" and tracked["reply"] is None
    assert_problem(api.get("/api/v1/public/complaints/NOSUCHCODE99", who=None), 404, "not-found")


def test_a_complaint_after_publicity_ended_is_refused(api: Api, db: Session) -> None:
    grading = api.world.gradings["A1-01"]
    walk(db.get_one(Grading, grading.id), "rated")
    db.commit()
    assert_problem(complain(api, grading.id), 409, "not-in-publicity")


def test_a_complaint_is_checked_for_size(api: Api, db: Session) -> None:
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    problem = assert_problem(complain(api, grading_id, text="投" * 2001), 422, "validation-error")
    assert list(problem["errors"]) == ["text"]


def test_publicity_cannot_close_with_an_open_complaint_nor_early(api: Api, db: Session) -> None:
    early = in_publicity(db, api.world.gradings["A1-02"])
    problem = assert_problem(finalize(api, early), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == ["publicity_period_over"]
    grading_id = in_publicity(db, api.world.gradings["A1-01"], over=True)
    complain(api, grading_id)
    problem = assert_problem(finalize(api, grading_id), 409, "transition-blocked")
    assert [r["code"] for r in problem["reasons"]] == ["no_open_complaints"]


def test_a_complaint_not_upheld_is_answered_and_publicity_closes(api: Api, db: Session) -> None:
    grading_id = in_publicity(db, api.world.gradings["A1-01"], over=True)
    code = complain(api, grading_id).get_json()["tracking_code"]
    complaint = api.get(f"/api/v1/complaints?grading_id={grading_id}", who="reviewer").get_json()[
        "items"
    ][0]
    assert_problem(
        api.post(
            f"/api/v1/complaints/{complaint['id']}/answer",
            who="reviewer",
            json={"findings": "x", "reply": "y", "upheld": False},
        ),
        409,
        "complaint-state",
    )
    assigned = api.post(f"/api/v1/complaints/{complaint['id']}/assign", who="reviewer").get_json()
    assert (assigned["state"], assigned["assigned_to"]) == ("investigating", "reviewer")
    problem = assert_problem(
        api.post(
            f"/api/v1/complaints/{complaint['id']}/answer",
            who="chief",
            json={"findings": "x", "reply": "y", "upheld": False},
        ),
        422,
        "validation-error",
    )
    assert problem["errors"] == {"assigned_to": ["assigned to reviewer"]}
    answered = api.post(
        f"/api/v1/complaints/{complaint['id']}/answer",
        who="reviewer",
        json={
            "findings": "经查，该支部按月召开支部党员大会，有会议记录",
            "reply": "经调查核实，反映的问题不属实。",
            "upheld": False,
        },
    )
    assert answered.status_code == 200
    tracked = api.get(f"/api/v1/public/complaints/{code}", who=None).get_json()
    assert (tracked["state"], tracked["upheld"]) == ("answered", False)
    assert tracked["reply"] == "经调查核实，反映的问题不属实。"
    assert finalize(api, grading_id).status_code == 200


def test_an_upheld_complaint_sends_the_grading_back_with_the_complaint_as_reason(
    api: Api, db: Session
) -> None:
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    complain(api, grading_id)
    complaint_id = api.get("/api/v1/complaints?state=received", who="reviewer").get_json()["items"][
        0
    ]["id"]
    api.post(f"/api/v1/complaints/{complaint_id}/assign", who="reviewer")
    api.post(
        f"/api/v1/complaints/{complaint_id}/answer",
        who="reviewer",
        json={
            "findings": "支部书记长期不在村",
            "reply": "投诉属实，已退回重新评定",
            "upheld": True,
        },
    )
    view = api.get(f"/api/v1/gradings/{grading_id}", who="supervisor").get_json()
    assert view["state"] == "complaint_review"
    assert view["pending_approval"]["subject"] == "uphold_complaint"
    approved = api.post(
        f"/api/v1/approvals/{view['pending_approval']['id']}/approve", json={}, who="supervisor"
    )
    assert approved.status_code == 200
    db.expire_all()
    assert (db.get_one(Grading, grading_id).state, db.get_one(Grading, grading_id).level) == (
        "superior_review",
        None,
    )
    history = api.get(f"/api/v1/gradings/{grading_id}/history", who="inspector").get_json()["items"]
    back = [h for h in history if h["action"] == "grading.transition"][-1]
    assert back["after"]["transition"] == "uphold_complaint"
    assert back["reason"] == f"投诉#{complaint_id}成立：支部书记长期不在村"


def test_complaints_are_rate_limited_per_client_without_sleeping(
    app: Any, api: Api, db: Session
) -> None:
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    now = [1_800_000_000.0]  # a fixed clock, moved by hand
    app.extensions["grading.clock"] = lambda: now[0]
    limit = app.extensions["grading.settings"].complaint_limit
    for _ in range(limit):
        assert complain(api, grading_id).status_code == 201
    refused = complain(api, grading_id)
    problem = assert_problem(refused, 429, "rate-limited")
    window = app.extensions["grading.settings"].complaint_window_seconds
    expected = window - int(now[0]) % window
    assert refused.headers["Retry-After"] == str(expected) and problem["retry_after"] == expected
    now[0] += expected  # the next window
    assert complain(api, grading_id).status_code == 201


def test_a_complaint_retried_with_its_idempotency_key_is_filed_once(api: Api, db: Session) -> None:
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    key = {"Idempotency-Key": "complaint-after-lost-answer-1"}
    body = {"grading_id": grading_id, "text": "评定时未听取群众意见"}
    first = api.post("/api/v1/public/complaints", who=None, json=body, headers=key)
    again = api.post("/api/v1/public/complaints", who=None, json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["tracking_code"] == first.get_json()["tracking_code"]
    filed = db.scalar(
        select(func.count()).select_from(Complaint).where(Complaint.grading_id == grading_id)
    )
    assert filed == 1


def test_failed_complaint_attempts_count_and_each_client_has_its_own_limit(
    app: Any, api: Api, db: Session
) -> None:
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    settings = app.extensions["grading.settings"]
    window, limit = settings.complaint_window_seconds, settings.complaint_limit
    now = [1_800_000_000.0 + 1234]  # mid-window: 1234 s of it gone
    app.extensions["grading.clock"] = lambda: now[0]
    a, b = {"REMOTE_ADDR": "203.0.113.7"}, {"REMOTE_ADDR": "198.51.100.9"}

    def attempt(addr: dict[str, str], body: Any) -> Any:
        return api.client.post("/api/v1/public/complaints", json=body, environ_base=addr)

    failures = [{"grading_id": grading_id}, {"grading_id": 999_999, "text": "无此评定"}]
    for n in range(limit):  # invalid (422) and unknown (404) attempts alternate
        assert attempt(a, failures[n % 2]).status_code in (404, 422)
    refused = attempt(a, {"grading_id": grading_id, "text": "第六次"})
    problem = assert_problem(refused, 429, "rate-limited")
    assert refused.headers["Retry-After"] == str(window - 1234) == str(problem["retry_after"])
    other = attempt(b, {"grading_id": grading_id, "text": "另一台手机"})
    assert other.status_code == 201
    filed = db.scalar(
        select(func.count()).select_from(Complaint).where(Complaint.grading_id == grading_id)
    )
    assert filed == 1


def test_a_complaints_audit_event_carries_no_address_nor_request_id(api: Api, db: Session) -> None:
    """Who filed may stay unknown: the trail keeps neither the filer's address nor the request
    id that the request log (with its address) would tie it to."""
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    filed = api.post(
        "/api/v1/public/complaints",
        who=None,
        json={"grading_id": grading_id, "text": "测评票的发放有问题"},
        headers={"X-Request-Id": "req-from-the-filer-0001"},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    assert filed.status_code == 201, filed.get_json()
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "complaint.file").order_by(AuditEvent.id)
    ).all()[-1]
    assert (event.client_ip, event.request_id, event.token_id) == (None, None, None)
    stored = json.dumps([event.before, event.after, event.actor_username], ensure_ascii=False)
    assert "203.0.113.77" not in stored and "req-from-the-filer-0001" not in stored


def test_with_trusted_proxies_x_forwarded_for_counts_only_from_the_proxy(
    api: Api, db: Session, settings: Settings, session_factory: Any
) -> None:
    """TRUSTED_PROXIES=1: behind the proxy (127.0.0.1) each client it names has its own limit;
    a client reaching the server directly cannot rotate X-Forwarded-For past its limit."""
    grading_id = in_publicity(db, api.world.gradings["A1-01"])
    proxied = create_app(replace(settings, trusted_proxies=1), session_factory=session_factory)
    client = proxied.test_client()
    limit = settings.complaint_limit

    def attempt(peer: str, claimed: str) -> int:
        return client.post(
            "/api/v1/public/complaints",
            json={"grading_id": grading_id, "text": "意见"},
            headers={"X-Forwarded-For": claimed},
            environ_base={"REMOTE_ADDR": peer},
        ).status_code

    direct = [attempt("203.0.113.7", f"198.51.100.{n}") for n in range(limit + 1)]
    assert direct == [201] * limit + [429]
    via_proxy = [attempt("127.0.0.1", "192.0.2.10") for _ in range(limit + 1)]
    assert via_proxy == [201] * limit + [429]
    assert attempt("127.0.0.1", "192.0.2.11") == 201  # another client behind the proxy
