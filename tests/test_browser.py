"""The pages in a real headless Chromium at a phone's size (360×740), on the demo county as
`make run` serves it: a voter scans a printed QR code, votes, confirms and keeps the receipt; a
code used twice is explained; a code typed by hand (with JavaScript off); the 公示 notice on a
phone and on A4; a complaint from the notice to its reply; the API reference offline. axe-core
checks every page; each test saves screenshots (README, `make page-pictures`)."""

from __future__ import annotations

import base64
import http.server
import io
import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from PIL import Image

from tests.browser import Page, chromium, phone, require_browser, served, shot_name
from tests.site import DemoSite, answer_complaint, bearer, codes_of, fresh_code, open_meeting

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(demo_site: DemoSite) -> Iterator[tuple[Flask, str]]:
    require_browser()
    app = demo_site.app()
    with served(app) as base:
        yield app, base
    app.extensions["grading.engine"].dispose()


@pytest.fixture(scope="module")
def driver(site: tuple[Flask, str]) -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(driver: Any, site: tuple[Flask, str]) -> Iterator[Page]:
    driver.delete_all_cookies()
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    driver.get_log("browser")  # what earlier tests left in the console
    yield Page(driver, site[1])


def accessible(page: Page, *, scripts_off: bool = False) -> None:
    """No serious or critical axe-core violation (axe itself runs even where the page is
    being tested with JavaScript off)."""
    if scripts_off:
        page.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    try:
        assert page.accessibility() == [], page.driver.current_url
    finally:
        if scripts_off:
            page.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})


def scan(page: Page, svg: str) -> list[str]:
    """What a phone's camera reads off the printed sheet: the sheet rendered by the browser,
    photographed (a screenshot) and decoded (zxing-cpp)."""
    page.driver.get("data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode())
    shot = page.driver.get_screenshot_as_png()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    return [barcode.text for barcode in found]


def test_a_voter_scans_the_code_votes_confirms_and_keeps_the_receipt(
    page: Page, site: tuple[Flask, str], demo_site: DemoSite
) -> None:
    app, base = site
    client = app.test_client()
    meeting = open_meeting(client, demo_site, members=2)
    # The teller prints the sheet from the running server: its QR codes carry its address.
    printed = urllib.request.Request(
        f"{base}/api/v1/ballot-sessions/{meeting}/codes",
        headers=bearer(demo_site, "county.teller"),
    )
    with urllib.request.urlopen(printed) as response:
        svg = response.read().decode()
    issued = {f"{base}/b/{code}" for code, _ in codes_of(client, demo_site, meeting)}
    scanned = scan(page, svg)
    assert scanned and set(scanned) <= issued, scanned
    url = scanned[0]

    page.open(url)
    assert page.text("h1") == "第三中学补充测评会"
    assert len(page.all("fieldset.org")) == 2
    page.screenshot("ballot")
    accessible(page)
    for fieldset in page.all("fieldset.org"):
        fieldset.find_element("css selector", "input[value=fairly_good]").click()
    page.click_and_wait("button[type=submit]")
    assert page.text("h1") == "请确认您的选择"
    assert page.text("dl.answers").count("较好") == 2
    page.screenshot("ballot-confirm")
    accessible(page)
    page.click_and_wait("button[value=cast]")
    assert page.text("h1") == "投票成功"
    receipt = page.text("#receipt")
    assert len(receipt) == 11 and receipt[5] == "-"
    page.screenshot("ballot-receipt")
    accessible(page)

    page.open(url)  # the same code again
    assert page.text("h1") == "这个票码已经投过票"
    assert "您的票已经投入票箱" in page.text()
    page.screenshot("ballot-used")
    accessible(page)


def test_a_code_typed_by_hand_works_with_javascript_off(
    page: Page, site: tuple[Flask, str], demo_site: DemoSite
) -> None:
    code = fresh_code(site[0].test_client(), demo_site, members=2)
    page.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    page.open("/b")
    accessible(page, scripts_off=True)
    page.find("#code").send_keys("12345")
    page.click_and_wait("button[type=submit]")
    assert "不是有效的票码" in page.text()
    accessible(page, scripts_off=True)
    field = page.find("#code")
    field.clear()
    field.send_keys(" " + code.lower().replace("-", " ").replace("0", "o") + " ")
    page.screenshot("ballot-typed")
    page.click_and_wait("button[type=submit]")
    assert page.driver.current_url.endswith(f"/b/{code}")
    page.find("button[type=submit]").click()  # nothing chosen: the browser's own check stops it
    assert page.all("input:invalid") and page.text("h1") != "请确认您的选择"
    for fieldset in page.all("fieldset.org"):
        fieldset.find_element("css selector", "input[value=good]").click()
    page.click_and_wait("button[type=submit]")
    page.click_and_wait("button[value=cast]")
    assert page.text("h1") == "投票成功"


def test_the_notice_on_a_phone_and_on_a4(page: Page, demo_site: DemoSite) -> None:
    page.open(f"/notice/{demo_site.ids['campaign']}")
    rows = page.all("table.notice tbody tr")
    assert [r.find_element("css selector", ".level").text for r in rows] == ["好", "较好", "一般"]
    assert "5个工作日" in page.text(".notice-box")
    page.screenshot("notice")
    accessible(page)
    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not page.find("table.notice th.screen-only").is_displayed()
        assert page.find(".signature").is_displayed()
        assert "notice/" in page.find("li.print-only").text
        pdf = page.driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})
    finally:
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pages = re.search(rb"/Count (\d+)", base64.b64decode(pdf["data"]))
    assert pages and int(pages.group(1)) == 1  # three organizations: one sheet of A4


def test_a_complaint_from_the_notice_to_its_reply(
    page: Page, site: tuple[Flask, str], demo_site: DemoSite
) -> None:
    app, _ = site
    page.open(f"/notice/{demo_site.ids['campaign']}")
    page.click_and_wait("a[aria-label='对沙坪村党支部提出意见']")
    assert page.text("h1") == "对公示结果提出意见"
    assert "沙坪村党支部" in page.text(".lead")
    page.find("#text").send_keys("沙坪村今年集体经济收入下降，定为一般偏高。")
    page.screenshot("complaint-form")
    accessible(page)
    page.click_and_wait("button[type=submit]")
    assert page.text("h1") == "意见的办理情况"
    tracking = page.text("#tracking").replace("-", "")
    assert len(tracking) == 12
    accessible(page)
    answer_complaint(
        app.test_client(), demo_site, tracking, "经核实，集体经济收入下降系政策性因素，维持一般。"
    )
    page.driver.refresh()
    page.wait_for("main")
    assert "维持一般" in page.text(".ok-box")
    page.screenshot("complaint-reply")
    accessible(page)


@pytest.mark.parametrize(
    "path",
    ["/", "/b/receipt", "/notice", "/complaints/track", "/b/00000-00000", "/complaints/NOSUCH0000"],
)
def test_every_other_page_passes_the_accessibility_check(page: Page, path: str) -> None:
    page.open(path)
    page.screenshot(shot_name("page", path))
    accessible(page)
    own_status = f"{page.base}{path} - Failed to load resource"  # a 404 page's own status
    assert [e for e in page.console_errors() if not e.startswith(own_status)] == []


@pytest.mark.database_independent
def test_the_api_reference_loads_offline_and_lists_every_operation(
    page: Page, site: tuple[Flask, str]
) -> None:
    app, base = site
    spec = app.test_client().get("/openapi.json").get_json()
    operations = sum(
        1
        for ops in spec["paths"].values()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    )
    page.open("/docs")
    page.wait_for(".opblock", timeout=20)
    # Swagger UI renders the operations near the viewport only: in a viewport as tall as the
    # list it renders them all (scrolling through a phone's screens took 15 s); then the phone.
    page.tall(60 * operations + 4000)
    assert len(page.ids_while_scrolling(".opblock", operations)) == operations
    phone(page.driver)
    resources = page.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources and all(r.startswith(base) for r in resources), resources
    assert page.console_errors() == []
    page.screenshot("docs", whole=False)
    accessible(page)


class _Elsewhere(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        type(self).seen.append({"path": self.path, **dict(self.headers.items())})
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"<!doctype html><title>elsewhere</title><main>elsewhere</main>")

    def log_message(self, *args: Any) -> None:
        pass


def test_the_ballot_code_never_reaches_another_site_in_a_referer(
    page: Page, site: tuple[Flask, str], demo_site: DemoSite
) -> None:
    code = fresh_code(site[0].test_client(), demo_site, members=1)
    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Elsewhere)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:
        page.open(f"/b/{code}")
        page.screenshot("ballot-before-leaving")
        target = f"http://127.0.0.1:{elsewhere.server_port}/next"
        page.driver.execute_script(
            "const a = document.createElement('a'); a.id = 'away'; a.href = arguments[0];"
            "a.textContent = 'away'; document.querySelector('main').append(a);",
            target,
        )
        page.click_and_wait("#away")
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()
    arrival = [r for r in _Elsewhere.seen if r["path"] == "/next"]
    assert arrival, "the other site was reached"
    assert "Referer" not in arrival[0] and code not in json.dumps(arrival), arrival


def test_pages_fit_a_phone_with_its_font_size_turned_up(
    site: tuple[Flask, str], demo_site: DemoSite
) -> None:
    app, base = site
    code = fresh_code(app.test_client(), demo_site, members=1)
    with chromium(font_size=26) as large:
        page = Page(large, base)
        for path in (f"/b/{code}", f"/notice/{demo_site.ids['campaign']}", "/complaints/track"):
            page.open(path)
            body = large.execute_script("return getComputedStyle(document.body).fontSize")
            assert float(body.removesuffix("px")) >= 26  # the page follows the phone's setting
            overflow = large.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, path  # nothing runs off the side of the screen
            page.screenshot(shot_name("large-text", path))
            for target in page.all("button, .choice, input[type=text], textarea"):
                if target.is_displayed():
                    assert target.size["height"] >= 44, target.get_attribute("outerHTML")[:80]
