"""The pages people use without a portal, through the Flask client: the ballot a QR code opens,
the typed-code form, receipts, the 公示 notice, complaints, the API reference, and what every
page sends (security headers, CSRF). The same pages in a real browser: tests/test_browser.py."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.__main__ import _print_pages as print_pages
from service.ballots.models import BallotCode
from service.db import make_engine, make_sessionmaker
from service.demo_examples import BALLOT_TITLE
from service.publicity.models import Complaint
from tests.site import (
    TOKEN,
    DemoSite,
    answer_complaint,
    close_and_count,
    codes_of,
    csrf_of,
    fresh_code,
    open_meeting,
)

LEVELS = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "较差"}


@pytest.fixture
def site_app(demo_site: DemoSite) -> Iterator[Flask]:
    app = demo_site.app()
    yield app
    app.extensions["grading.engine"].dispose()


@pytest.fixture
def browser(site_app: Flask) -> FlaskClient:
    """A phone's browser: it asks for HTML."""
    client = site_app.test_client()
    client.environ_base["HTTP_ACCEPT"] = "text/html,application/xhtml+xml,*/*;q=0.8"
    return client


def html(response: Any) -> str:
    assert response.mimetype == "text/html", response.mimetype
    text: str = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in text
    return text


def used(site: DemoSite, code: str) -> bool:
    engine = make_engine(site.url)
    with Session(engine) as db:
        flag = db.scalars(select(BallotCode.used).where(BallotCode.code == code)).one()
    engine.dispose()
    return bool(flag)


def vote(browser: FlaskClient, code: str, choice: str = "fairly_good") -> Any:
    """Open the ballot, choose `choice` for every organization, review, cast."""
    form = html(browser.get(f"/b/{code}"))
    names = sorted(set(re.findall(r'type="radio" name="(g\d+)"', form)))
    answers = {name: choice for name in names}
    review = browser.post(f"/b/{code}", data={**answers, "csrf_token": csrf_of(form)})
    assert review.status_code == 200
    confirm = html(review)
    return browser.post(
        f"/b/{code}", data={**answers, "step": "cast", "csrf_token": csrf_of(confirm)}
    )


# --- the ballot ---------------------------------------------------------------------------


def test_the_qr_code_url_opens_a_ballot_listing_every_organization_and_choice(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    (code, url), *_ = codes_of(browser, demo_site, demo_site.ids["meeting"])
    assert url == f"http://localhost/b/{code}"  # PUBLIC_BASE_URL unset: the address asked
    page = html(browser.get(url.removeprefix("http://localhost")))
    assert BALLOT_TITLE in page
    assert "兴隆县第三中学党总支" in page and "兴隆县第三中学第一党支部" in page
    for label in (*LEVELS.values(), "不了解"):
        assert f"> {label}</label>" in page
    assert "您的身份：<strong>党员</strong>" in page
    assert "提交后不能修改" in page


def test_a_ballot_is_confirmed_before_it_is_cast_and_the_receipt_shown_after(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    meeting = open_meeting(browser, demo_site)
    code, _ = codes_of(browser, demo_site, meeting)[0]
    form = html(browser.get(f"/b/{code}"))
    names = sorted(set(re.findall(r'type="radio" name="(g\d+)"', form)))
    review = html(
        browser.post(
            f"/b/{code}", data={**dict.fromkeys(names, "good"), "csrf_token": csrf_of(form)}
        )
    )
    assert "请确认您的选择" in review and "确认投票" in review and "返回修改" in review
    assert not used(demo_site, code)  # reviewing casts nothing
    cast = browser.post(
        f"/b/{code}",
        data={**dict.fromkeys(names, "good"), "step": "cast", "csrf_token": csrf_of(review)},
    )
    assert cast.status_code == 303 and cast.headers["Location"].endswith("/b/cast")
    done = html(browser.get("/b/cast"))
    receipt = re.search(r'<p class="receipt" id="receipt">([0-9A-Z]{5}-[0-9A-Z]{5})</p>', done)
    assert receipt, done
    assert used(demo_site, code)
    assert f"session={meeting}&amp;receipt={receipt.group(1)}" in done


def test_going_back_from_the_confirmation_keeps_the_choices(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    code = fresh_code(browser, demo_site)
    form = html(browser.get(f"/b/{code}"))
    names = sorted(set(re.findall(r'type="radio" name="(g\d+)"', form)))
    back = html(
        browser.post(
            f"/b/{code}",
            data={names[0]: "poor", names[1]: "good", "step": "edit", "csrf_token": csrf_of(form)},
        )
    )
    assert f'name="{names[0]}" value="poor" required\n      checked' in back
    assert not used(demo_site, code)


def test_an_incomplete_ballot_names_each_organization_left_out(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    code = fresh_code(browser, demo_site)
    form = html(browser.get(f"/b/{code}"))
    names = sorted(set(re.findall(r'type="radio" name="(g\d+)"', form)))
    response = browser.post(
        f"/b/{code}", data={names[0]: "good", names[1]: "made-up", "csrf_token": csrf_of(form)}
    )
    assert response.status_code == 422
    page = html(response)
    assert "还有 1 处没有填好" in page
    assert "请为“兴隆县第三中学第一党支部”选择一项。" in page
    assert not used(demo_site, code)


def test_a_used_code_gets_a_chinese_explanation_not_json(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    code = fresh_code(browser, demo_site)
    assert vote(browser, code).status_code == 303
    again = browser.get(f"/b/{code}")
    assert again.status_code == 409
    page = html(again)
    assert "这个票码已经投过票" in page and "您的票已经投入票箱" in page
    resent = browser.post(f"/b/{code}", data={"step": "cast", "csrf_token": "x"})
    assert resent.status_code == 400  # a form not from this site is refused before anything


def test_unknown_and_malformed_codes_are_explained(browser: FlaskClient) -> None:
    unknown = browser.get("/b/00000-00000")
    assert unknown.status_code == 404 and "没有这个票码" in html(unknown)
    malformed = browser.get("/b/<script>")
    assert malformed.status_code == 404 and "没有这个票码" in html(malformed)
    assert "<script>" not in malformed.get_data(as_text=True).split("<main", 1)[1]
    nowhere = browser.get("/b/a/b/c")
    assert nowhere.status_code == 404 and "没有找到" in html(nowhere)


def test_a_closed_session_explains_that_voting_has_ended(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    meeting = open_meeting(browser, demo_site, members=3)
    (first, _), (second, _), (third, _) = codes_of(browser, demo_site, meeting)
    vote(browser, first)
    vote(browser, second)
    close_and_count(browser, demo_site, meeting)
    late = browser.get(f"/b/{third}")
    assert late.status_code == 409 and "本次测评已经结束" in html(late)


def test_a_typed_code_is_read_whatever_its_case_spaces_and_confusable_letters(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    code, _ = codes_of(browser, demo_site, demo_site.ids["meeting"])[0]
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    found = browser.get("/b", query_string={"code": f"  {sloppy} "})
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/b/{code}")
    assert browser.get(f"/b/{code.lower()}").headers["Location"].endswith(f"/b/{code}")
    wrong = browser.get("/b", query_string={"code": "12345"})
    assert wrong.status_code == 422
    assert "“12345”不是有效的票码" in html(wrong)
    assert "输入票码投票" in html(browser.get("/b"))


def test_a_receipt_is_found_after_counting_and_a_made_up_one_is_not(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    meeting = open_meeting(browser, demo_site, members=3)
    (first, _), (second, _), _ = codes_of(browser, demo_site, meeting)
    vote(browser, first)
    done = html(browser.get("/b/cast"))
    receipt = re.search(r'id="receipt">([^<]+)<', done).group(1)  # type: ignore[union-attr]
    early = browser.get("/b/receipt", query_string={"session": meeting, "receipt": receipt})
    assert early.status_code == 409 and "还不能核对回执" in html(early)
    vote(browser, second)
    close_and_count(browser, demo_site, meeting)
    found = html(browser.get("/b/receipt", query_string={"session": meeting, "receipt": receipt}))
    assert "您的票已经计入" in found
    made_up = html(
        browser.get("/b/receipt", query_string={"session": meeting, "receipt": "ZZZZZ-ZZZZZ"})
    )
    assert "已计票的票中没有回执" in made_up
    bad = browser.get("/b/receipt", query_string={"session": "x1", "receipt": receipt})
    assert bad.status_code == 422 and "测评编号应是数字" in html(bad)


def test_ballot_pages_are_rate_limited_in_words(demo_site: DemoSite) -> None:
    app = demo_site.app(ballot_limit=2, ballot_window_seconds=600)
    client = app.test_client()
    for _ in range(2):
        client.get("/b/00000-00000")
    limited = client.get("/b/00000-00000")
    assert limited.status_code == 429
    assert "操作太频繁" in html(limited) and "分钟后再试" in html(limited)
    assert int(limited.headers["Retry-After"]) > 0
    app.extensions["grading.engine"].dispose()


# --- what every page sends ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/b", "/b/00000-00000", "/notice", "/complaints/track", "/docs"]
)
def test_every_page_sends_the_security_headers(browser: FlaskClient, path: str) -> None:
    response = browser.get(path)
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)  # type: ignore[union-attr]
    assert script_src == "'self'"  # no inline script, nothing from elsewhere
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True)


def test_ballot_and_tracking_pages_are_never_cached(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    code, _ = codes_of(browser, demo_site, demo_site.ids["meeting"])[0]
    assert browser.get(f"/b/{code}").headers["Cache-Control"] == "no-store"
    assert browser.get("/b/00000-00000").headers["Cache-Control"] == "no-store"
    assert browser.get("/complaints/ABCDABCDABCD").headers["Cache-Control"] == "no-store"


def test_a_post_without_the_csrf_token_is_refused_and_nothing_is_cast(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    code = fresh_code(browser, demo_site)
    form = html(browser.get(f"/b/{code}"))
    names = sorted(set(re.findall(r'type="radio" name="(g\d+)"', form)))
    refused = browser.post(f"/b/{code}", data={**dict.fromkeys(names, "good"), "step": "cast"})
    assert refused.status_code == 400
    assert "页面已过期" in html(refused)
    assert not used(demo_site, code)
    forged = browser.post(
        "/complaints",
        data={"grading": demo_site.ids["grading:YC-XL-QS-V01"], "text": "伪造", "token": "x"},
    )
    assert forged.status_code == 400 and "页面已过期" in html(forged)


def test_a_trailing_slash_and_the_browsers_favicon_request_are_answered(
    browser: FlaskClient,
) -> None:
    assert browser.get("/b/").status_code == 200 and "输入票码" in html(browser.get("/b/"))
    assert browser.get("/notice/").status_code == 200
    icon = browser.get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["Location"].endswith("/assets/favicon.svg")
    with browser.get("/assets/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert 'href="/assets/favicon.svg"' in html(browser.get("/b"))


def test_the_api_keeps_answering_problem_json(browser: FlaskClient) -> None:
    response = browser.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert browser.post("/api/v1/ballots", json={}).status_code == 422  # no CSRF for the API


# --- 公示 -----------------------------------------------------------------------------------


def test_the_notice_lists_levels_in_chinese_with_the_period_and_how_to_complain(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    campaign = demo_site.ids["campaign"]
    page = html(browser.get(f"/notice/{campaign}"))
    assert "兴隆县委关于2026年兴隆县基层党组织分类定级结果的公示" in page
    rows = re.findall(
        r'<td class="tight">\d+</td><td>([^<]+)</td><td class="tight">([^<]*)</td>\s*'
        r'<td class="level">([^<]+)<',
        page,
    )
    assert rows == [
        ("石门村党支部", "农村", "好"),
        ("高岭村党支部", "农村", "较好"),
        ("沙坪村党支部", "农村", "一般"),
    ]
    assert re.search(
        r"公示时间：<strong>\d{4}年\d+月\d+日至\d{4}年\d+月\d+日</strong>（5个工作日）", page
    )
    assert "如何反映意见" in page and "可以匿名" in page
    assert page.count("/complaints/new?grading=") == 3
    signature = page.split('<div class="signature">', 1)[1]
    assert "兴隆县委" in signature and re.search(r"\d{4}年\d+月\d+日", signature)
    assert "village" not in page


def test_the_printed_notice_gives_the_committees_contact_and_a_qr_code_to_itself(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    campaign = demo_site.ids["campaign"]
    page = html(browser.get(f"/notice/{campaign}"))
    assert "来信来访：电话 0717-3212345（工作日 8:30-17:30）；地址 兴隆县人民路1号" in page
    qr = page.split('<figure class="notice-qr print-only">', 1)[1].split("</figure>", 1)[0]
    assert qr.startswith("<svg") and "<title>扫码查看公示、提出意见</title>" in qr
    assert "viewBox" in qr  # scales to the printed size set in the stylesheet
    # an area without its own contact shows its committee's
    area = html(browser.get(f"/notice/{campaign}?area={demo_site.ids['YC-XL-QS']}"))
    assert "来信来访：电话 0717-3212345" in area


def test_the_notice_prints_on_a4_without_the_buttons_and_links(browser: FlaskClient) -> None:
    with browser.get("/assets/site.css") as css:
        text = css.get_data(as_text=True)
    printed = text.split("@media print", 1)[1]
    assert "size: A4" in printed
    assert ".screen-only" in printed and "display: none" in printed
    assert "break-inside: avoid" in printed  # one organization per line, never split


def test_the_notice_by_area_and_an_unknown_area(demo_site: DemoSite, browser: FlaskClient) -> None:
    campaign = demo_site.ids["campaign"]
    qingshi = html(browser.get(f"/notice/{campaign}?area={demo_site.ids['YC-XL-QS']}"))
    assert "范围：青石镇党委" in qingshi and qingshi.count('<td class="level">') == 3
    fenghuang = html(browser.get(f"/notice/{campaign}?area={demo_site.ids['YC-XL-FH']}"))
    assert "凤凰镇党委目前没有正在公示的基层党组织" in fenghuang
    for bad in ("999999", "abc", "99999999999999999999"):  # the last: beyond any id column
        missing = browser.get(f"/notice/{campaign}?area={bad}")
        assert missing.status_code == 404 and "没有找到" in html(missing)
    assert browser.get("/notice/999999").status_code == 404
    assert browser.get("/notice/99999999999999999999").status_code == 404
    assert "2026年兴隆县基层党组织分类定级" in html(browser.get("/notice"))


# --- complaints -----------------------------------------------------------------------------


def from_address(app: Flask, address: str) -> FlaskClient:
    """A member of the public on their own network (complaint limits count per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def complaint_form(browser: FlaskClient, site: DemoSite, code: str = "YC-XL-QS-V02") -> str:
    response = browser.get("/complaints/new", query_string={"grading": site.ids[f"grading:{code}"]})
    assert response.status_code == 200
    return html(response)


def send(browser: FlaskClient, site: DemoSite, form: str, text: str, contact: str = "") -> Any:
    return browser.post(
        "/complaints",
        data={
            "grading": site.ids["grading:YC-XL-QS-V02"],
            "text": text,
            "contact": contact,
            "token": TOKEN.search(form).group(1),  # type: ignore[union-attr]
            "csrf_token": csrf_of(form),
        },
    )


def complaints_count(site: DemoSite) -> int:
    engine = make_engine(site.url)
    with Session(engine) as db:
        count = db.scalar(select(func.count()).select_from(Complaint)) or 0
    engine.dispose()
    return count


def test_a_complaint_from_the_form_to_its_reply(demo_site: DemoSite, site_app: Flask) -> None:
    browser = from_address(site_app, "10.0.0.1")
    form = complaint_form(browser, demo_site)
    assert "高岭村党支部" in form and "“较好”" in form
    assert "可以匿名" in form and "同一网络每 60 分钟最多提交 30 条意见" in form
    filed = send(browser, demo_site, form, "测评时部分党员未到场，结果不能代表多数意见。")
    assert filed.status_code == 303
    tracking = filed.headers["Location"].rsplit("/", 1)[1]
    status = html(browser.get(f"/complaints/{tracking}"))
    grouped = "-".join(tracking[n : n + 4] for n in range(0, 12, 4))
    assert grouped in status and "等待工作人员处理" in status
    typed = browser.get("/complaints/track", query_string={"code": grouped.lower()})
    assert typed.headers["Location"].endswith(f"/complaints/{tracking}")
    answer_complaint(browser, demo_site, tracking, "经核实，到会党员超过三分之二，测评有效。")
    replied = html(browser.get(f"/complaints/{tracking}"))
    assert "经核实，到会党员超过三分之二，测评有效。" in replied and "意见不成立" in replied


def test_the_same_complaint_form_sent_twice_files_one_complaint(
    demo_site: DemoSite, site_app: Flask
) -> None:
    browser = from_address(site_app, "10.0.0.2")
    form = complaint_form(browser, demo_site)
    before = complaints_count(demo_site)
    first = send(browser, demo_site, form, "重复提交的意见")
    second = send(browser, demo_site, form, "重复提交的意见")
    assert first.headers["Location"] == second.headers["Location"]
    assert complaints_count(demo_site) == before + 1


def test_a_complaint_without_text_or_with_too_much_is_returned_with_the_reason(
    demo_site: DemoSite, site_app: Flask
) -> None:
    browser = from_address(site_app, "10.0.0.3")
    form = complaint_form(browser, demo_site)
    before = complaints_count(demo_site)
    empty = send(browser, demo_site, form, "   ")
    assert empty.status_code == 422 and "请写下您的意见" in html(empty)
    long = send(browser, demo_site, form, "长" * 2001, contact="1" * 201)
    page = html(long)
    assert long.status_code == 422
    assert "意见最多 2000 字，现在是 2001 字" in page and "联系方式最多 200 字" in page
    assert complaints_count(demo_site) == before


def test_a_village_office_on_one_address_files_past_the_apis_limit_and_keeps_its_text(
    demo_site: DemoSite,
) -> None:
    app = demo_site.app(complaint_limit=2, complaint_page_limit=4)
    try:
        browser = from_address(app, "10.0.0.4")
        for n in range(4):  # more than the API's limit: each from a form opened on the page
            form = complaint_form(browser, demo_site)
            assert send(browser, demo_site, form, f"意见{n}").status_code == 303
        before = complaints_count(demo_site)
        form = complaint_form(browser, demo_site)
        limited = send(
            browser, demo_site, form, "第五条：村务公开栏半年没更新", contact="13800000000"
        )
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        page = html(limited)
        assert re.search(r"请约 \d+ 分钟后再点“提交意见”", page) and "不用重写" in page
        assert "第五条：村务公开栏半年没更新</textarea>" in page
        assert 'value="13800000000"' in page
        assert complaints_count(demo_site) == before
        # another address is not held up by this one
        other = from_address(app, "10.0.0.5")
        assert send(other, demo_site, complaint_form(other, demo_site), "另一处").status_code == 303
    finally:
        app.extensions["grading.engine"].dispose()


def test_a_complaint_about_a_grading_not_under_publicity_is_explained(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    response = browser.get(
        "/complaints/new", query_string={"grading": demo_site.ids["grading:YC-XL-FH-V01"]}
    )
    assert response.status_code == 409 and "不在公示期" in html(response)
    for bad in ("", "abc", "99999999"):
        missing = browser.get("/complaints/new", query_string={"grading": bad})
        assert missing.status_code == 404 and "没有找到" in html(missing)
    unknown = browser.get("/complaints/NOSUCHCODE99")
    assert unknown.status_code == 404 and "没有找到" in html(unknown)


def test_an_expired_complaint_form_is_explained(demo_site: DemoSite, site_app: Flask) -> None:
    browser = site_app.test_client()
    form = complaint_form(browser, demo_site)
    forged = form.replace(TOKEN.search(form).group(1), "not-signed")  # type: ignore[union-attr]
    response = send(browser, demo_site, forged, "意见")
    assert response.status_code == 400 and "表单已过期" in html(response)


# --- cards, the public address, the API reference ------------------------------------------


def test_the_printed_cards_carry_instructions_and_the_short_address(
    demo_site: DemoSite, site_app: Flask
) -> None:
    from tests.site import bearer

    client = site_app.test_client()
    svg = client.get(
        f"/api/v1/ballot-sessions/{demo_site.ids['meeting']}/codes",
        headers=bearer(demo_site, "county.teller"),
    ).get_data(as_text=True)
    assert svg.count("扫码或打开下方网址输入票码投票") == 22  # 16 members, 6 representatives
    assert svg.count(">localhost/b</text>") == 22


def test_public_base_url_sets_the_address_in_qr_codes_and_cards(demo_site: DemoSite) -> None:
    from tests.site import bearer

    app = demo_site.app(public_base_url="https://dangjian.xinglong.gov.cn")
    client = app.test_client()
    rows = codes_of(client, demo_site, demo_site.ids["meeting"])
    assert all(url == f"https://dangjian.xinglong.gov.cn/b/{code}" for code, url in rows)
    svg = client.get(
        f"/api/v1/ballot-sessions/{demo_site.ids['meeting']}/codes",
        headers=bearer(demo_site, "county.teller"),
    ).get_data(as_text=True)
    assert ">dangjian.xinglong.gov.cn/b</text>" in svg
    app.extensions["grading.engine"].dispose()


def test_the_api_reference_is_swagger_ui_served_from_here(browser: FlaskClient) -> None:
    page = html(browser.get("/docs"))
    assert 'id="swagger-ui"' in page
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page):
        with browser.get(asset) as served:
            assert served.status_code == 200, asset
    assert browser.get("/docs/assets/index.html").status_code == 404
    spec = browser.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")


def test_the_front_door_is_a_page_for_people_and_json_for_programs(site_app: Flask) -> None:
    client = site_app.test_client()
    assert client.get("/").get_json()["pages"]["ballot"] == "/b"
    page = html(client.get("/", headers={"Accept": "text/html"}))
    assert 'href="/b"' in page and 'href="/notice"' in page


def test_make_run_prints_the_page_urls_and_they_work(
    demo_site: DemoSite, browser: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(demo_site.url)
    print_pages(make_sessionmaker(engine), "http://localhost")
    engine.dispose()
    printed = capsys.readouterr().out
    paths = re.findall(r"http://localhost(/\S*)", printed)
    assert any(re.fullmatch(r"/b/[0-9A-Z]{5}-[0-9A-Z]{5}", p) for p in paths), printed
    assert f"/notice/{demo_site.ids['campaign']}" in paths
    assert "/w" in paths  # the workbench: its sign-in page, for a stranger
    for path in paths:
        assert browser.get(path, follow_redirects=True).status_code == 200, path


def test_access_log_lines_never_carry_a_code(
    site_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [
        "GET /b/KJ74K-HQ02J HTTP/1.1",
        "POST /b/KJ74K-HQ02J HTTP/1.1",
        "GET /b?code=kj74k+hq02j HTTP/1.1",
        "GET /b/receipt?session=3&receipt=7KQ2M-XB4RT HTTP/1.1",
        "GET /complaints/ABCDEFGH2345 HTTP/1.1",
        "GET /api/v1/ballots/KJ74K-HQ02J HTTP/1.1",
        "GET /api/v1/public/ballot-sessions/3/receipts/7KQ2M-XB4RT HTTP/1.1",
    ]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for line in lines:
            logging.getLogger("werkzeug").info(
                '%s - - [%s] "%s" %s -', "10.1.2.3", "now", line, 200
            )
    assert len(caplog.records) == len(lines)
    for secret in ("KJ74K", "kj74k", "7KQ2M", "ABCDEFGH2345"):
        assert secret not in caplog.text
    assert "/b/… HTTP/1.1" in caplog.text and "/complaints/…" in caplog.text


def test_a_confirmation_sent_twice_casts_once_and_shows_the_same_receipt(
    demo_site: DemoSite, browser: FlaskClient
) -> None:
    """A double tap, or a resend after the answer was lost on a weak connection."""
    code = fresh_code(browser, demo_site)
    form = html(browser.get(f"/b/{code}"))
    names = sorted(set(re.findall(r'type="radio" name="(g\d+)"', form)))
    choices = dict.fromkeys(names, "good")
    review = html(browser.post(f"/b/{code}", data={**choices, "csrf_token": csrf_of(form)}))
    token = re.search(r'name="retry" value="([0-9a-f]{32})"', review)
    assert token, review
    sent = {**choices, "step": "cast", "retry": token.group(1), "csrf_token": csrf_of(review)}
    receipts = []
    for _ in range(2):
        cast = browser.post(f"/b/{code}", data=sent)
        assert cast.status_code == 303 and cast.headers["Location"].endswith("/b/cast")
        done = html(browser.get("/b/cast"))
        found = re.search(r'id="receipt">([0-9A-Z]{5}-[0-9A-Z]{5})<', done)
        assert found, done
        receipts.append(found.group(1))
    assert receipts[0] == receipts[1]
    forged = browser.post(f"/b/{code}", data={**sent, "retry": "0" * 32})
    assert forged.status_code == 409  # another token: the code is used, nothing is replayed
