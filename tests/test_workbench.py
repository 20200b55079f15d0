"""The workbench (issue 37), through Flask's test client on a demo of its own: signing in with a
password (lockout, cookie flags, sign-out revokes), CSRF on every form, the 待办, and the rule
that makes it safe — every read and write goes through the API with the person's own token, so
a branch secretary is refused exactly what the API refuses, and one branch's walk from survey
to 公示 leaves the audit trail the same steps leave through the API."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts import passwords
from service.accounts.models import Account
from service.audit.models import AuditEvent
from service.db import make_engine, utcnow
from service.gradings.models import RecordVersion
from tests.site import DemoSite, fresh_demo
from tests.workbench_helpers import (
    BRANCH,
    Desk,
    api_walk,
    field_names,
    hidden_fields,
    refusal,
    scores_filled,
    workbench_walk,
)


@pytest.fixture(scope="module")
def site(fresh_database_url: Callable[[str], str]) -> DemoSite:
    return fresh_demo(fresh_database_url, "workbench")


@pytest.fixture
def app(site: DemoSite, tmp_path: Path) -> Iterator[Flask]:
    flask_app = site.app(evidence_dir=str(tmp_path / "evidence"))
    yield flask_app
    flask_app.extensions["grading.engine"].dispose()


ENGINES: dict[str, Any] = {}


def db_of(site: DemoSite) -> Session:
    """A session on the site's database (one engine per site, disposed with the module)."""
    if site.url not in ENGINES:
        ENGINES[site.url] = make_engine(site.url)
    return Session(ENGINES[site.url])


@pytest.fixture(scope="module", autouse=True)
def _engines() -> Iterator[None]:
    yield
    for engine in ENGINES.values():
        engine.dispose()
    ENGINES.clear()


def test_a_page_of_the_workbench_sends_a_stranger_to_sign_in_and_back(app: Flask) -> None:
    answer = app.test_client().get("/w/approvals")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/w/sign-in?next=/w/approvals"


def test_signing_in_sets_a_cookie_scripts_cannot_read_nor_other_sites_send(
    app: Flask, site: DemoSite
) -> None:
    desk = Desk(app.test_client(), "county.reviewer")
    answer = desk.sign_in(site.password, "/w/approvals")
    assert answer.status_code == 303 and answer.headers["Location"] == "/w/approvals"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("wb=gr_")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/w"):
        assert flag in cookie
    assert "Secure" not in cookie  # plain http on a loopback address: the demo
    secure = Desk(app.test_client(), "county.reviewer")
    over_https = secure.client.get("/w/sign-in", base_url="https://grading.example.gov.cn")
    fields = hidden_fields(over_https.get_data(as_text=True), "/w/sign-in")
    answer = secure.client.post(
        "/w/sign-in",
        base_url="https://grading.example.gov.cn",
        data={**fields, "username": "county.reviewer", "password": site.password},
    )
    assert "; Secure" in answer.headers["Set-Cookie"]


def test_after_signing_in_elsewhere_it_goes_only_to_a_workbench_page(
    app: Flask, site: DemoSite
) -> None:
    for elsewhere in ("https://evil.example/", "//evil.example/w", "/api/v1/me"):
        answer = Desk(app.test_client(), "county.reviewer").sign_in(site.password, elsewhere)
        assert answer.headers["Location"] == "/w/", elsewhere


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    app: Flask, site: DemoSite
) -> None:
    for username, password in (
        ("county.teller", "not-the-password"),
        ("nobody.here", site.password),
        ("county.teller", ""),
    ):
        answer = Desk(app.test_client(), username).sign_in(password)
        html = answer.get_data(as_text=True)
        assert answer.status_code in (401, 422), (username, answer.status_code)
        assert "wb=" not in answer.headers.get("Set-Cookie", "")
        if password:
            assert answer.status_code == 401 and "用户名或密码不正确" in refusal(html)
        else:
            assert answer.status_code == 422 and "请填写用户名和密码" in refusal(html)


def test_five_wrong_passwords_lock_the_sign_in_even_for_the_right_one_until_it_passes(
    app: Flask, site: DemoSite
) -> None:
    desk = Desk(app.test_client(), "county.inspector")
    for _ in range(passwords.ATTEMPTS):
        assert desk.sign_in("guessing-again").status_code == 401
    locked = desk.sign_in(site.password)
    assert locked.status_code == 401 and "锁定" in refusal(locked.get_data(as_text=True))
    with db_of(site) as db:
        account = db.scalars(select(Account).where(Account.username == "county.inspector")).one()
        assert account.locked_until is not None
        account.locked_until = utcnow() - timedelta(seconds=1)  # fifteen minutes later
        db.commit()
    assert desk.sign_in(site.password).status_code == 303


def test_a_password_too_short_or_the_username_is_refused(site: DemoSite) -> None:
    from service.context import Actor
    from service.errors import ValidationFailed

    with db_of(site) as db:
        account = db.scalars(select(Account).where(Account.username == "fenghuang.admin")).one()
        for weak in ("short", "fenghuang.admin"):
            with pytest.raises(ValidationFailed) as refused:
                passwords.set_password(db, Actor.system("t"), account, weak)
            assert "password" in refused.value.errors
        db.rollback()


def test_the_stored_password_is_a_salted_slow_hash_and_its_setting_is_audited(
    site: DemoSite,
) -> None:
    with db_of(site) as db:
        account = db.scalars(select(Account).where(Account.username == "admin")).one()
        assert account.password_hash is not None
        assert account.password_hash.startswith("scrypt:")
        assert site.password not in account.password_hash
        events = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "account.password_set",
                AuditEvent.entity_id == str(account.id),
            )
        ).all()
        assert events and all("password" not in str(e.after) for e in events)


def test_signing_out_revokes_the_token_behind_the_cookie(app: Flask, site: DemoSite) -> None:
    desk = Desk.signed_in(app, "county.reviewer", site.password)
    token = desk.client.get_cookie("wb", path="/w")
    assert token is not None
    assert desk.client.get("/w/").status_code == 200
    out = desk.submit("/w/", "/w/sign-out", {})
    assert out.status_code == 303 and out.headers["Location"] == "/w/sign-in"
    assert desk.client.get("/w/").status_code == 303  # signed out
    # the token the cookie held is revoked: kept by someone, it opens nothing
    stolen = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token.value}"})
    assert stolen.status_code == 401 and stolen.get_json()["type"] == "/problems/token-revoked"


def test_a_form_posted_without_its_csrf_token_is_refused_and_writes_nothing(
    app: Flask, site: DemoSite
) -> None:
    desk = Desk.signed_in(app, "county.reviewer", site.password)
    grading = site.ids[f"grading:{BRANCH}"]
    before = _versions(site, grading)
    answer = desk.client.post(
        f"/w/gradings/{grading}/survey", data={"method": "meeting", "date": "2026-12-07"}
    )
    assert answer.status_code == 400 and "页面已过期" in answer.get_data(as_text=True)
    assert _versions(site, grading) == before


def _versions(site: DemoSite, grading_id: int) -> int:
    with db_of(site) as db:
        return (
            db.scalar(
                select(func.count())
                .select_from(RecordVersion)
                .where(RecordVersion.grading_id == grading_id)
            )
            or 0
        )


def test_a_branch_secretary_is_refused_at_the_workbench_what_the_api_refuses(
    app: Flask, site: DemoSite
) -> None:
    """No second authorization path: the secretary forges the reviewer's survey form and the
    transition only the reviewer may fire — the workbench answers what the API answers the
    secretary's token, and nothing is written."""
    grading = site.ids[f"grading:{BRANCH}"]
    secretary = Desk.signed_in(app, "baihe.secretary", site.password)
    page = secretary.page(f"/w/gradings/{grading}")
    assert "录入调查摸底情况" not in page  # not offered to a secretary
    assert "需要角色" in page  # the next step says who may take it
    fields = hidden_fields(page, "/w/sign-out")  # the page's CSRF token
    before = _versions(site, grading)
    forged = secretary.client.post(
        f"/w/gradings/{grading}/survey",
        data={**fields, "method": "meeting", "date": "2026-12-07"},
    )
    direct = app.test_client().post(
        f"/api/v1/gradings/{grading}/survey-entries",
        json={"method": "meeting", "date": "2026-12-07"},
        headers={
            "Authorization": f"Bearer {site.tokens['baihe.secretary']}",
            "Accept-Language": "zh-CN",
        },
    )
    assert forged.status_code == direct.status_code == 403
    assert direct.get_json()["detail"] in refusal(forged.get_data(as_text=True))
    fired = secretary.client.post(
        f"/w/gradings/{grading}/transition", data={**fields, "transition": "open_self_rating"}
    )
    assert fired.status_code == 403
    assert _versions(site, grading) == before
    with db_of(site) as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "grading.transition", AuditEvent.entity_id == str(grading)
                )
            )
            == 0
        )


def test_a_grading_outside_the_persons_reach_is_not_found(app: Flask, site: DemoSite) -> None:
    secretary = Desk.signed_in(app, "baihe.secretary", site.password)
    other = site.ids["grading:YC-XL-FH-V02"]
    answer = secretary.client.get(f"/w/gradings/{other}")
    assert answer.status_code == 404 and "没有找到" in answer.get_data(as_text=True)


def test_the_secretarys_tasks_are_their_branchs_and_the_reviewers_are_every_survey(
    app: Flask, site: DemoSite
) -> None:
    secretary = Desk.signed_in(app, "baihe.secretary", site.password)
    mine = secretary.page("/w/")
    assert "目前没有需要您办理的事项" in mine  # the branch is in the survey: the reviewer's
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    theirs = reviewer.page("/w/?state=survey")
    rows = re.findall(r'<a href="/w/gradings/(\d+)">', theirs)
    assert str(site.ids[f"grading:{BRANCH}"]) in rows
    assert "录入调查摸底情况" in theirs and "完成调查摸底，开始自评" in theirs
    assert "公示" not in re.sub(r"<select.*?</select>", "", theirs, flags=re.S).split("<tbody>")[1]


def test_a_stale_form_is_refused_rather_than_applied(app: Flask, site: DemoSite) -> None:
    """A page left open while someone else moved the grading: its step is refused (412)."""
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    grading = site.ids["grading:YC-XL-FH-V02"]
    page = f"/w/gradings/{grading}"
    surveyed = reviewer.submit(page, f"{page}/survey", {"method": "meeting", "date": "2026-12-07"})
    assert surveyed.status_code == 303, refusal(surveyed.get_data(as_text=True))
    old = hidden_fields(reviewer.page(page), f"{page}/transition")
    old_version = int(old["version"])
    with db_of(site) as db:
        from service.gradings.models import Grading

        db.get_one(Grading, grading).version = old_version + 1  # someone else's step
        db.commit()
    answer = reviewer.client.post(
        f"{page}/transition", data={**old, "transition": "open_self_rating"}
    )
    assert answer.status_code == 412


def test_a_walk_through_the_workbench_leaves_the_trail_the_api_leaves(
    fresh_database_url: Callable[[str], str],
) -> None:
    """One branch from survey to 公示 through the workbench, and the same steps through the API
    on a second copy of the demo: the grading's history is the same, step by step, and the
    audit trail of each verifies intact."""
    trails = []
    for way in ("workbench", "api"):
        site = fresh_demo(fresh_database_url, f"walk{way}")
        app = site.app()
        grading = site.ids[f"grading:{BRANCH}"]
        if way == "workbench":
            workbench_walk(app, site, grading)
        else:
            api_walk(app.test_client(), site, grading)
        client = app.test_client()
        auth = {"Authorization": f"Bearer {site.tokens['county.inspector']}"}
        seen = client.get(f"/api/v1/gradings/{grading}", headers=auth).get_json()
        assert seen["state"] == "publicity"
        history = client.get(
            f"/api/v1/gradings/{grading}/history?limit=100", headers=auth
        ).get_json()["items"]
        trails.append([_step(e) for e in history])
        verified = client.get("/api/v1/audit/verify", headers=auth).get_json()
        assert verified["intact"] is True, verified
        app.extensions["grading.engine"].dispose()
    workbench_trail, api_trail = trails
    assert len(workbench_trail) > 10
    assert workbench_trail == api_trail


def _step(event: dict[str, Any]) -> tuple[Any, ...]:
    """An event of the history as the person did it: who, what, why, and what was written —
    not when, nor ids a second database numbers differently."""
    after = event.get("after") or {}
    data = after.get("data") if isinstance(after, dict) else None
    written = {k: v for k, v in (data or {}).items() if k not in ("meeting_id",)}
    return (
        event["actor"],
        event["role"],
        event["action"],
        event["summary"],
        event["reason"],
        written,
    )


def test_progress_shows_the_apis_counts_as_tables_and_charts_within_scope(
    app: Flask, site: DemoSite
) -> None:
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    html = reviewer.page("/w/progress")
    campaign = site.ids["campaign"]
    report = _api(
        app, site, "county.reviewer", f"/campaigns/{campaign}/reports/progress"
    ).get_json()
    for unit in report["gradings_by_unit"]:
        row = re.search(rf'<th scope="row">{unit["unit"]}</th>(.*?)</tr>', html, re.S)
        assert row is not None, unit["unit"]
        cells = [int(c) for c in re.findall(r"<td>(\d+)</td>", row.group(1))]
        assert sum(cells) == sum(unit["states"].values())
    assert html.count('role="img"') == 2 and "<rect" in html
    secretary = Desk.signed_in(app, "baihe.secretary", site.password)
    own = secretary.page("/w/progress")
    assert "青石镇党委" not in own and "凤凰镇党委" in own


def test_the_secretary_uploads_evidence_for_the_self_rating_and_reads_it_back(
    app: Flask, site: DemoSite
) -> None:
    secretary, page = _secretary_at_self_rating(app, site, "YC-XL-FH-V03")
    html = secretary.page(page)
    assert "为自评表上传佐证材料" in html
    fields = hidden_fields(html, f"{page}/evidence")
    scan = b"%PDF-1.4\n" + b"0" * 1_500_000  # larger than the API's body limit (1 MB)
    sent = secretary.client.post(
        f"{page}/evidence",
        data={**fields, "file": (io.BytesIO(scan), "支部台账.pdf"), "description": "扫描件"},
        content_type="multipart/form-data",
    )
    sent.request.environ["wsgi.input"].close()  # the test client spooled the upload to a file
    assert sent.status_code == 303, refusal(sent.get_data(as_text=True))
    html = secretary.page(page)
    [link] = re.findall(rf'href="({page}/evidence/\d+)"', html)
    assert "支部台账.pdf" in html
    got = secretary.client.get(link)
    assert got.status_code == 200 and got.data == scan
    assert got.headers["Content-Type"] == "application/pdf"
    # a file that is not what its name says: the API's refusal, in Chinese, nothing kept
    fields = hidden_fields(secretary.page(page), f"{page}/evidence")
    bad = secretary.client.post(
        f"{page}/evidence",
        data={**fields, "file": (io.BytesIO(b"MZ\x90"), "表格.xlsx")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "只能上传" in refusal(bad.get_data(as_text=True))
    other = Desk.signed_in(app, "baihe.secretary", site.password)
    assert other.client.get(link).status_code == 404  # another branch's secretary


def _in_self_rating(app: Flask, site: DemoSite, code: str) -> int:
    """The branch's grading, surveyed and opened for self-rating by the reviewer's forms."""
    grading = site.ids[f"grading:{code}"]
    page = f"/w/gradings/{grading}"
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    assert reviewer.submit(page, f"{page}/survey", {"method": "meeting"}).status_code == 303
    opened = reviewer.submit(page, f"{page}/transition", {"transition": "open_self_rating"})
    assert opened.status_code == 303, refusal(opened.get_data(as_text=True))
    return grading


def _secretary_at_self_rating(app: Flask, site: DemoSite, code: str) -> tuple[Desk, str]:
    """The branch's secretary signed in, and the page of its grading open for self-rating."""
    grading = _in_self_rating(app, site, code)
    return Desk.signed_in(app, _secretary_of(site, code), site.password), f"/w/gradings/{grading}"


def _secretary_of(site: DemoSite, code: str) -> str:
    """A secretary of the branch (the demo has one only for 白河村), with the demo's password."""
    from service.accounts import operations as accounts
    from service.accounts.models import Role
    from service.context import Actor
    from service.organizations.models import Organization

    username = f"{code.lower()}.secretary"
    with db_of(site) as db:
        branch = db.scalars(select(Organization).where(Organization.code == code)).one()
        actor = Actor.system("t")
        person = accounts.create_account(
            db, actor, username=username, display_name="书记", organization=branch
        )
        accounts.grant_role(db, actor, person, Role.SECRETARY, branch)
        passwords.set_password(db, actor, person, site.password)
        db.commit()
    return username


def test_a_saved_sheet_opens_with_what_was_saved_and_a_change_needs_a_reason(
    app: Flask, site: DemoSite
) -> None:
    secretary, page = _secretary_at_self_rating(app, site, "YC-XL-FH-V04")
    sheet = scores_filled(field_names(secretary.page(page), "self_rating"), "4")
    first = {**sheet, "proposed_level": "average", "explanation": "逐项自评"}
    assert secretary.submit(page, f"{page}/self_rating", first).status_code == 303
    html = secretary.page(page)
    assert "已保存第 1 版" in html
    assert 'name="self_rating.leader" value="4.00"' in html
    assert re.search(r'<option value="average" selected>', html)
    again = secretary.submit(page, f"{page}/self_rating", {**first, "self_rating.leader": "6"})
    assert again.status_code == 422 and "理由" in refusal(again.get_data(as_text=True))
    assert 'value="6"' in again.get_data(as_text=True)  # what was typed stays
    changed = {**first, "self_rating.leader": "6", "reason": "补充党组织书记述职材料"}
    assert secretary.submit(page, f"{page}/self_rating", changed).status_code == 303
    assert "已保存第 2 版" in secretary.page(page)


def test_a_complaint_is_taken_up_and_answered_at_the_workbench_and_the_filer_reads_the_reply(
    app: Flask, site: DemoSite
) -> None:
    grading = site.ids["grading:YC-XL-QS-V02"]  # 青石镇's, under 公示
    filed = app.test_client().post(
        "/api/v1/public/complaints",
        json={"grading_id": grading, "text": "高岭村支部的活动阵地长期锁门，评为较好不妥"},
    )
    assert filed.status_code == 201, filed.get_json()
    code = filed.get_json()["tracking_code"]
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    page = f"/w/gradings/{grading}"
    html = reviewer.page(page)
    assert "活动阵地长期锁门" in html and "待受理" in html
    [complaint] = re.findall(rf'action="{page}/complaints/(\d+)/assign"', html)
    tasks = reviewer.page("/w/?state=publicity")
    assert f"公示期意见 #{complaint}" in tasks and "受理调查" in tasks  # in the reviewer's 待办
    secretary = Desk.signed_in(app, "baihe.secretary", site.password)
    forged = secretary.client.post(
        f"{page}/complaints/{complaint}/assign",
        data=hidden_fields(secretary.page("/w/"), "/w/sign-out"),
    )
    assert forged.status_code == 404  # not the secretary's branch: the API does not show it
    taken = reviewer.submit(page, f"{page}/complaints/{complaint}/assign", {})
    assert taken.status_code == 303, refusal(taken.get_data(as_text=True))
    answer = {
        "findings": "经实地查看，阵地每周开放三天",
        "reply": "已核实，维持等次",
        "upheld": "no",
    }
    answered = reviewer.submit(page, f"{page}/complaints/{complaint}/answer", answer)
    assert answered.status_code == 303, refusal(answered.get_data(as_text=True))
    assert "意见不成立" in reviewer.page(page)
    tracked = app.test_client().get(f"/api/v1/public/complaints/{code}").get_json()
    assert tracked["reply"] == "已核实，维持等次"


def test_the_rectification_ledger_is_planned_approved_and_worked_through_at_the_workbench(
    app: Flask, site: DemoSite
) -> None:
    """青石镇's 一般 branch of last year, in 整改: the secretary adds an item, the reviewer
    names the helpers, the supervisor approves the plan; the item is started, submitted with
    its evidence, returned once with a reason, submitted again and closed (销号)."""
    grading = _last_years(site, "YC-XL-QS-V02", "rectification")
    page = f"/w/gradings/{grading}"
    secretary = Desk.signed_in(app, _secretary_of(site, "YC-XL-QS-V02"), site.password)
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    supervisor = Desk.signed_in(app, "county.supervisor", site.password)

    def done(desk: Desk, action: str, data: dict[str, str]) -> None:
        answer = desk.submit(page, page + action, data)
        assert answer.status_code == 303, (action, refusal(answer.get_data(as_text=True)))

    assert "整改事项：制定、逐项整改并提交" in secretary.page("/w/?state=rectification")
    item = {
        "problem": "发展思路不清",
        "cause": "班子调研不够",
        "measure": "召开村民代表会议，制定三年发展规划",
        "target": "规划经村民代表会议通过",
        "deadline": "2027-03-31",
        "responsible": "村党支部书记",
        "category": "党建工作类",
        "task": "抓发展、明思路",
        "term": "near",
    }
    done(secretary, "/rectification/item", item)
    key = re.findall(r'action="/w/gradings/\d+/items/(I\d+)/start"', secretary.page(page))[-1]
    early = secretary.submit(page, f"{page}/items/{key}/start", {})
    assert early.status_code == 409  # not before the plan is approved: the API's rule
    done(reviewer, "/rectification/helpers", {"paired_leader": "县委常委 王强", "liaison": "刘敏"})
    assert supervisor.client.post(
        f"{page}/rectification/approve",
        data=hidden_fields(secretary.page(page), "/w/sign-out"),
    ).status_code in (400, 403)  # the secretary's CSRF token is not the supervisor's session
    done(supervisor, "/rectification/approve", {})
    done(secretary, f"/items/{key}/start", {})
    done(secretary, f"/items/{key}/submit", {"evidence": "规划草案"})
    done(reviewer, f"/items/{key}/return", {"reason": "规划尚未经村民代表会议通过"})
    assert "退回：规划尚未经村民代表会议通过" in secretary.page(page)
    done(secretary, f"/items/{key}/submit", {"evidence": "村民代表会议决议（12月5日）"})
    done(reviewer, f"/items/{key}/close", {})
    assert "已销号" in reviewer.page(page)


def test_the_teller_runs_an_electronic_meeting_from_codes_to_count_at_the_workbench(
    app: Flask, site: DemoSite
) -> None:
    secretary, page = _secretary_at_self_rating(app, site, "YC-XL-FH-V07")  # a roll of 20
    grading = int(page.rsplit("/", 1)[1])
    sheet = scores_filled(field_names(secretary.page(page), "self_rating"), "4")
    filled = {**sheet, "proposed_level": "average", "explanation": "自评"}
    assert secretary.submit(page, f"{page}/self_rating", filled).status_code == 303
    sent = secretary.submit(page, f"{page}/transition", {"transition": "submit_self_rating"})
    assert sent.status_code == 303, refusal(sent.get_data(as_text=True))
    teller = Desk.signed_in(app, "county.teller", site.password)
    html = teller.page(page)
    assert 'name="meeting.members.issued" value="20"' in html  # the roll, offered
    meeting = {"title": "测评会", "meeting.members.issued": "20", "meeting.public_reps.issued": "2"}
    opened = teller.submit(page, f"{page}/meetings", meeting)
    assert opened.status_code == 303, refusal(opened.get_data(as_text=True))
    html = teller.page(page)
    [session] = re.findall(rf'href="{page}/meetings/(\d+)/cards.pdf"', html)
    cards = teller.client.get(f"{page}/meetings/{session}/cards.pdf")
    assert cards.status_code == 200 and cards.data.startswith(b"%PDF")
    listed = (
        app.test_client()
        .get(
            f"/api/v1/ballot-sessions/{session}/codes?format=csv",
            headers={"Authorization": f"Bearer {site.tokens['county.teller']}"},
        )
        .get_data(as_text=True)
    )
    codes = sorted(set(re.findall(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}\b", listed)))  # code, its URL
    assert len(codes) == 22
    for code in codes:  # each voter, by phone
        cast = app.test_client().post(
            "/api/v1/ballots",
            json={"code": code, "answers": [{"grading_id": grading, "level": "fairly_good"}]},
        )
        assert cast.status_code == 201, cast.get_json()
    for verb, data in (
        ("close", {}),
        ("attendance", {"present.members": "20", "present.public_reps": "2"}),
        ("count", {}),
    ):
        done = teller.submit(page, f"{page}/meetings/{session}/{verb}", data)
        assert done.status_code == 303, (verb, refusal(done.get_data(as_text=True)))
    assert "已计票" in teller.page(page)
    counted = _api(app, site, "county.teller", f"/ballot-sessions/{session}").get_json()
    assert counted["state"] == "counted"


def _api(app: Flask, site: DemoSite, who: str, path: str) -> Any:
    """A GET of the API with the demo person's own token."""
    return app.test_client().get(
        "/api/v1" + path, headers={"Authorization": f"Bearer {site.tokens[who]}"}
    )


def test_a_supervisor_sees_what_is_asked_and_cannot_approve_their_own_request(
    app: Flask, site: DemoSite
) -> None:
    """四眼原则 at the workbench: a supervisor who asked for a step sees it in the inbox with no
    approve button, and a forged approval gets the API's four-eyes refusal."""
    from service.accounts import operations as accounts
    from service.accounts.models import Account, Role
    from service.context import Actor
    from service.gradings.approvals import request_approval
    from service.gradings.models import Grading
    from service.organizations.models import Organization

    grading_id = site.ids["grading:YC-XL-FH-V06"]
    with db_of(site) as db:
        county = db.scalars(select(Organization).where(Organization.code == "YC-XL")).one()
        actor = Actor.system("t")
        both = accounts.create_account(
            db, actor, username="county.both", display_name="两职", organization=county
        )
        for role in (Role.REVIEWER, Role.SUPERVISOR):
            accounts.grant_role(db, actor, both, role, county)
        passwords.set_password(db, actor, both, site.password)
        account = db.scalars(select(Account).where(Account.username == "county.both")).one()
        grading = db.get_one(Grading, grading_id)
        asked = request_approval(
            db,
            Actor(account_id=account.id, username="county.both", role="reviewer"),
            grading,
            kind="transition",
            subject="open_self_rating",
            payload=None,
            reason="提前开始自评",
        )
        db.commit()
        approval = asked.id
    own = Desk.signed_in(app, "county.both", site.password)
    inbox = own.page("/w/approvals")
    assert "须由另一位审批人批准" in inbox
    assert f"/w/approvals/{approval}/approve" not in inbox
    assert "批准前" in inbox and "调查摸底" in inbox and "批准后" in inbox
    forged = own.client.post(
        f"/w/approvals/{approval}/approve", data=hidden_fields(inbox, "/w/sign-out")
    )
    assert forged.status_code == 403 and "未能办理" in refusal(forged.get_data(as_text=True))
    other = Desk.signed_in(app, "county.supervisor", site.password)
    assert f"/w/approvals/{approval}/approve" in other.page("/w/approvals")


def test_a_branch_goes_from_looking_back_to_its_promotion_decision_at_the_workbench(
    app: Flask, site: DemoSite
) -> None:
    """青石镇's 好 branch of last year, in 回头看: the reviewer moves it on to 晋位升级, the
    secretary files the 专项述职, the reviewer records the leading group's opinion, the
    inspector the group's acceptance, and the reviewer decides (a 好 one keeps its level)."""
    grading = _last_years(site, "YC-XL-QS-V01", "re_review")
    page = f"/w/gradings/{grading}"
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    steps = re.findall(r'name="transition" value="([a-z_]+)"', reviewer.page(page))
    onward = next(name for name in steps if "promot" in name)
    moved = reviewer.submit(page, f"{page}/transition", {"transition": onward})
    assert moved.status_code == 303, refusal(moved.get_data(as_text=True))
    html = reviewer.page(page)
    assert "晋位升级" in html and "县委党建工作领导小组" in html
    secretary = Desk.signed_in(app, _secretary_of(site, "YC-XL-QS-V01"), site.password)
    inspector = Desk.signed_in(app, "county.inspector", site.password)
    for desk, what, data in (
        (secretary, "report", {"text": "整改提高专项述职：一项整改已销号"}),
        (
            reviewer,
            "opinion",
            {"body": "LG", "favourable": "yes", "text": "同意", "given_by": "领导小组办公室"},
        ),
        (inspector, "acceptance", {"conclusion": "accepted", "findings": "台账齐全"}),
        (reviewer, "decision", {"level": "good", "reason": "保持好的等次"}),
    ):
        done = desk.submit(page, f"{page}/promotion/{what}", data)
        assert done.status_code == 303, (what, refusal(done.get_data(as_text=True)))
    decided = _api(app, site, "county.inspector", f"/gradings/{grading}/promotion").get_json()
    assert decided["decision"]["to"] == "good" and decided["report"]["text"].startswith("整改提高")
    assert [o["opinion"]["favourable"] for o in decided["opinions"]] == [True]


def _last_years(site: DemoSite, code: str, state: str) -> int:
    """The grading of 青石镇's campaign of last year (the demo's) for the branch, in `state`."""
    from service.gradings.models import Grading
    from service.organizations.models import Organization

    with db_of(site) as db:
        return db.scalars(
            select(Grading.id)
            .join(Organization, Organization.id == Grading.organization_id)
            .where(Organization.code == code, Grading.state == state)
        ).one()


def test_an_operator_sets_a_password_from_the_command_line_as_the_readme_says(
    app: Flask, site: DemoSite
) -> None:
    """`python -m service password --username NAME` reads the password from stdin."""
    import subprocess
    import sys

    env = {"DATABASE_URL": site.url, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "service", "password", "--username", "fenghuang.admin"]
    weak = subprocess.run(command, input="short\n", env=env, capture_output=True, text=True)
    assert weak.returncode != 0 and "password" in weak.stderr
    done = subprocess.run(
        command, input="凤凰镇管理员的新密码2026\n", env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "password of fenghuang.admin set"
    desk = Desk(app.test_client(), "fenghuang.admin")
    assert desk.sign_in("凤凰镇管理员的新密码2026").status_code == 303
    nobody = subprocess.run(
        [*command[:-1], "nobody"],
        input="whatever-long-1\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert nobody.returncode != 0 and "no account 'nobody'" in nobody.stderr


def test_a_filter_the_api_refuses_is_a_plain_page_with_its_status_never_a_500(
    app: Flask, site: DemoSite
) -> None:
    reviewer = Desk.signed_in(app, "county.reviewer", site.password)
    answer = reviewer.client.get("/w/?state=" + "x" * 41)  # longer than the API takes
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "未能办理" in html and "<html" in html
    gone = reviewer.client.get("/w/gradings/999999999")
    assert gone.status_code == 404 and "没有找到" in gone.get_data(as_text=True)
    assert reviewer.client.post("/w/gradings/1/no-such-form").status_code in (400, 404)
