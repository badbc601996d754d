"""The console in a real browser: one walk through the pages, as a user would go.

The walk is a list of steps run in order on one signed-in browser (WALK below); each step takes
the Walk (tests/web/browser.py) and the daemon (tests/e2e/harness.py), acts through the pages
only, checks what the page shows and saves a screenshot. A page's helper adds its step(s) to
WALK before `sign_out`. Screenshots: build/screenshots/; those named in DOC_SHOTS are copied to
docs/images/ for docs/web-console.md.
"""
from __future__ import annotations

from typing import Any, Callable

from browser import Walk, copy_to_docs
from e2e.harness import ADMIN_PW

NAV = ["Dashboard", "Send", "Outbox", "Inbox", "Users", "Address book", "Ports", "Routing",
       "Network", "System"]
DOC_SHOTS = ("login", "dashboard", "send", "outbox", "inbox")


def login(w: Walk, daemon: Any) -> None:
    w.open("/")
    assert "/login" in w.driver.current_url
    w.shot("login")
    w.login("admin", ADMIN_PW)
    w.wait(lambda: "/dashboard" in w.driver.current_url, what="the dashboard after sign-in")
    assert w.nav_titles() == NAV


def dashboard(w: Walk, daemon: Any) -> None:
    w.wait_text("Port 1")
    w.shot("dashboard")


def sign_out(w: Walk, daemon: Any) -> None:
    w.sign_out()
    w.wait(lambda: "/login" in w.driver.current_url, what="the login page after sign-out")
    w.open("/outbox")
    assert "/login" in w.driver.current_url
    w.shot("signed-out")


Step = Callable[[Walk, Any], None]
WALK: list[Step] = [login, dashboard, sign_out]


def test_walk(walk: Walk, console_daemon: Any) -> None:
    for step in WALK:
        step(walk, console_daemon)
    copy_to_docs(walk.shots, DOC_SHOTS)
