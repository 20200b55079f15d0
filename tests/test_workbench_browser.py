"""The workbench in a real headless Chromium, at a township office PC's size (1280×800) and a
phone's (360×740): one branch from survey to 公示 entirely through the workbench — the
reviewer surveys and opens the self-rating, the branch secretary fills in the 自评表 and submits
it, the teller enters the tally, the secretary the branch's opinion, the teller closes the
evaluation, the reviewer assesses, proposes, records the 分类定级会议 and asks to decide, the
county's supervisor approves — each person signing in with their password. axe-core checks
every page; each page's screenshot is saved (docs/workbench, `make page-pictures`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser import DESKTOP, PHONE, Page, chromium, require_browser, served, viewport
from tests.site import DemoSite, fresh_demo
from tests.workbench_helpers import (
    BRANCH,
    DECIDE_REASON,
    EXPLANATION,
    LEVEL,
    MEETING,
    NOTE,
    OPINION,
    PROPOSAL_REASON,
)

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    require_browser()
    with chromium() as browser:
        yield browser


class Walker:
    """The browser at the workbench, checking and photographing every page it meets."""

    def __init__(self, page: Page, site: DemoSite, size: str) -> None:
        self.page = page
        self.site = site
        self.size = size
        self.seen: list[str] = []

    def look(self, name: str) -> None:
        """axe-core finds no serious violation; the page is photographed (once a name)."""
        assert self.page.accessibility() == [], (name, self.page.driver.current_url)
        assert self.page.console_errors() == [], name
        if name not in self.seen:
            self.seen.append(name)
            self.page.screenshot(f"workbench-{self.size}-{name}")

    def sign_in(self, username: str, first: bool = False) -> None:
        self.page.driver.delete_all_cookies()
        self.page.open("/w/")  # a stranger is sent to the sign-in page
        assert "/w/sign-in" in self.page.driver.current_url
        if first:
            self.look("sign-in")
        self.page.find("#username").send_keys(username)
        self.page.find("#password").send_keys(self.site.password)
        self.page.click_and_wait("form[action='/w/sign-in'] button[type=submit]")
        assert "我的待办" in self.page.text("h1"), self.page.text()

    def grading(self, grading_id: int) -> None:
        self.page.open(f"/w/gradings/{grading_id}")

    def fill(self, values: dict[str, str]) -> None:
        for css, value in values.items():
            element = self.page.find(css)
            if element.tag_name == "select":
                Select(element).select_by_value(value)
            else:
                element.clear()
                element.send_keys(value)

    def fill_sheet(self, prefix: str) -> None:
        """Every score of a sheet 5, every indicator's evidence 台账 (加减分 left empty)."""
        for element in self.page.all(f"input[name^='{prefix}.']"):
            name = element.get_attribute("name")
            if ".adjustment." in name:
                continue
            element.clear()
            element.send_keys("台账" if name.endswith(".evidence") else "5")

    def save(self, section: str) -> None:
        """Submit the form of a sheet (its section's id) and see it saved."""
        self.page.click_and_wait(f"#{section} ~ form button[type=submit]")
        self.saved()

    def step(self, transition: str, reason: str | None = None) -> None:
        form = f"form:has(input[name=transition][value={transition}])"
        if reason is not None:
            self.page.find(f"#reason-{transition}").send_keys(reason)
        self.page.click_and_wait(f"{form} button[type=submit]")
        self.saved()

    def saved(self) -> None:
        boxes = self.page.all(".ok-box")
        assert boxes, self.page.all(".error-box")[0].text if self.page.all(".error-box") else ""


def walk(page: Page, site: DemoSite, size: str) -> Walker:
    grading = site.ids[f"grading:{BRANCH}"]
    w = Walker(page, site, size)
    # the township's reviewer: the survey, then the self-rating opens
    w.sign_in("county.reviewer", first=True)
    w.look("tasks")
    w.grading(grading)
    w.look("survey")
    w.fill(
        {
            "#method": "meeting",
            "#area-setup": "yes",
            "#area-leadership": "partly",
            "#problems": "三会一课记录不全",
            "#category": "党建工作类",
            "#suggestions": "每月开展一次主题党日",
        }
    )
    w.save("sheet-survey")
    w.step("open_self_rating")
    # the branch secretary: the 自评表, submitted
    w.sign_in("baihe.secretary")
    w.grading(grading)
    w.look("self-rating")
    w.fill_sheet("self_rating")
    w.fill({"#proposed-level": LEVEL, "#explanation": EXPLANATION})
    w.save("sheet-self_rating")
    scan = Path(tempfile.mkdtemp(prefix="wb-evidence-")) / "三会一课记录.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.find("#file-self_rating").send_keys(str(scan))
    page.find("#file-description-self_rating").send_keys("支部台账扫描件")
    page.click_and_wait("form[enctype='multipart/form-data'] button[type=submit]")
    w.saved()
    assert "三会一课记录.pdf" in page.text("#evidence ~ ul, section[aria-labelledby=evidence]")
    w.step("submit_self_rating")
    # the teller: the tally of the branch's meeting
    w.sign_in("county.teller")
    w.grading(grading)
    w.look("evaluation")
    tally = {}
    for category in ("members", "public_reps"):
        for field, value in (("present", "10"), ("issued", "10"), ("returned", "10")):
            tally[f"#tally-{category}-{field}"] = value
        tally[f"#tally-{category}-invalid"] = "0"
        tally[f"#tally-{category}-{LEVEL}"] = "10"
    w.fill(tally)
    w.save("sheet-tally")
    # the secretary: the branch's opinion
    w.sign_in("baihe.secretary")
    w.grading(grading)
    w.fill({"#opinion-level": LEVEL, "#opinion": OPINION["opinion"]})
    w.save("sheet-opinion")
    # the teller closes the evaluation
    w.sign_in("county.teller")
    w.grading(grading)
    w.step("close_evaluation")
    # the reviewer: assessment, proposal, the 分类定级会议, and asks to decide
    w.sign_in("county.reviewer")
    w.grading(grading)
    w.look("superior-review")
    w.fill_sheet("assessment")
    w.fill({"#note": NOTE})
    w.save("sheet-assessment")
    w.fill({"#proposal-level": LEVEL, "#proposal-reason": PROPOSAL_REASON})
    w.save("sheet-proposal")
    w.fill(
        {
            "#chaired-by": MEETING["chaired_by"],
            "#attendees": MEETING["attendees"],
            "#minutes": MEETING["minutes"],
            "#meeting-level": LEVEL,
        }
    )
    w.save("sheet-meeting")
    assert "还可定" in page.text("#quotas")  # the quota's headroom, before asking to decide
    w.step("decide", DECIDE_REASON)
    assert "等待审批" in page.text()
    # the county's supervisor approves
    w.sign_in("county.supervisor")
    page.click_and_wait("nav.wb-nav a[href='/w/approvals']")
    w.look("approvals")
    assert "批准后" in page.text() and "公示" in page.text()  # what the approval changes
    page.find("input[name=comment]").send_keys("同意")
    page.click_and_wait("section.wb-card form button.primary")
    assert "已批准" in page.text()
    w.grading(grading)
    assert "公示" in page.text(".lead")
    w.look("publicity")
    page.click_and_wait("nav.wb-nav a[href='/w/progress']")
    w.look("progress")
    assert page.all("figure.wb-chart svg[role=img]")  # the charts, and the tables beside them
    return w


@pytest.mark.parametrize("size", list(SIZES))
def test_one_branch_from_survey_to_publicity_entirely_through_the_workbench(
    driver: Any, fresh_database_url: Callable[[str], str], size: str
) -> None:
    site = fresh_demo(fresh_database_url, f"wbbrowser{size}")
    app = site.app(evidence_dir=tempfile.mkdtemp(prefix="wb-store-"))
    viewport(driver, SIZES[size])
    try:
        with served(app) as base:
            page = Page(driver, base, SIZES[size])
            walker = walk(page, site, size)
            width = driver.execute_script("return document.documentElement.scrollWidth")
            assert width <= SIZES[size]["width"], "the page scrolls sideways"
            assert len(walker.seen) == 9
            buttons = page.all("button")
            assert all(b.size["height"] >= 44 for b in buttons if b.is_displayed())
            assert (
                page.driver.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "zh-CN"
            )
    finally:
        app.extensions["grading.engine"].dispose()
