"""The browser walk's Ports and Routing steps (tests/web/test_browser_walk.py runs them): block
sending on a port and unblock it again; add a routing rule to a receiver on loopback, press
its Test button and see the receiver's answer."""
from __future__ import annotations

from typing import Any

from browser import Walk
from e2e.harness import PushReceiver


def ports(w: Walk, daemon: Any) -> None:
    w.click_nav("Ports")
    w.wait_text("Port 2")
    card = w.driver.find_element("id", "port-1")
    assert card.find_elements("css selector", "svg.spark")
    send = card.find_element("name", "send")
    send.find_element("css selector", "option[value=off]").click()
    card.find_element("xpath", ".//button[normalize-space()='Save port 1']").click()
    w.wait_text("Port 1: saved (send).")
    w.shot("ports")
    card = w.driver.find_element("id", "port-1")
    card.find_element("name", "send").find_element("css selector", "option[value=on]").click()
    card.find_element("xpath", ".//button[normalize-space()='Save port 1']").click()
    w.wait_text("Port 1: saved (send).")


def routing(w: Walk, daemon: Any) -> None:
    receiver = PushReceiver()
    try:
        w.click_nav("Routing")
        w.fill("url", receiver.url)
        w.driver.find_element("css selector", "select[name=protocol] option[value=json]").click()
        w.fill("text_prefix", "ALARM")
        w.submit("Add route")
        w.wait_text("Route 1 added.")
        w.driver.find_element("css selector", "#route-1 button").click()      # Test
        w.wait_text("The receiver answered HTTP 200")
        assert len(receiver.posts) == 1 and b"ALARM" in receiver.posts[0][1]
        w.shot("routing")
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
