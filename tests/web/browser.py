"""The real-browser harness: Debian's headless Chromium driven by Selenium through Debian's
chromedriver, against the real daemon (`smsd run --simulate`, tests/e2e/harness.py).

Selenium is given /usr/bin/chromedriver explicitly, so Selenium Manager never runs (it would try
to download a driver; this machine reaches package registries only). Each browser gets a fresh
profile directory. `make browser-deps` installs chromium and chromium-driver when missing; the
tests skip, saying so, where they are not installed.

Screenshots of every step go to build/screenshots/ (git-ignored): `Walk.shot(name)`.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

CHROMIUM = os.environ.get("SMSD_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SMSD_CHROMEDRIVER", "/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--window-size=1280,900")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (make browser-deps)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


def new_driver(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # Selenium 4.8 falls back to Selenium Manager only when the driver's path cannot be run;
    # missing() has checked it can, so nothing is ever downloaded.
    driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER),
                              options=options)
    driver.set_page_load_timeout(30)
    return driver


def stale(exc: Exception) -> bool:
    """Chromium's other way of saying "stale element": the node looked at was replaced (a page
    loading under the look) between finding it and reading it, reported as an unknown error of
    its inspector rather than as StaleElementReferenceException."""
    return "does not belong to the document" in str(exc)


@dataclass
class Walk:
    """One browser session on the console at `base`; helpers for the steps of the walk."""

    driver: Any
    base: str
    shots: list[Path] = field(default_factory=list)

    # --- looking ----------------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def text(self) -> str:
        return str(self.driver.find_element("tag name", "body").text)

    def nav_titles(self) -> list[str]:
        return [a.text for a in self.driver.find_elements("css selector", "header nav a")]

    def wait(self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
        """Poll `predicate` (a page reload is the caller's); fail the test on timeout."""
        from selenium.common.exceptions import (NoSuchElementException,
                                                StaleElementReferenceException,
                                                WebDriverException)

        deadline = time.monotonic() + timeout
        while True:
            try:
                value = predicate()
            except (StaleElementReferenceException, NoSuchElementException):
                value = None            # the page was changing under the look (loading): again
            except WebDriverException as exc:
                if not stale(exc):
                    raise
                value = None            # the same, as Chromium sometimes words it
            if value:
                return value
            if time.monotonic() > deadline:
                self.shot("timeout")
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.2)

    def wait_text(self, text: str, timeout: float = 20.0, *, reload: bool = False) -> None:
        def seen() -> bool:
            if reload:
                self.driver.refresh()
            return text in self.text()
        self.wait(seen, timeout, f"{text!r} on {self.driver.current_url}")

    # --- acting -----------------------------------------------------------------------------
    def click_nav(self, title: str) -> None:
        self.driver.find_element("link text", title).click()

    def fill(self, name: str, value: str) -> None:
        element = self.driver.find_element("name", name)
        element.clear()
        element.send_keys(value)

    def submit(self, button_text: str | None = None) -> None:
        if button_text is None:
            self.driver.find_element("css selector", "main form button[type=submit]").click()
        else:
            self.driver.find_element("xpath", f"//button[normalize-space()='{button_text}']").click()

    def login(self, user: str, password: str) -> None:
        self.open("/")
        self.fill("username", user)
        self.fill("password", password)
        self.driver.find_element("css selector", "form.login button").click()

    def sign_out(self) -> None:
        self.driver.find_element("css selector", "form.signout button").click()

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{len(self.shots) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.shots.append(path)
        return path


def copy_to_docs(shots: list[Path], names: tuple[str, ...]) -> None:
    """The screenshots named (by step name) into docs/images/ for docs/web-console.md, when
    SMSD_DOC_IMAGES=1 asks for it (else every run would change files in the tree)."""
    if os.environ.get("SMSD_DOC_IMAGES") != "1":
        return
    target = REPO / "docs" / "images"
    target.mkdir(parents=True, exist_ok=True)
    for path in shots:
        step = path.stem.partition("-")[2]
        if step in names:
            shutil.copyfile(path, target / f"web-{step}.png")
