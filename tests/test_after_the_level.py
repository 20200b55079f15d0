"""End to end through HTTP: after the level — publicity and complaints, rectification, 回头看 and
晋位升级. East village (较差) is noticed, draws a complaint that is not upheld, rectifies three
items (one returned once), passes the re-review and rises to 一般; the township office's upheld
complaint changes its level. The trail verifies and the histories tell the story."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from service import calendar
from service.audit.verify import verify
from service.gradings.models import Grading
from tests.ballot_helpers import attend, cast, codes_of
from tests.conftest import Api
from tests.decision_helpers import scored
from tests.grading_helpers import meeting_over_api


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def fire(
    api: Api,
    grading_id: int,
    transition: str,
    who: str = "reviewer",
    reason: str | None = None,
    status: int = 200,
) -> Any:
    body = {"transition": transition, **({"reason": reason} if reason else {})}
    return ok(api.post(f"/api/v1/gradings/{grading_id}/transitions", json=body, who=who), status)


def decided(api: Api, grading_id: int, level: str, reason: str | None = None) -> None:
    ok(
        api.put(
            f"/api/v1/gradings/{grading_id}/decision",
            who="reviewer",
            json={"level": level, **({"reason": reason} if reason else {})},
        )
    )
    meeting_over_api(api, {grading_id: level})
    approval = fire(api, grading_id, "decide", reason="镇分类定级会议", status=202)
    ok(
        api.post(
            f"/api/v1/approvals/{approval['id']}/approve",
            json={"comment": "同意"},
            who="supervisor",
        )
    )


def publicity_passes(db: Session, grading_id: int) -> None:
    """Time passes: the publicity period is over (the only step not taken through HTTP)."""
    db.expire_all()
    db.get_one(Grading, grading_id).publicity_ends_on = calendar.today() - timedelta(days=1)
    db.commit()


def test_after_the_level_from_publicity_to_promotion(api: Api, db: Session) -> None:
    east = scored(db, api, "A1-01", superior="50", members="50", own="50")  # computes 较差
    office = scored(db, api, "A1-02", superior="85", members="85", own="85")  # computes 较好
    campaign = api.world.campaigns["open"].id
    decided(api, east, "poor")
    decided(api, office, "fairly_good")

    # 公示: both are on the public notice; each draws a complaint.
    notice = ok(api.get(f"/api/v1/public/notices/{campaign}", who=None))
    assert {(i["organization"], i["level_label"]) for i in notice["items"]} == {
        ("东村党支部", "较差"),
        ("甲镇机关党支部", "较好"),
    }
    east_code = ok(
        api.post(
            "/api/v1/public/complaints",
            who=None,
            json={"grading_id": east, "text": "东村评为较差不公，村里修路是支部带头干的"},
        ),
        201,
    )["tracking_code"]
    ok(
        api.post(
            "/api/v1/public/complaints",
            who=None,
            json={
                "grading_id": office,
                "text": "机关支部长期不过组织生活",
                "contact": "13800000000",
            },
        ),
        201,
    )
    complaints = {
        c["grading_id"]: c for c in ok(api.get("/api/v1/complaints", who="reviewer"))["items"]
    }
    for grading_id, upheld in ((east, False), (office, True)):
        ok(api.post(f"/api/v1/complaints/{complaints[grading_id]['id']}/assign", who="reviewer"))
        ok(
            api.post(
                f"/api/v1/complaints/{complaints[grading_id]['id']}/answer",
                who="reviewer",
                json={
                    "findings": "经走访核实"
                    + ("，情况属实" if upheld else "，修路由村委会组织，不影响定级"),
                    "reply": "感谢监督，已调查核实并反馈",
                    "upheld": upheld,
                },
            )
        )
    assert ok(api.get(f"/api/v1/public/complaints/{east_code}", who=None))["upheld"] is False

    # The office's upheld complaint: back to superior review, decided again one level lower.
    pending = ok(api.get(f"/api/v1/approvals?state=pending&grading_id={office}", who="supervisor"))[
        "items"
    ]
    ok(api.post(f"/api/v1/approvals/{pending[0]['id']}/approve", json={}, who="supervisor"))
    assert ok(api.get(f"/api/v1/gradings/{office}"))["state"] == "superior_review"
    decided(api, office, "average", reason="投诉核实：组织生活不经常，降为一般")

    # East village: publicity ends, the level is final, rectification begins.
    publicity_passes(db, east)
    fire(api, east, "finalize")
    fire(api, east, "start_rectification")
    rect = f"/api/v1/gradings/{east}/rectification"
    ok(
        api.put(
            f"{rect}/helpers",
            who="reviewer",
            json={
                "paired_leader": "县委常委 王强",
                "liaison": "县委组织部 刘敏",
                "first_secretary": "选派 陈晨",
            },
        )
    )
    items = [
        ("阵地设施老化", "更新活动室设备"),
        ("三会一课不规范", "每月主题党日"),
        ("集体经济薄弱", "发展柑橘合作社"),
    ]
    for problem, measure in items:
        ok(
            api.post(
                f"{rect}/items",
                who="secretary",
                json={
                    "problem": problem,
                    "cause": "班子重视不够",
                    "measure": measure,
                    "target": "年底前完成",
                    "deadline": "2026-12-31",
                    "responsible": "村支书",
                },
            ),
            201,
        )
    ok(api.post(f"{rect}/plan/approve", who="supervisor"))
    for key in ("I1", "I2", "I3"):
        ok(api.post(f"{rect}/items/{key}/start", json={}, who="secretary"))
        ok(
            api.post(
                f"{rect}/items/{key}/submit",
                json={"evidence": f"{key} 整改照片与记录"},
                who="secretary",
            )
        )
    ok(api.post(f"{rect}/items/I3/return", json={"reason": "合作社尚未注册"}, who="reviewer"))
    ok(api.post(f"{rect}/items/I3/submit", json={"evidence": "合作社营业执照"}, who="secretary"))
    for key in ("I1", "I2", "I3"):
        ok(api.post(f"{rect}/items/{key}/close", json={}, who="reviewer"))

    # 回头看, then 晋位升级: satisfaction, the special report, one step up.
    fire(api, east, "start_re_review")
    fire(api, east, "start_promotion")
    session = ok(
        api.post(
            "/api/v1/ballot-sessions",
            who="teller",
            json={
                "campaign_id": campaign,
                "title": "东村群众满意度测评会",
                "grading_ids": [east],
                "categories": [
                    {"code": "members", "issued": 10},
                    {"code": "public_reps", "issued": 2},
                ],
            },
        ),
        201,
    )
    for row in codes_of(api, session["id"]):
        assert (
            cast(api, row["code"], [{"grading_id": east, "level": "fairly_good"}]).status_code
            == 201
        )
    ok(api.post(f"/api/v1/ballot-sessions/{session['id']}/close", who="teller"))
    attend(api, session["id"])
    ok(api.post(f"/api/v1/ballot-sessions/{session['id']}/count", who="teller"))
    ok(
        api.put(
            f"/api/v1/gradings/{east}/promotion/report",
            who="secretary",
            json={"text": "整改专项述职：三项整改全部销号"},
        )
    )
    promoted = ok(
        api.post(
            f"/api/v1/gradings/{east}/promotion",
            who="reviewer",
            json={"level": "average", "reason": "整改到位，群众满意度85%"},
        )
    )
    assert (promoted["level"], promoted["satisfaction"]) == ("average", "85.00")
    assert fire(api, east, "close")["state"] == "closed"

    # The trail verifies; the history reads as the story was told.
    assert ok(api.get("/api/v1/audit/verify", who="inspector"))["intact"] is True
    assert verify(db).intact
    story = [
        h["summary"]
        for h in ok(api.get(f"/api/v1/gradings/{east}/history", who="inspector"))["items"]
        if not h["action"].startswith(("record.", "approval."))
    ]
    expected = [
        "decide: superior_review 上级评定 → publicity 公示",
        "收到投诉",
        "受理调查",
        "答复投诉",
        "finalize: publicity 公示 → rated 定级",
        "start_rectification: rated 定级 → rectification 整改",
        "start_re_review: rectification 整改 → re_review 回头看",
        "start_promotion: re_review 回头看 → promotion 晋位升级",
        "晋位升级 promoted: poor → average",
        "close: promotion 晋位升级 → closed 结束",
    ]
    positions = [
        next((n for n, line in enumerate(story) if line.startswith(e)), -1) for e in expected
    ]
    assert -1 not in positions, list(zip(expected, positions, strict=True))
    assert positions == sorted(positions), story  # in the order it happened
    office_story = ok(api.get(f"/api/v1/gradings/{office}/history", who="inspector"))["items"]
    back = next(h for h in office_story if h["summary"].startswith("uphold_complaint"))
    assert back["reason"].startswith("投诉#") and "情况属实" in back["reason"]
    assert db.get_one(Grading, office).level == "average"


def test_a_re_review_changes_a_level_only_with_a_reason_and_approval(api: Api, db: Session) -> None:
    grading_id = scored(db, api, "A1-02", superior="85", members="85", own="85")
    decided(api, grading_id, "fairly_good")
    publicity_passes(db, grading_id)
    fire(api, grading_id, "finalize")
    fire(api, grading_id, "start_rectification")
    fire(api, grading_id, "start_re_review")
    # the committee reopens its rated gradings in bulk: each waits for a supervisor
    problem = api.post(
        f"/api/v1/gradings/{grading_id}/transitions",
        json={"transition": "reopen_review"},
        who="reviewer",
    )
    assert problem.status_code == 422 and problem.get_json()["errors"] == {
        "reason": ["required for this transition"]
    }
    bulk = ok(
        api.post(
            f"/api/v1/campaigns/{api.world.campaigns['open'].id}/transitions",
            who="reviewer",
            json={
                "transition": "reopen_review",
                "state": "re_review",
                "reason": "回头看：班子成员涉嫌违纪",
            },
        )
    )
    assert bulk["approval_requested"] == 1
    view = ok(api.get(f"/api/v1/gradings/{grading_id}"))
    assert (view["state"], view["pending_approval"]["subject"]) == ("re_review", "reopen_review")
    ok(
        api.post(
            f"/api/v1/approvals/{view['pending_approval']['id']}/approve", json={}, who="supervisor"
        )
    )
    ok(
        api.put(
            f"/api/v1/gradings/{grading_id}/vetoes",
            who="reviewer",
            json={"flags": [{"code": "leader_violation"}]},
        )
    )
    decided(api, grading_id, "poor", reason="回头看：一票否决")
    history = ok(api.get(f"/api/v1/gradings/{grading_id}/history", who="inspector"))["items"]
    changes = [
        (h["before"]["level"], h["after"]["level"], h["reason"])
        for h in history
        if h["action"] == "grading.transition"
        and h["after"]["transition"] in ("reopen_review", "decide")
    ]
    assert changes[-2:] == [
        ("fairly_good", None, "回头看：班子成员涉嫌违纪"),
        (None, "poor", "镇分类定级会议"),
    ]
