"""The browser walk's Network and System steps (tests/web/test_browser_walk.py).

The walk's daemon does not manage a network (no private D-Bus there), so its Network step shows
the page saying so; the change that rolls back, and the one confirmed, are walked in
tests/web/test_network_browser.py against a daemon on a private system bus.
"""
from __future__ import annotations

from typing import Any

from browser import Walk


def network(w: Walk, daemon: Any) -> None:
    w.click_nav("Network")
    w.wait_text("manage = yes")
    w.shot("network-unmanaged")


def system(w: Walk, daemon: Any) -> None:
    w.click_nav("System")
    w.wait_text("Daemon running for")
    assert "smsd " in w.driver.find_element("id", "version").text
    assert w.driver.find_elements("css selector", "#log-lines")     # the daemon logged its start
    w.shot("system")
    select = w.driver.find_element("name", "level")
    from selenium.webdriver.support.ui import Select
    Select(select).select_by_value("ERROR")
    w.driver.find_element("xpath", "//button[normalize-space()='Show']").click()
    w.wait(lambda: "level=ERROR" in w.driver.current_url, what="the log filtered by level")
    # Restart without the box ticked: refused next to the button, nothing happens.
    w.submit("Restart the daemon")
    w.wait_text("tick the box to confirm")
    # Ticked: this daemon was started by hand, not by smsd.service: refused, saying why.
    w.driver.find_element("css selector", "form[action='/system/restart'] input[name=confirm]") \
        .click()
    w.submit("Restart the daemon")
    w.wait_text("not run by smsd.service")
    assert daemon.proc.poll() is None
    # The admin actions of the walk's earlier steps (a user created, a route added) are listed.
    actions = [td.text for td in w.driver.find_elements("css selector", "#audit td:nth-child(3)")]
    assert any(a.startswith("user.") for a in actions), actions
    w.shot("system-refused")
