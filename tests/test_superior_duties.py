"""The superior grades; the graded branch does not (docs/decisions/0033).

The story that opened the issue, on the demo over HTTP: an account homed at 白河村党支部 with the
reviewer and teller roles on that same branch tries to survey it, hold and count its ballot
meeting with 3 codes for 18 members, close evaluation and assess it. Each attempt is refused with
a problem that names the rule; the county's people then do the same steps and succeed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.accounts import operations as accounts
from service.accounts.models import Role
from service.ballots import operations as ballots
from service.ballots.models import BallotCategory, BallotCode
from service.campaigns.models import Campaign
from service.config import Settings
from service.context import Actor
from service.decisions.models import DecisionMeeting
from service.errors import CodeRejected
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.verification.state import diverged
from tests.ballot_helpers import attend
from tests.conftest import Api, assert_problem
from tests.demo_http import Http
from tests.grading_helpers import put_in_state, satisfy, walk
from tests.world import SEVEN

SURVEY = {"method": "meeting", "date": "2026-03-20", "problems": ["组织生活不经常"]}
OPINION = {"level": "good", "opinion": "依据测评结果，支部委员会认定为好", "met_on": "2026-04-06"}


def meeting_of(api: Api, grading_id: int, issued: int = 10) -> dict[str, Any]:
    """A ballot session over one of the world's branches (a roll of 10): `issued` codes."""
    return {
        "campaign_id": api.world.campaigns["open"].id,
        "title": "会",
        "grading_ids": [grading_id],
        "categories": [{"code": "members", "issued": issued}],
    }


def refused(response: Any, rule: str) -> dict[str, Any]:
    """A 403 superior-duty naming `rule`, in English and in Chinese."""
    problem = assert_problem(response, 403, "superior-duty")
    assert problem["rule"]["code"] == rule, problem
    assert problem["rule"]["message_zh"] and problem["rule"]["message_en"]
    return problem


class Story:
    def __init__(self, app: Any, tokens: dict[str, str]) -> None:
        self.client = app.test_client()
        self.http = Http(self.client, tokens)
        self.tokens = tokens
        self.campaign = self.http("GET", "/campaigns", "admin")["items"][0]
        self.baihe = self.http("GET", "/organizations?q=白河村", "admin")["items"][0]
        self.grading = self.http(
            "GET",
            f"/campaigns/{self.campaign['id']}/gradings?within={self.baihe['id']}",
            "county.reviewer",
        )["items"][0]

    def raw(self, method: str, path: str, who: str, body: Any = None, **headers: str) -> Any:
        auth = {"Authorization": f"Bearer {self.tokens[who]}", **headers}
        return self.client.open(f"/api/v1{path}", method=method, json=body, headers=auth)

    def insider(self) -> None:
        """The township's admin makes 白河村's own account a reviewer and teller of 白河村."""
        account = self.http(
            "POST",
            "/accounts",
            "fenghuang.admin",
            {
                "username": "baihe.insider",
                "display_name": "白河村支委",
                "organization_id": self.baihe["id"],
                "grants": [
                    {"role": "reviewer", "organization_id": self.baihe["id"]},
                    {"role": "teller", "organization_id": self.baihe["id"]},
                ],
            },
            201,
        )
        self.tokens["insider"] = self.http(
            "POST", f"/accounts/{account['id']}/tokens", "fenghuang.admin", {"name": "t"}, 201
        )["token"]

    def session_body(self, members: int, **extra: Any) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign["id"],
            "title": "白河村党员群众测评会",
            "grading_ids": [self.grading["id"]],
            "categories": [{"code": "members", "issued": members}],
            **extra,
        }


@pytest.fixture
def story(demo_app: Any) -> Story:
    app, tokens, _ = demo_app
    told = Story(app, tokens)
    told.insider()
    return told


def test_a_branch_cannot_grade_itself_and_the_superior_can(story: Story) -> None:
    g = story.grading["id"]
    # 调查摸底 is the committee's: the branch's own reviewer is refused, the county's records it
    refused(
        story.raw("POST", f"/gradings/{g}/survey-entries", "insider", SURVEY),
        "not_for_own_organization",
    )
    story.http("POST", f"/gradings/{g}/survey-entries", "county.reviewer", SURVEY, 201)
    story.http(
        "POST", f"/gradings/{g}/transitions", "county.reviewer", {"transition": "open_self_rating"}
    )
    standard = story.http("GET", f"/standards/{story.grading['standard_id']}", "baihe.secretary")
    scores = [
        {"indicator": i["code"], "score": str(i["max_points"])} for i in standard["indicators"]
    ]
    for entry, indicator in zip(scores, standard["indicators"], strict=True):
        if indicator["sub_items"]:
            del entry["score"]
            entry["sub_items"] = [
                {"code": s["code"], "score": str(s["max_points"])} for s in indicator["sub_items"]
            ]
    story.http(
        "PUT",
        f"/gradings/{g}/self-rating",
        "baihe.secretary",
        {
            "scores": scores,
            "proposed_level": "good",
            "explanation": "对照七项指标逐项自评，各项工作完成较好",
            "work_report": "支部坚持“三会一课”，开展主题党日12次，为群众办实事8件。",
        },
    )
    story.http(
        "POST",
        f"/gradings/{g}/transitions",
        "baihe.secretary",
        {"transition": "submit_self_rating"},
    )

    # 测评: the branch's own teller may not hold its meeting; 3 codes for 18 members never
    # reach the quorum; 20 codes are more than the roll without the superior's reason
    refused(
        story.raw("POST", "/ballot-sessions", "insider", story.session_body(3)),
        "not_for_own_organization",
    )
    few = assert_problem(
        story.raw("POST", "/ballot-sessions", "county.teller", story.session_body(3)),
        422,
        "ballot-roll",
    )
    assert few["rule"]["code"] == "quorum_reachable"
    assert (few["eligible"], few["issued"], few["required"]) == (18, 3, 12)
    many = assert_problem(
        story.raw("POST", "/ballot-sessions", "county.teller", story.session_body(20)),
        422,
        "ballot-roll",
    )
    assert many["rule"]["code"] == "codes_within_roll"
    meeting = story.http("POST", "/ballot-sessions", "county.teller", story.session_body(18), 201)
    url = f"/ballot-sessions/{meeting['id']}"
    refused(story.raw("GET", f"{url}/codes", "insider"), "not_for_own_organization")
    codes = story.http("GET", f"{url}/codes?format=csv", "county.teller")
    rows = [line.split(",")[0] for line in codes.lstrip("\ufeff").splitlines()[1:]]
    for code in rows[:13]:
        story.http(
            "POST",
            "/ballots",
            None,
            {"code": code, "answers": [{"grading_id": g, "level": "good"}]},
            201,
        )
    for step in ("close", "count"):
        refused(story.raw("POST", f"{url}/{step}", "insider"), "not_for_own_organization")
    story.http("POST", f"{url}/close", "county.teller")
    present = {"categories": [{"code": "members", "present": 12}]}
    refused(story.raw("POST", f"{url}/attendance", "insider", present), "not_for_own_organization")
    story.http("POST", f"{url}/attendance", "county.teller", present)
    more_ballots = assert_problem(
        story.raw("POST", f"{url}/count", "county.teller"), 409, "ballot-attendance"
    )
    assert more_ballots["rule"]["code"] == "ballots_within_attendance"  # 13 ballots, 12 present
    story.http(
        "POST",
        f"{url}/attendance",
        "county.teller",
        {"categories": [{"code": "members", "present": 15}], "reason": "补登迟到的三名党员"},
    )
    assert story.http("POST", f"{url}/count", "county.teller")["state"] == "counted"

    # the branch forms its opinion; evaluation is closed by the superior only
    story.http("PUT", f"/gradings/{g}/branch-opinion", "baihe.secretary", OPINION)
    refused(
        story.raw(
            "POST", f"/gradings/{g}/transitions", "insider", {"transition": "close_evaluation"}
        ),
        "not_for_own_organization",
    )
    story.http(
        "POST", f"/gradings/{g}/transitions", "county.teller", {"transition": "close_evaluation"}
    )

    # 上级评定: not the branch's own reviewer
    sheet = {"scores": scores, "note": "量化考核"}
    refused(
        story.raw("PUT", f"/gradings/{g}/assessment", "insider", sheet), "not_for_own_organization"
    )
    story.http("PUT", f"/gradings/{g}/assessment", "county.reviewer", sheet)
    refused(
        story.raw("PUT", f"/gradings/{g}/decision", "insider", {"level": "good"}),
        "not_for_own_organization",
    )
    assert story.http("GET", "/audit/verify", "county.inspector")["intact"] is True


def test_a_ballot_after_its_stage_is_refused_and_a_meeting_does_not_outlive_its_stage(
    api: Api, db: Session
) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "evaluation")
    campaign = db.get_one(Campaign, grading.campaign_id)
    org = db.get_one(Organization, grading.organization_id)
    session = ballots.open_session(
        db,
        Actor.system("t"),
        campaign,
        [(grading, org)],
        {"title": "会", "categories": [{"code": "members", "issued": 10}]},
        box_secret=Settings.from_env().box_secret,
    )
    db.commit()
    code = db.scalars(select(BallotCode.code).where(BallotCode.session_id == session.id)).first()
    # while the meeting is open the grading cannot leave evaluation, either way
    for name, who in (("close_evaluation", "teller"), ("return_self_rating", "reviewer")):
        body = {"transition": name, "reason": "退回"}
        blocked = assert_problem(
            api.post(f"/api/v1/gradings/{grading.id}/transitions", json=body, who=who),
            409,
            "transition-blocked",
        )
        assert "no_ballot_running" in [r["code"] for r in blocked["reasons"]]
    # a grading moved on behind the meeting's back (no guard: a direct step): no ballot counts
    walk(db.get_one(Grading, grading.id), "superior_review")
    db.commit()
    answer = [{"grading_id": grading.id, "level": "good"}]
    late = api.post("/api/v1/ballots", json={"code": code, "answers": answer}, who=None)
    assert assert_problem(late, 409, "ballot-code-rejected")["reason"] == "stage_over"
    with pytest.raises(CodeRejected):
        ballots.form(db, code)
    assert db.get_one(type(session), session.id).state == "open"  # it is the stage that ended


def test_the_superiors_override_issues_more_codes_than_the_roll_and_says_why(
    api: Api, db: Session
) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "evaluation")
    body = meeting_of(api, grading.id, issued=12)
    assert_problem(api.post("/api/v1/ballot-sessions", json=body, who="teller"), 422, "ballot-roll")
    reason = "名册未及时更新：本月新接收两名预备党员"
    opened = api.post(
        "/api/v1/ballot-sessions", json={**body, "over_issue_reason": reason}, who="teller"
    )
    assert opened.status_code == 201, opened.get_json()
    assert opened.get_json()["over_issue_reason"] == reason
    categories = opened.get_json()["categories"]
    assert (categories[0]["eligible"], categories[0]["issued"]) == (10, 12)
    events = api.get("/api/v1/audit/events?action=ballot_session.open", who="inspector").get_json()
    assert events["items"][-1]["reason"] == reason
    # a reason when nothing is over-issued is refused: it would read as an override
    fits = {**body, "categories": [{"code": "members", "issued": 10}], "over_issue_reason": "r"}
    problem = assert_problem(
        api.post("/api/v1/ballot-sessions", json=fits, who="teller"), 422, "ballot-roll"
    )
    assert problem["rule"]["code"] == "over_issue_reason"


def test_a_teller_granted_on_the_branch_itself_is_not_the_superior_unless_the_campaign_relaxes_it(
    api: Api, db: Session
) -> None:
    """Homed at the township, teller on the branch (not above it): superior_only refuses; a
    campaign whose decision_config.duties says ballot: in_scope lets the grant count."""
    actor = Actor.system("t")
    township_clerk = accounts.create_account(
        db, actor, username="a1.clerk", display_name="镇组织委员", organization=api.world.org("A1")
    )
    accounts.grant_role(db, actor, township_clerk, Role.TELLER, api.world.org("A1-01"))
    _, token = accounts.issue_token(db, actor, township_clerk, name="t", lifetime=timedelta(days=1))
    api.world.tokens["a1.clerk"] = token
    grading = put_in_state(db, api.world.gradings["A1-01"], "evaluation")
    body = meeting_of(api, grading.id)
    refused(api.post("/api/v1/ballot-sessions", json=body, who="a1.clerk"), "superior_only")
    campaign = db.get_one(Campaign, grading.campaign_id)
    campaign.decision_config = {"duties": {"ballot": "in_scope"}}
    db.commit()
    assert api.post("/api/v1/ballot-sessions", json=body, who="a1.clerk").status_code == 201
    shown = api.get(f"/api/v1/campaigns/{campaign.id}", who="admin").get_json()["procedure"]
    assert shown["duties"]["ballot"] == "in_scope" and shown["duties"]["assessment"] == "superior"


def test_only_a_supervisor_above_approves_a_decision(api: Api, db: Session) -> None:
    actor = Actor.system("t")
    grading = put_in_state(db, api.world.gradings["A1-01"], "superior_review")
    satisfy(db, grading, "decide")
    requested = api.post(
        f"/api/v1/gradings/{grading.id}/transitions", json={"transition": "decide"}, who="reviewer"
    )
    assert requested.status_code == 202, requested.get_json()
    own = accounts.create_account(
        db, actor, username="a101.sup", display_name="支部", organization=api.world.org("A1-01")
    )
    accounts.grant_role(db, actor, own, Role.SUPERVISOR, api.world.org("A1"))
    _, token = accounts.issue_token(db, actor, own, name="t", lifetime=timedelta(days=1))
    api.world.tokens["a101.sup"] = token
    approval = requested.get_json()["id"]
    refused(
        api.post(f"/api/v1/approvals/{approval}/approve", json={}, who="a101.sup"),
        "not_for_own_organization",
    )
    assert (
        api.post(f"/api/v1/approvals/{approval}/approve", json={}, who="supervisor").status_code
        == 200
    )


def test_the_roll_adds_up_and_is_kept_with_the_committee_and_its_term(api: Api) -> None:
    org = api.world.org("A1-01")
    url = f"/api/v1/organizations/{org.id}"
    body = {
        "full_members": 16,
        "probationary_members": 2,
        "committee_members": [
            {"name": "王建国", "post": "书记"},
            {"name": "李秀英", "post": "组织委员"},
        ],
        "elected_on": "2024-09-01",
    }
    changed = api.patch(url, json=body, who="admin")
    assert changed.status_code == 200, changed.get_json()
    got = changed.get_json()
    assert (got["member_count"], got["full_members"], got["probationary_members"]) == (18, 16, 2)
    assert got["committee_members"][0] == {"name": "王建国", "post": "书记"}
    problem = assert_problem(
        api.patch(url, json={"member_count": 20}, who="admin"), 422, "validation-error"
    )
    assert problem["errors"] == {"member_count": ["the roll says 18 (正式 16 + 预备 2)"]}


def test_the_meeting_record_is_checked_and_decides_only_what_it_says(api: Api, db: Session) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "superior_review")
    other = api.world.gradings["A1-02"]
    campaign = api.world.campaigns["open"].id
    url = f"/api/v1/campaigns/{campaign}/decision-meetings"
    body = {
        "organization_id": api.world.org("A1-01").id,
        "held_on": "2026-04-10",
        "chaired_by": "书记",
        "attendees": ["委员"],
        "minutes": "研究",
        "results": [{"grading_id": grading.id, "level": "superb"}],
    }
    problem = assert_problem(api.post(url, json=body, who="reviewer"), 422, "validation-error")
    assert set(problem["errors"]) == {
        "organization_id",
        "results.0.grading_id",
        "results.0.level",
        "chaired_by",
    }
    fixed = {**body, "organization_id": api.world.org("A1").id, "attendees": ["书记", "委员"]}
    fixed["results"] = [
        {"grading_id": grading.id, "level": "good"},
        {"grading_id": other.id, "level": "good"},
    ]
    assert_problem(api.post(url, json=fixed, who="reviewer"), 409, "stage-not-open")
    fixed["results"] = fixed["results"][:1]
    correcting = {**fixed, "corrects_id": 999_999}
    problem = assert_problem(
        api.post(url, json=correcting, who="reviewer"), 422, "validation-error"
    )
    assert set(problem["errors"]) == {"corrects_id", "reason"}
    made = api.post(url, json=fixed, who="reviewer")
    assert made.status_code == 201, made.get_json()
    shown = api.get(
        f"/api/v1/decision-meetings/{made.get_json()['id']}", who="inspector"
    ).get_json()
    assert shown["results"] == [{"grading_id": grading.id, "level": "good"}]
    # the record is append-only; a superuser's rewrite is caught by the trail's replay
    rewrite = update(DecisionMeeting).values(minutes="改写的记录")
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(rewrite)
    with triggers_off(db.connection(), db.get_bind().dialect.name, ("decision_meetings",)):
        db.execute(rewrite)
    assert any("decision meeting" in d.detail for d in diverged(db))


@contextmanager
def triggers_off(connection: Any, dialect: str, tables: tuple[str, ...]) -> Iterator[None]:
    """What a database superuser can do: switch the append-only triggers off."""
    if dialect == "postgresql":
        connection.execute(text("SET session_replication_role = replica"))
        try:
            yield
        finally:
            connection.execute(text("SET session_replication_role = origin"))
        return
    for table in tables:
        connection.execute(text(f"DROP TRIGGER {table}_no_update"))
    yield  # the test's rollback brings the triggers back


def test_the_attendance_is_within_the_roll_and_tampering_with_it_is_caught(
    api: Api, db: Session
) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "evaluation")
    opened = api.post("/api/v1/ballot-sessions", json=meeting_of(api, grading.id), who="teller")
    opened = opened.get_json()
    url = f"/api/v1/ballot-sessions/{opened['id']}/attendance"
    over = api.post(url, json={"categories": [{"code": "members", "present": 11}]}, who="teller")
    assert assert_problem(over, 422, "ballot-roll")["rule"]["code"] == "present_within_roll"
    attend(api, opened["id"], members=8)
    again = api.post(url, json={"categories": [{"code": "members", "present": 9}]}, who="teller")
    assert "reason" in assert_problem(again, 422, "validation-error")["errors"]
    db.execute(update(BallotCategory).values(present=10))
    db.commit()
    assert any("present" in d.detail for d in diverged(db))


def test_the_ballot_page_shows_the_work_report_and_the_self_rating_explanation(
    api: Api, db: Session
) -> None:
    grading = put_in_state(db, api.world.gradings["A1-01"], "self_rating")
    written = api.put(
        f"/api/v1/gradings/{grading.id}/self-rating",
        json={
            "scores": [{"indicator": c, "score": str(p)} for c, _, p in SEVEN],
            "proposed_level": "good",
            "explanation": "各项指标均达到好的标准",
            "work_report": "一年来支部开展主题党日十二次。",
        },
        who="secretary",
    )
    assert written.status_code == 200, written.get_json()
    put_in_state(db, grading, "evaluation")
    opened = api.post("/api/v1/ballot-sessions", json=meeting_of(api, grading.id), who="teller")
    opened = opened.get_json()
    code = db.scalars(select(BallotCode.code).where(BallotCode.session_id == opened["id"])).first()
    form = api.get(f"/api/v1/ballots/{code}", who=None).get_json()
    told = form["questions"][0]["self_rating"]
    assert told == {
        "proposed_level": "好",
        "explanation": "各项指标均达到好的标准",
        "work_report": "一年来支部开展主题党日十二次。",
    }
    page = api.client.get(f"/b/{code}").get_data(as_text=True)
    assert "一年来支部开展主题党日十二次。" in page and "各项指标均达到好的标准" in page
