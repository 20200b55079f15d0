"""Ballot sessions: one-time codes, anonymous ballots, quorum, results after counting, paper
tallies."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, event, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import service.models  # noqa: F401
from service.audit.models import AuditEvent
from service.audit.operations import jsonable
from service.ballots import box, cards
from service.ballots import operations as ops
from service.ballots.models import BallotCode, BallotSession, SealedBallot
from service.campaigns.models import Campaign
from service.config import Settings
from service.db import Base
from service.gradings.models import Grading
from service.organizations.models import Organization
from tests.ballot_helpers import attend, cast, codes_of
from tests.conftest import Api, assert_problem
from tests.grading_helpers import put_in_state


@pytest.fixture
def evaluating(api: Api, db: Session) -> list[int]:
    """Both of township A1's branches in evaluation, each with a roll of two members."""
    ids = [api.world.gradings["A1-01"].id, api.world.gradings["A1-02"].id]
    for key in ("A1-01", "A1-02"):
        put_in_state(db, api.world.gradings[key], "evaluation")
    for key in ("A1-01", "A1-02"):
        db.get_one(Organization, api.world.org(key).id).member_count = 2
    db.commit()
    return ids


def open_session(
    api: Api, grading_ids: list[int], asks: str = "level", members: int = 4, public: int = 2
) -> dict[str, Any]:
    response = api.post(
        "/api/v1/ballot-sessions",
        who="teller",
        json={
            "campaign_id": api.world.campaigns["open"].id,
            "title": "甲镇党员群众测评会",
            "grading_ids": grading_ids,
            "asks": asks,
            "categories": [
                {"code": "members", "issued": members},
                {"code": "public_reps", "issued": public},
            ],
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def levels(ids: list[int], first: str = "good", second: str = "average") -> list[dict[str, Any]]:
    return [{"grading_id": ids[0], "level": first}, {"grading_id": ids[1], "level": second}]


def test_a_session_issues_printable_one_time_codes(api: Api, evaluating: list[int]) -> None:
    session = open_session(api, evaluating)
    assert session["state"] == "open" and session["results"] is None
    assert [c["returned"] for c in session["categories"]] == [None, None]
    rows = codes_of(api, session["id"])
    assert [r["category"] for r in rows] == ["members"] * 4 + ["public_reps"] * 2
    assert len({r["code"] for r in rows}) == 6
    assert all(r["url"].endswith(f"/b/{r['code']}") and len(r["code"]) == 11 for r in rows)
    sheet = api.get(f"/api/v1/ballot-sessions/{session['id']}/codes", who="teller")
    assert sheet.mimetype == "image/svg+xml"
    svg = sheet.get_data(as_text=True)
    assert svg.count('class="segno"') == 6 and rows[0]["code"] in svg and "群众代表" in svg


def _poppler(tool: str, *args: str) -> str:
    """pdfinfo / pdftotext (poppler-utils, installed by `make test`): what a clerk's viewer
    would show of the PDF."""
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} (poppler-utils) is missing: `make browser` installs it")
        pytest.skip(f"{tool} (poppler-utils) is not installed")
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=True)
    return done.stdout


def test_the_cards_print_as_a4_pdf_pages_of_fifteen_each_with_its_code(
    api: Api, db: Session, evaluating: list[int], tmp_path: Path
) -> None:
    for key in ("A1-01", "A1-02"):
        db.get_one(Organization, api.world.org(key).id).member_count = 10
    db.commit()
    session = open_session(api, evaluating, members=16, public=2)
    rows = codes_of(api, session["id"])
    printed = api.get(f"/api/v1/ballot-sessions/{session['id']}/codes?format=pdf", who="teller")
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    assert printed.headers["Cache-Control"] == "no-store"
    path = tmp_path / "cards.pdf"
    path.write_bytes(printed.get_data())
    info = _poppler("pdfinfo", str(path))
    assert re.search(r"^Pages:\s+2$", info, re.M)
    assert re.search(r"Page size:\s+595.28 x 841.89 pts \(A4\)", info)
    pages = _poppler("pdftotext", "-layout", str(path), "-").split("\f")
    assert re.search(r"第1页／共2页\s+本页15张", pages[0])
    assert re.search(r"第2页／共2页\s+本页3张", pages[1])
    for row in rows:  # every code on a card, once, on the page its place says
        page = pages[rows.index(row) // 15]
        assert page.count(row["code"]) == 1
    assert pages[1].count("群众代表") == 2 and "每码只能投一次" in pages[0]


def test_cards_without_a_chinese_font_are_refused_in_words_not_printed_as_boxes(
    api: Api, evaluating: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cards, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0, 0),))
    session = open_session(api, evaluating)
    url = f"/api/v1/ballot-sessions/{session['id']}/codes?format=pdf"
    body = assert_problem(api.get(url, who="teller"), 503, "print-font-missing")
    assert "fonts-noto-cjk" in body["detail"]
    zh = api.get(url, who="teller", headers={"Accept-Language": "zh-CN"}).get_json()
    assert zh["detail"].startswith("服务器上没有中文字体") and "fonts-noto-cjk" in zh["detail_en"]
    assert api.get(url.replace("pdf", "svg"), who="teller").status_code == 200


def test_ballot_sessions_are_listed_per_campaign_grading_and_state_within_scope(
    api: Api, evaluating: list[int]
) -> None:
    first = open_session(api, evaluating)
    campaign = api.world.campaigns["open"].id
    listed = api.get(f"/api/v1/ballot-sessions?campaign_id={campaign}", who="teller").get_json()
    assert [s["id"] for s in listed["items"]] == [first["id"]]
    assert listed["items"][0]["grading_ids"] == evaluating
    mine = api.get(f"/api/v1/ballot-sessions?grading_id={evaluating[0]}", who="inspector")
    assert [s["id"] for s in mine.get_json()["items"]] == [first["id"]]
    closed = api.get("/api/v1/ballot-sessions?state=closed", who="teller").get_json()
    assert closed["items"] == []
    # another county's reviewer sees none of them
    other = api.get(f"/api/v1/ballot-sessions?campaign_id={campaign}", who="reviewer_b")
    assert other.status_code == 200 and other.get_json()["items"] == []
    body = assert_problem(
        api.get("/api/v1/ballot-sessions?state=sealed", who="teller"), 422, "validation-error"
    )
    assert "state" in body["errors"]


def test_a_code_is_accepted_once(api: Api, evaluating: list[int]) -> None:
    code = codes_of(api, open_session(api, evaluating)["id"])[0]["code"]
    assert cast(api, code, levels(evaluating)).status_code == 201
    problem = assert_problem(cast(api, code, levels(evaluating)), 409, "ballot-code-rejected")
    assert problem["reason"] == "used"


def test_an_unknown_code_is_refused_without_a_hint_about_others(
    api: Api, evaluating: list[int]
) -> None:
    open_session(api, evaluating)
    problem = assert_problem(
        cast(api, "ZZZZZ-ZZZZZ", levels(evaluating)), 409, "ballot-code-rejected"
    )
    assert problem["reason"] == "unknown" and "ZZZZZ" not in problem["detail"]
    assert_problem(cast(api, "not a code", levels(evaluating)), 409, "ballot-code-rejected")


def test_a_typed_code_forgives_case_spaces_and_look_alikes(api: Api, evaluating: list[int]) -> None:
    code = codes_of(api, open_session(api, evaluating)["id"])[0]["code"]
    typed = f" {code.lower().replace('-', ' ').replace('0', 'o').replace('1', 'l')} "
    assert cast(api, typed, levels(evaluating)).status_code == 201


def test_a_bad_ballot_leaves_its_code_unused(api: Api, evaluating: list[int]) -> None:
    code = codes_of(api, open_session(api, evaluating)["id"])[0]["code"]
    problem = assert_problem(
        cast(api, code, [{"grading_id": evaluating[0], "level": "superb"}]), 422, "validation-error"
    )
    assert "answers" in problem["errors"]
    problem = assert_problem(
        cast(api, code, levels(evaluating, first="superb")), 422, "validation-error"
    )
    assert problem["errors"] == {
        "answers.0.level": ["choose one of average, fairly_good, good, poor, unknown"]
    }
    assert cast(api, code, levels(evaluating)).status_code == 201


def test_results_appear_only_after_counting_and_the_quorum_holds(
    api: Api, evaluating: list[int]
) -> None:
    session = open_session(api, evaluating)
    codes = [r["code"] for r in codes_of(api, session["id"])]
    for code, first in zip(codes[:3], ["good", "good", "unknown"], strict=True):  # members
        assert cast(api, code, levels(evaluating, first=first)).status_code == 201
    seen = api.get(f"/api/v1/ballot-sessions/{session['id']}", who="inspector").get_json()
    assert seen["results"] is None and seen["categories"][0]["returned"] is None
    url = f"/api/v1/ballot-sessions/{session['id']}"
    assert_problem(api.post(f"{url}/count", who="teller"), 409, "ballot-session-state")
    closed = api.post(f"{url}/close", who="teller").get_json()
    assert [c["returned"] for c in closed["categories"]] == [3, 0]
    problem = assert_problem(api.post(f"{url}/count", who="teller"), 409, "ballot-attendance")
    assert problem["rule"]["code"] == "attendance_recorded"
    attend(api, session["id"], members=3, public_reps=0)
    problem = assert_problem(api.post(f"{url}/count", who="teller"), 409, "quorum-not-met")
    assert (problem["eligible"], problem["returned"], problem["required"]) == (6, 3, 4)
    assert_problem(cast(api, codes[4], levels(evaluating)), 409, "ballot-code-rejected")


def test_a_counted_session_gives_each_grading_its_points(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    session = open_session(api, evaluating, members=3, public=1)
    codes = [r["code"] for r in codes_of(api, session["id"])]
    choices = [("good", "poor"), ("fairly_good", "poor"), ("unknown", "average"), ("good", "good")]
    for code, (first, second) in zip(codes, choices, strict=True):
        assert cast(api, code, levels(evaluating, first, second)).status_code == 201
    url = f"/api/v1/ballot-sessions/{session['id']}"
    api.post(f"{url}/close", who="teller")
    attend(api, session["id"])
    counted = api.post(f"{url}/count", who="teller").get_json()
    assert counted["state"] == "counted"
    first = next(r for r in counted["results"] if r["grading_id"] == evaluating[0])
    members = first["categories"][0]
    assert members["distribution"] == {
        "good": 1,
        "fairly_good": 1,
        "average": 0,
        "poor": 0,
        "unknown": 1,
    }
    assert (members["valid"], members["points"]) == (2, "92.50")  # (100 + 85) / 2; 不了解 excluded
    assert first["sources"] == {
        "members": {"points": "92.50", "valid": 2},
        "public": {"points": "100.00", "valid": 1},
    }
    tallies = api.get(f"/api/v1/gradings/{evaluating[0]}/tallies").get_json()["items"]
    assert [t["key"] for t in tallies] == [f"S{session['id']}"]
    view = api.get(f"/api/v1/gradings/{evaluating[0]}", who="teller").get_json()
    closing = next(t for t in view["transitions"] if t["name"] == "close_evaluation")
    assert [r["code"] for r in closing["blocked_by"]] == ["branch_opinion_formed"]
    opinion = {"level": "fairly_good", "opinion": "依据测评结果认定为较好", "met_on": "2026-04-06"}
    formed = api.put(
        f"/api/v1/gradings/{evaluating[0]}/branch-opinion", json=opinion, who="secretary"
    )
    assert formed.status_code == 200, formed.get_json()
    assert formed.get_json()["tallies"] == [f"S{session['id']}"]
    view = api.get(f"/api/v1/gradings/{evaluating[0]}", who="teller").get_json()
    assert next(t for t in view["transitions"] if t["name"] == "close_evaluation")["allowed"]


def test_a_session_can_ask_for_a_score_per_indicator(api: Api, evaluating: list[int]) -> None:
    session = open_session(api, evaluating[:1], asks="indicators", members=1, public=1)
    codes = [r["code"] for r in codes_of(api, session["id"])]
    from tests.world import SEVEN

    answer = [
        {
            "grading_id": evaluating[0],
            "scores": [{"indicator": c, "score": str(p - 2)} for c, _, p in SEVEN],
        }
    ]
    too_high = [
        {
            "grading_id": evaluating[0],
            "scores": [{"indicator": c, "score": str(p + 1)} for c, _, p in SEVEN],
        }
    ]
    assert_problem(cast(api, codes[0], too_high), 422, "validation-error")
    for code in codes:
        assert cast(api, code, answer).status_code == 201
    url = f"/api/v1/ballot-sessions/{session['id']}"
    api.post(f"{url}/close", who="teller")
    attend(api, session["id"])
    result = api.post(f"{url}/count", who="teller").get_json()["results"][0]
    assert result["sources"]["members"] == {"points": "86.00", "valid": 1}  # 100 − 7 × 2


def test_only_a_teller_opens_and_only_during_evaluation(api: Api, db: Session) -> None:
    ids = [api.world.gradings["A1-01"].id]
    body = {
        "campaign_id": api.world.campaigns["open"].id,
        "title": "会",
        "grading_ids": ids,
        "categories": [{"code": "members", "issued": 10}],
    }
    assert_problem(
        api.post("/api/v1/ballot-sessions", json=body, who="teller"), 409, "stage-not-open"
    )
    put_in_state(db, api.world.gradings["A1-01"], "evaluation")
    assert_problem(api.post("/api/v1/ballot-sessions", json=body, who="reviewer"), 403, "forbidden")
    problem = assert_problem(
        api.post(
            "/api/v1/ballot-sessions",
            who="teller",
            json={**body, "categories": [{"code": "aliens", "issued": 2}]},
        ),
        422,
        "validation-error",
    )
    assert list(problem["errors"]) == ["categories.0.code"]
    opened = api.post("/api/v1/ballot-sessions", json=body, who="teller").get_json()
    assert_problem(
        api.get(f"/api/v1/ballot-sessions/{opened['id']}/codes", who="reviewer"),
        403,
        "forbidden",
    )


def test_nothing_stored_leads_from_a_code_to_its_ballot(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    session = open_session(api, evaluating)
    code = codes_of(api, session["id"])[0]["code"]
    assert cast(api, code, levels(evaluating, "poor", "poor")).status_code == 201
    # 1. No table refers to the codes, and the code row holds nothing but "used".
    for table in Base.metadata.tables.values():
        assert all(fk.column.table.name != "ballot_codes" for fk in table.foreign_keys), table.name
    assert set(Base.metadata.tables["ballot_codes"].c.keys()) == {
        "id",
        "session_id",
        "category",
        "code",
        "used",
        "retry_box",  # the receipt sealed under the voter's Idempotency-Key, if one was sent
    }
    # 2. The box holds ciphertext only, keyed by its digest: no serial, no time, no code.
    assert set(Base.metadata.tables["ballot_box"].c.keys()) == {
        "session_id",
        "digest",
        "receipt",
        "sealed",
    }
    sealed = db.scalars(select(SealedBallot.sealed)).all()
    assert len(sealed) == 1 and b"poor" not in sealed[0]
    # 3. The code appears in no other table, and no audit event is written per ballot.
    db.expire_all()
    for name, table in Base.metadata.tables.items():
        if name == "ballot_codes":
            continue
        dump = json.dumps([list(r) for r in db.execute(select(table)).all()], default=str)
        assert code not in dump and code.replace("-", "") not in dump, name
    assert not db.scalars(select(AuditEvent).where(AuditEvent.action.like("ballot.%"))).all()
    # 4. The code row only says "used" (nothing says when: see its columns above).
    used = db.scalars(select(BallotCode).where(BallotCode.used.is_(True))).all()
    assert [c.code for c in used] == [code]


def test_a_paper_tally_adds_up_meets_the_quorum_and_is_corrected_by_approval(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    db.get_one(Organization, api.world.org("A1-01").id).member_count = 30
    db.commit()
    url = f"/api/v1/gradings/{evaluating[0]}/paper-tallies"
    good = {
        "code": "members",
        "present": 29,
        "issued": 30,
        "returned": 28,
        "invalid": 1,
        "distribution": {"good": 20, "fairly_good": 5, "average": 1, "unknown": 1},
    }
    problem = assert_problem(
        api.post(url, who="teller", json={"categories": [{**good, "distribution": {"good": 3}}]}),
        422,
        "validation-error",
    )
    assert "categories.0.distribution" in problem["errors"]
    assert_problem(
        api.post(
            url,
            who="teller",
            json={
                "categories": [{**good, "returned": 10, "invalid": 0, "distribution": {"good": 10}}]
            },
        ),
        409,
        "quorum-not-met",
    )
    created = api.post(url, who="teller", json={"categories": [good]})
    assert created.status_code == 201, created.get_json()
    tally = created.get_json()
    assert tally["key"] == "P1" and tally["kind"] == "paper"
    assert tally["sources"]["members"] == {
        "points": "95.96",
        "valid": 26,
    }  # (20×100 + 5×85 + 70) / 26
    waiting = api.put(
        f"{url}/P1",
        who="teller",
        json={
            "categories": [
                {**good, "distribution": {"good": 19, "fairly_good": 6, "average": 1, "unknown": 1}}
            ],
            "reason": "复核时发现一张票统计错误",
        },
    )
    assert waiting.status_code == 202
    approved = api.post(
        f"/api/v1/approvals/{waiting.get_json()['id']}/approve", json={}, who="supervisor"
    )
    assert approved.status_code == 200, approved.get_json()
    tallies = api.get(f"/api/v1/gradings/{evaluating[0]}/tallies").get_json()["items"]
    assert tallies[0]["version"] == 2 and tallies[0]["reason"] == "复核时发现一张票统计错误"


def test_a_code_opens_its_ballot_form(api: Api, evaluating: list[int]) -> None:
    code = codes_of(api, open_session(api, evaluating)["id"])[-1]["code"]
    form = api.get(f"/api/v1/ballots/{code.lower()}", who=None).get_json()
    assert form["category"] == "群众代表" and form["asks"] == "level"
    assert [q["organization_name"] for q in form["questions"]] == ["东村党支部", "甲镇机关党支部"]
    assert [c["label"] for c in form["questions"][0]["choices"]] == [
        "好",
        "较好",
        "一般",
        "较差",
        "不了解",
    ]
    cast(api, code, levels(evaluating))
    problem = assert_problem(
        api.get(f"/api/v1/ballots/{code}", who=None), 409, "ballot-code-rejected"
    )
    assert problem["reason"] == "used"


def counted_session(api: Api, evaluating: list[int]) -> tuple[dict[str, Any], list[str]]:
    """A session where five of six ballots were cast, then closed and counted; the receipts."""
    session = open_session(api, evaluating)
    receipts = []
    for row in codes_of(api, session["id"])[:5]:
        accepted = cast(api, row["code"], levels(evaluating))
        assert accepted.status_code == 201
        receipts.append(accepted.get_json()["receipt"])
    url = f"/api/v1/ballot-sessions/{session['id']}"
    api.post(f"{url}/close", who="teller")
    attend(api, session["id"])
    counted = api.post(f"{url}/count", who="teller")
    assert counted.status_code == 200, counted.get_json()
    return counted.get_json(), receipts


def test_a_voter_finds_the_receipt_after_counting_and_a_made_up_one_is_not_found(
    api: Api, evaluating: list[int]
) -> None:
    session = open_session(api, evaluating)
    code = codes_of(api, session["id"])[0]["code"]
    receipt = cast(api, code, levels(evaluating)).get_json()["receipt"]
    assert len(receipt) == 11 and receipt[5] == "-"
    public = f"/api/v1/public/ballot-sessions/{session['id']}/receipts"
    assert_problem(api.get(f"{public}/{receipt}", who=None), 409, "ballot-session-state")
    for row in codes_of(api, session["id"])[1:4]:
        cast(api, row["code"], levels(evaluating))
    api.post(f"/api/v1/ballot-sessions/{session['id']}/close", who="teller")
    attend(api, session["id"])
    api.post(f"/api/v1/ballot-sessions/{session['id']}/count", who="teller")
    found = api.get(f"{public}/{receipt.lower().replace('-', ' ')}", who=None)
    assert found.status_code == 200
    assert found.get_json() == {"session_id": session["id"], "receipt": receipt, "counted": True}
    assert_problem(api.get(f"{public}/00000-00000", who=None), 404, "not-found")
    assert_problem(api.get(f"{public}/not-a-receipt", who=None), 404, "not-found")


def test_the_bulletin_board_lists_every_receipt_and_the_digest_counting_committed_to(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    counted, receipts = counted_session(api, evaluating)
    board = api.get(f"/api/v1/public/ballot-sessions/{counted['id']}/receipts", who=None)
    assert board.status_code == 200
    body = board.get_json()
    assert body["receipts"] == sorted(receipts) and body["ballots"] == 5
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "ballot_session.count",
            AuditEvent.entity_id == str(counted["id"]),
        )
    ).one()
    assert event.after["box_digest"] == body["box_digest"] == counted["box_digest"]
    assert event.after["ballots"] == 5
    digests = db.scalars(
        select(SealedBallot.digest).where(SealedBallot.session_id == counted["id"])
    ).all()
    assert box.box_digest(list(digests)) == body["box_digest"]
    assert sorted(box.receipt(d) for d in digests) == sorted(receipts)


def test_the_same_box_always_counts_the_same(
    api: Api, db: Session, settings: Settings, evaluating: list[int]
) -> None:
    counted, _ = counted_session(api, evaluating)
    ballot = db.get_one(BallotSession, counted["id"])
    stored = {r["grading_id"]: r for r in counted["results"]}
    campaign = db.get_one(Campaign, ballot.campaign_id)
    shape = ops.layout(db, ballot)
    for _ in range(2):  # opened again, in memory: the same totals
        _, totals = ops._open_box(db, ballot, settings.box_secret, shape)
        for grading_id in evaluating:
            grading = db.get_one(Grading, grading_id)
            again = ops.tally(db, ballot, campaign, grading, totals, shape)
            assert jsonable(again["categories"]) == stored[grading_id]["categories"]
            assert jsonable(again["sources"]) == stored[grading_id]["sources"]


def test_a_sealed_ballot_is_never_changed_or_removed(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    session = open_session(api, evaluating)
    cast(api, codes_of(api, session["id"])[0]["code"], levels(evaluating))
    for statement in (
        update(SealedBallot).values(sealed=b"forged"),
        delete(SealedBallot),
    ):
        with pytest.raises(DBAPIError), db.begin_nested():
            db.execute(statement)


def test_a_box_whose_key_is_lost_cannot_be_counted_and_a_supervisor_voids_it(
    app: Any, api: Api, evaluating: list[int]
) -> None:
    session = open_session(api, evaluating)
    for row in codes_of(api, session["id"])[:5]:
        cast(api, row["code"], levels(evaluating))
    url = f"/api/v1/ballot-sessions/{session['id']}"
    api.post(f"{url}/close", who="teller")
    attend(api, session["id"])
    settings = app.extensions["grading.settings"]
    app.extensions["grading.settings"] = replace(settings, ballot_box_secret="another secret")
    assert_problem(api.post(f"{url}/count", who="teller"), 409, "ballot-box-locked")
    assert_problem(
        api.post(f"{url}/void", json={"reason": "密钥丢失"}, who="teller"), 403, "forbidden"
    )
    assert_problem(api.post(f"{url}/void", json={}, who="supervisor"), 422, "validation-error")
    voided = api.post(
        f"{url}/void", json={"reason": "计票密钥丢失，重新召开测评会"}, who="supervisor"
    )
    assert voided.status_code == 200
    assert (voided.get_json()["state"], voided.get_json()["void_reason"]) == (
        "voided",
        "计票密钥丢失，重新召开测评会",
    )
    assert_problem(api.post(f"{url}/count", who="teller"), 409, "ballot-session-state")
    assert_problem(
        api.post(f"{url}/void", json={"reason": "again"}, who="supervisor"),
        409,
        "ballot-session-state",
    )


def test_a_counted_session_is_not_voided(api: Api, evaluating: list[int]) -> None:
    counted, _ = counted_session(api, evaluating)
    assert_problem(
        api.post(
            f"/api/v1/ballot-sessions/{counted['id']}/void", json={"reason": "r"}, who="supervisor"
        ),
        409,
        "ballot-session-state",
    )


def test_the_anonymous_ballot_endpoints_are_rate_limited_per_client(
    app: Any, api: Api, evaluating: list[int]
) -> None:
    now = [1_800_000_000.0]  # a fixed clock, moved by hand
    app.extensions["grading.clock"] = lambda: now[0]
    settings = app.extensions["grading.settings"]
    app.extensions["grading.settings"] = replace(settings, ballot_limit=3, ballot_window_seconds=60)
    code = codes_of(api, open_session(api, evaluating)["id"])[0]["code"]
    for _ in range(3):
        assert api.get(f"/api/v1/ballots/{code}", who=None).status_code == 200
    refused = cast(api, code, levels(evaluating))
    problem = assert_problem(refused, 429, "rate-limited")
    assert (
        refused.headers["Retry-After"] == str(60 - int(now[0]) % 60) == str(problem["retry_after"])
    )
    now[0] += 60  # the next window: the code was not used by the refused request
    assert cast(api, code, levels(evaluating)).status_code == 201


def test_a_ballot_is_three_statements_find_mark_append(
    api: Api, connection: Connection, evaluating: list[int]
) -> None:
    """The hot path of a meeting: no counters, no audit event, no category row (bench: ≥ 500/s)."""
    session = open_session(api, evaluating)
    first, second = [row["code"] for row in codes_of(api, session["id"])[:2]]
    assert cast(api, first, levels(evaluating)).status_code == 201  # the session's shape cached
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(statement.split()[0].upper())

    event.listen(connection, "before_cursor_execute", count)
    try:
        assert cast(api, second, levels(evaluating)).status_code == 201
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert seen == ["SELECT", "UPDATE", "INSERT"]


def test_a_ballot_retried_with_its_idempotency_key_gets_the_first_answer(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    code = codes_of(api, open_session(api, evaluating)["id"])[0]["code"]
    key = {"Idempotency-Key": "3f0c6a1e-9d7b-4c55-8a21-5b7e0f2d4c19"}
    body = {"code": code, "answers": levels(evaluating)}
    first = api.post("/api/v1/ballots", json=body, who=None, headers=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = api.post("/api/v1/ballots", json=body, who=None, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert db.scalar(select(func.count()).select_from(SealedBallot)) == 1
    # the receipt is kept only sealed under the key: the code's row does not show it
    stored = db.scalar(select(BallotCode.retry_box).where(BallotCode.code == code))
    receipt = first.get_json()["receipt"]
    assert (
        stored
        and receipt.encode() not in stored
        and receipt.replace("-", "").encode() not in stored
    )


def test_a_retry_with_other_answers_or_another_key_casts_nothing(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    code = codes_of(api, open_session(api, evaluating)["id"])[0]["code"]
    key = {"Idempotency-Key": "a-voters-phone-0123456789"}
    assert cast_with(api, code, levels(evaluating), key).status_code == 201
    changed = cast_with(api, code, levels(evaluating, "poor", "poor"), key)
    assert_problem(changed, 422, "idempotency-key-reused")
    other = cast_with(api, code, levels(evaluating), {"Idempotency-Key": "someone-elses-key-42"})
    assert assert_problem(other, 409, "ballot-code-rejected")["reason"] == "used"
    assert assert_problem(cast(api, code, levels(evaluating)), 409, "ballot-code-rejected")
    assert db.scalar(select(func.count()).select_from(SealedBallot)) == 1


def test_a_short_ballot_idempotency_key_is_refused_and_the_code_stays_unused(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    code = codes_of(api, open_session(api, evaluating)["id"])[0]["code"]
    short = cast_with(api, code, levels(evaluating), {"Idempotency-Key": "1"})
    assert "16–200" in assert_problem(short, 400, "malformed-request")["detail"]
    assert db.scalar(select(BallotCode.used).where(BallotCode.code == code)) is False


def test_a_retry_after_the_session_closed_still_gets_the_first_answer(
    api: Api, evaluating: list[int]
) -> None:
    session = open_session(api, evaluating)
    code = codes_of(api, session["id"])[0]["code"]
    key = {"Idempotency-Key": "0d9e1b2c-closing-time-retry"}
    first = cast_with(api, code, levels(evaluating), key)
    closed = api.post(f"/api/v1/ballot-sessions/{session['id']}/close", json={}, who="teller")
    assert closed.status_code == 200, closed.get_json()
    again = cast_with(api, code, levels(evaluating), key)
    assert again.status_code == 201 and again.get_json()["receipt"] == first.get_json()["receipt"]


def cast_with(api: Api, code: str, answers: list[dict[str, Any]], headers: dict[str, str]) -> Any:
    return api.post(
        "/api/v1/ballots", json={"code": code, "answers": answers}, who=None, headers=headers
    )


def test_a_session_moves_at_its_one_transitions_endpoint_as_at_its_verbs(
    api: Api, db: Session, evaluating: list[int]
) -> None:
    session_id = open_session(api, evaluating)["id"]
    path = f"/api/v1/ballot-sessions/{session_id}/transitions"
    unknown = assert_problem(
        api.post(path, json={"transition": "reopen"}, who="teller"), 422, "validation-error"
    )
    assert list(unknown["errors"]) == ["transition"]
    stray = assert_problem(
        api.post(path, json={"transition": "close", "reason": "x"}, who="teller"),
        422,
        "validation-error",
    )
    assert stray["errors"] == {"reason": ["unknown field"]}
    no_reason = assert_problem(
        api.post(path, json={"transition": "void"}, who="supervisor"), 422, "validation-error"
    )
    assert list(no_reason["errors"]) == ["reason"]  # the verb's own schema
    assert_problem(api.post(path, json={"transition": "close"}, who="supervisor"), 403, "forbidden")
    wrong = assert_problem(  # open: voiding it is `void`, not `void_closed`
        api.post(path, json={"transition": "void_closed", "reason": "r"}, who="supervisor"),
        409,
        "ballot-session-state",
    )
    assert wrong["state"] == "open"
    closed = api.post(path, json={"transition": "close"}, who="teller")
    assert closed.status_code == 200 and closed.get_json()["state"] == "closed"
    voided = api.post(
        path, json={"transition": "void_closed", "reason": "会场秩序混乱"}, who="supervisor"
    )
    assert voided.status_code == 200 and voided.get_json()["state"] == "voided"
    trail = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.in_(["ballot_session.close", "ballot_session.void"]))
        .order_by(AuditEvent.id)
    ).all()
    assert trail == ["ballot_session.close", "ballot_session.void"]  # as the verbs write it
