"""The Routing page's rule tables in a real browser (headless Chromium) against the real daemon
(simulate mode, 2 ports): a port group made from the port checkboxes, an outbound rule, the test
box's answer, a bad prefix shown next to its field, a forward-as-SMS rule; screenshots beside the
walk's, in a folder of their own (the walk clears its own)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

import browser
from e2e.harness import ADMIN_PW


def shot(w: browser.Walk, name: str) -> None:
    folder = browser.SCREENSHOTS / "routing"
    folder.mkdir(parents=True, exist_ok=True)
    w.driver.save_screenshot(str(folder / f"{name}.png"))


@pytest.fixture
def w(console_daemon: Any, tmp_path: Path) -> Iterator[browser.Walk]:
    why = browser.missing()
    if why:
        pytest.skip(why)
    driver = browser.new_driver(tmp_path / "chromium-profile")
    try:
        walk = browser.Walk(driver, console_daemon.base)
        walk.login("admin", ADMIN_PW)
        walk.wait(lambda: "/dashboard" in driver.current_url, what="sign-in")
        yield walk
    finally:
        driver.quit()


def choose(w: browser.Walk, select: str, value: str) -> None:
    w.driver.find_element("css selector", f"select[name={select}] option[value='{value}']").click()


def test_rules_made_and_tested_in_the_browser(w: browser.Walk) -> None:
    w.click_nav("Routing")
    w.fill("group_name", "main")
    w.driver.find_element("css selector", "input[name=group_ports][value='0']").click()
    w.submit("Save group")
    w.wait_text("Port group main saved.")
    w.fill("group_name", "spare")
    w.driver.find_element("css selector", "input[name=group_ports][value='1']").click()
    w.submit("Save group")
    w.wait_text("Port group spare saved.")
    w.fill("prefix", "+44x")
    choose(w, "target1", "main")
    w.submit("Add rule")
    w.wait(lambda: "number prefix" in w.driver.find_element("id", "prefix-error").text,
           what="the prefix's error beside it")
    w.fill("prefix", "+44")
    choose(w, "target1", "main")
    choose(w, "target2", "spare")
    w.submit("Add rule")
    w.wait_text("Outbound rule 1 added.")
    assert "main then spare" in w.driver.find_element("id", "rule-1").text
    w.fill("which_number", "+44 7700 900123")
    w.driver.find_element("css selector", "form.which button").click()
    w.wait(lambda: "Outbound rule 1: port(s) 1 then port(s) 2."
           in w.driver.find_element("id", "which-answer").text, what="the test box's answer")
    assert "It would go out now on port(s) 1." in w.driver.find_element("id", "which-answer").text
    shot(w, "outbound")
    w.fill("fwd_numbers", "+447700900111")
    w.fill("fwd_keyword", "ALARM")
    choose(w, "fwd_port", "1")
    w.submit("Add forward rule")
    w.wait_text("Forward rule 1 added.")
    row = w.driver.find_element("id", "forward-1").text
    assert "+447700900111" in row and "ALARM" in row and "admin" in row
    shot(w, "forward")
