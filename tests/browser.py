"""A real browser for the page tests: Debian's headless Chromium driven by Selenium through
Debian's chromedriver, the size of a small phone (360×740), with axe-core (from the npm
registry, installed by the Makefile) for the accessibility check, and the app served on a
loopback port by a thread of this process."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
AXE = Path(os.environ.get("AXE_JS", ROOT / ".venv/npm/node_modules/axe-core/axe.min.js"))
# Where each test saves its screenshot; `make page-pictures` points it at docs/pages.
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "instance/screenshots"))
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}  # a township office's PC


def shot_name(prefix: str, path: str) -> str:
    """A screenshot's file name for a page address: /notice/1 -> notice-1."""
    return prefix + re.sub(r"[^a-z0-9]+", "-", path.lower()).rstrip("-")


def missing() -> list[str]:
    return [str(p) for p in (CHROMIUM, CHROMEDRIVER, AXE) if not p.exists()]


def require_browser() -> None:
    """Chromium, its driver and axe-core, or the test cannot run: a failure under CI, a skip
    on a machine that has not run `make test` yet."""
    absent = missing()
    if absent:
        message = f"browser tests need {', '.join(absent)} (make test installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, for as long as the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def chromium(font_size: int | None = None) -> Iterator[WebDriver]:
    """Headless Chromium; `font_size` is the phone's text-size setting (default 16 px)."""
    profile = tempfile.mkdtemp(prefix="grading-chromium-")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--lang=zh-CN",
        f"--window-size={PHONE['width']},{PHONE['height']}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if font_size:
        options.add_experimental_option(
            "prefs", {"webkit": {"webprefs": {"default_font_size": font_size}}}
        )
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        phone(driver)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def phone(driver: WebDriver) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {**PHONE, "deviceScaleFactor": 2, "mobile": True},
    )


def viewport(driver: WebDriver, size: dict[str, int], height: int | None = None) -> None:
    """The phone (2× pixels, mobile) or a desktop's window (1×), `height` tall if given."""
    mobile = size == PHONE
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            **size,
            "height": height or size["height"],
            "deviceScaleFactor": 2 if mobile else 1,
            "mobile": mobile,
        },
    )


@dataclass
class Page:
    """The browser on one of our pages."""

    driver: WebDriver
    base: str
    size: dict[str, int] = field(default_factory=lambda: PHONE)

    def open(self, path_or_url: str) -> None:
        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        self.driver.get(url)
        self.wait_for("main")

    def wait_for(self, css: str, timeout: float = 10) -> Any:
        return WebDriverWait(self.driver, timeout).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def ids_while_scrolling(self, css: str, wanted: int, timeout: float = 60) -> set[str]:
        """The ids of every element matching `css` met while scrolling the page from top to
        bottom — for a page that renders only what is near the viewport (the API reference):
        until `wanted` were seen or the bottom was reached."""
        seen: set[str] = set()
        script = "return [...document.querySelectorAll(arguments[0])].map(e => e.id)"
        y, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _ in range(10):  # what this position shows, once rendered
                before = len(seen)
                seen.update(self.driver.execute_script(script, css))
                if len(seen) >= wanted or (len(seen) == before and _ > 1):
                    break
                time.sleep(0.1)
            bottom = int(self.driver.execute_script("return document.body.scrollHeight"))
            if len(seen) >= wanted or y >= bottom:
                break
            y += int(self.driver.execute_script("return window.innerHeight"))
            self.driver.execute_script("window.scrollTo(0, arguments[0])", y)
        return seen

    def find(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self, css: str = "main") -> str:
        return str(self.find(css).text)

    def click_and_wait(self, css: str) -> None:
        """Click what submits a form or follows a link, and wait for the next page."""
        old = self.find("html").id

        def replaced(driver: WebDriver) -> bool:
            # A new document has a new root element (asked without running any script: the
            # page may be under test with JavaScript off).
            try:
                return bool(driver.find_element(By.TAG_NAME, "html").id != old)
            except WebDriverException:
                return False

        self.find(css).click()
        WebDriverWait(self.driver, 10).until(replaced)
        self.wait_for("main")

    def tall(self, height: int) -> None:
        """A phone's width with a viewport `height` tall: a page that renders only what is near
        the viewport (the API reference) renders all of it at once. `phone` puts it back."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {**PHONE, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )

    def screenshot(self, name: str, *, whole: bool = True) -> Path:
        """The whole page, as tall as it is, at the phone's width (`whole=False`: what the first
        screen shows)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        height = (
            int(self.driver.execute_script("return document.documentElement.scrollHeight"))
            if whole
            else self.size["height"]
        )
        viewport(self.driver, self.size, max(self.size["height"], height))
        path = SCREENSHOTS / f"{name}.png"
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        viewport(self.driver, self.size)
        return path

    def accessibility(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(JSON.stringify(r.violations)))"
            ".catch(e => done(JSON.stringify([{id: 'axe-failed', impact: 'critical',"
            " description: String(e), nodes: []}])));"
        )
        violations: list[dict[str, Any]] = json.loads(result)
        return [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v.get("help", v.get("description")),
                "nodes": [n.get("target") for n in v["nodes"]][:5],
            }
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]

    def console_errors(self) -> list[str]:
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE"
        ]
