"""The console in a real browser: one walk through the pages, as a user would go.

The walk is a list of steps run in order on one signed-in browser (WALK below); each step takes
the Walk (tests/web/browser.py) and the daemon (tests/e2e/harness.py), acts through the pages
only, checks what the page shows and saves a screenshot. A page's helper adds its step(s) to
WALK before `sign_out`. Screenshots: build/screenshots/; those named in DOC_SHOTS are copied to
docs/images/ for docs/web-console.md.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from browser import Walk, copy_to_docs
from e2e.harness import ADMIN_PW
from walk_ports_routing import ports, routing
from walk_network_system import network, system
from walk_users_book import book, users

NAV = ["Dashboard", "Send", "Outbox", "Inbox", "Users", "Address book", "Ports", "Routing",
       "Network", "System"]
DOC_SHOTS = ("login", "dashboard", "send", "outbox", "inbox", "users", "book", "ports", "routing",
             "system")


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
    # The page refreshes by itself: a message sent meanwhile (through the API) shows up in a
    # port's sent count without a reload.
    accepted = daemon.api("send_sms", {"text": "dashboard", "param": [{"number": "+4477009"}]})
    assert accepted["error_code"] == 202, accepted
    def counted() -> bool:
        cells = w.driver.find_elements("css selector", '[data-field="sent"]')
        return sum(int(c.text or 0) for c in cells) == 1
    w.wait(counted, timeout=30, what="the dashboard's own refresh to count the message sent")


TO = "+447700900123"
TEXT = "Hello from the console"
INBOUND = "A reply <b>from</b> the network"


def send(w: Walk, daemon: Any) -> None:
    w.click_nav("Send")
    w.fill("to", TO)
    w.fill("text", TEXT)
    counter = w.driver.find_element("id", "counter")
    w.wait(lambda: "1 part(s), gsm7" in counter.text, what="the counter's plan")
    w.shot("send")
    w.submit("Send")
    w.wait(lambda: "/send?task=" in w.driver.current_url, what="the task's progress")
    bar = w.driver.find_element("id", "progress")
    w.wait(lambda: bar.get_attribute("value") == bar.get_attribute("max") == "1",
           what="the progress bar to fill")
    w.shot("send-progress")


def outbox(w: Walk, daemon: Any) -> None:
    w.click_nav("Outbox")
    def sent() -> bool:
        w.driver.refresh()
        cells = w.driver.find_elements("css selector", "#messages tbody td")
        text = " ".join(c.text for c in cells)
        return TO in text and ("SENT_OK" in text or "DELIVERED" in text)
    w.wait(sent, what="the message SENT_OK or DELIVERED in the outbox")
    w.shot("outbox")


def inbox(w: Walk, daemon: Any) -> None:
    status, body = daemon.request("/sim/sms", json.dumps(
        {"port": 0, "from": "+447700900555", "text": INBOUND}).encode(),
        headers={"Content-Type": "application/json"})
    assert status == 200 and b'"error_code":200' in body, body
    w.click_nav("Inbox")
    w.wait_text(INBOUND, reload=True)      # escaped: shown as written, not as markup
    assert w.driver.find_elements("css selector", "#messages b") == []
    w.shot("inbox")


def sign_out(w: Walk, daemon: Any) -> None:
    w.sign_out()
    w.wait(lambda: "/login" in w.driver.current_url, what="the login page after sign-out")
    w.open("/outbox")
    assert "/login" in w.driver.current_url
    w.shot("signed-out")


Step = Callable[[Walk, Any], None]
WALK: list[Step] = [login, dashboard, send, outbox, inbox, users, book, ports, routing, network,
                    system, sign_out]


def test_walk(walk: Walk, console_daemon: Any) -> None:
    for step in WALK:
        step(walk, console_daemon)
    copy_to_docs(walk.shots, DOC_SHOTS)
