"""The Ports page's SIM limits: per-slot values saved through svc.sims (errors next to the field,
nothing half-saved), block/unblock, CSRF and permissions over real HTTP; and the same page in
headless Chromium against the running daemon, checked back through the JSON API."""
from __future__ import annotations

import html
import re
from typing import Any

import pytest

from console_front import PW, Client, ConsoleFront
from smsd.portcfg import BadSetting


def field_error(body: str, name: str) -> str:
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', body)
    return html.unescape(found.group(1)) if found else ""


def test_the_page_lists_every_slot_with_the_port_row_first(front: ConsoleFront,
                                                          admin: Client) -> None:
    page = admin.get("/ports")
    assert page.status == 200
    card = page.body[page.body.index('id="sims-1"'):page.body.index('id="sims-2"')]
    rows = re.findall(r'<form id="sim-0-(-?\d+)"', card)
    assert rows == ["-1", "0", "1", "2", "3"]        # every SIM, then the fake board's 4 slots
    assert "Block the active SIM" in card and 'name="sim_parts_per_day"' in card
    assert "Block slot 3" in card and 'name="smsc"' in card and 'name="sim_pin"' in card
    assert f"number {front.svc.sims.views([0])[0].number or '-'}" in card


def test_a_slot_has_its_own_pin_and_smsc_never_shown_nor_audited(front: ConsoleFront,
                                                                 admin: Client) -> None:
    reply = admin.post("/ports/sim", {"port": "0", "slot": "1", "sim_pin": "4711",
                                      "smsc": "+447958879880"})
    assert reply.status == 303, reply.body[-400:]
    assert front.svc.sims.own_settings(0, 1) == {"sim_pin": "4711", "smsc": "+447958879880"}
    page = admin.get("/ports").body
    assert "4711" not in page and "+447958879880" in page
    assert "4711" not in front.svc.audit.entries(action="port")[0].detail
    # an empty PIN field keeps it; "clear" gives the slot the port's PIN again
    assert admin.post("/ports/sim", {"port": "0", "slot": "1", "sim_pin": "",
                                     "smsc": "+447958879880"}).status == 303
    assert front.svc.sims.own_settings(0, 1)["sim_pin"] == "4711"
    assert admin.post("/ports/sim", {"port": "0", "slot": "1", "sim_pin": "",
                                     "clear_sim_pin": "1"}).status == 303
    assert "sim_pin" not in front.svc.sims.own_settings(0, 1)
    bad = admin.post("/ports/sim", {"port": "0", "slot": "1", "sim_pin": "12"})
    assert bad.status == 400 and field_error(bad.body, "sim-0-1-sim_pin")


def test_slot_values_are_saved_audited_and_override_the_port(front: ConsoleFront,
                                                            admin: Client) -> None:
    assert admin.post("/ports/sim", {"port": "0", "slot": "-1",
                                     "sim_parts_per_day": "100"}).status == 303
    reply = admin.post("/ports/sim", {"port": "0", "slot": "2", "sim_parts_per_day": "7",
                                      "credit": "12.5", "calls_per_day": ""})
    assert reply.status == 303, reply.body[-400:]
    assert front.svc.sims.settings(0, 2)["sim_parts_per_day"] == "7"
    assert front.svc.sims.settings(0, 1)["sim_parts_per_day"] == "100"
    assert front.svc.sims.limits.credit(0, 2) == 12.5
    entry = front.svc.audit.entries(action="port")[0]
    assert entry.user == "admin" and "port 1 slot 3" in entry.detail
    page = admin.get("/ports")
    assert 'value="12.50"' in page.body


def test_bad_values_show_next_to_the_field_and_nothing_is_saved(front: ConsoleFront,
                                                                admin: Client) -> None:
    reply = admin.post("/ports/sim", {"port": "1", "slot": "0", "sim_parts_per_day": "5",
                                      "credit": "<b>lots</b>"})
    assert reply.status == 400
    assert "amount" in field_error(reply.body, "sim-1-0-credit")
    assert "<b>lots" not in reply.body                      # escaped, never echoed as markup
    assert front.svc.sims.own_settings(1, 0) == {}          # all or nothing
    assert admin.post("/ports/sim", {"port": "1", "slot": "9"}).status == 400
    with pytest.raises(BadSetting):          # a credit counter belongs to one SIM
        front.svc.sims.set_settings(1, -1, credit="5")
    assert admin.post("/ports/sim", {"port": "5", "slot": "0"}).status == 400
    assert admin.post("/ports/sim", {"port": "1", "slot": "0", "sim_parts_per_day": "1"},
                      csrf=False).status == 403
    assert front.svc.sims.own_settings(1, 0) == {}


def test_block_and_unblock_the_active_sim(front: ConsoleFront, admin: Client) -> None:
    assert admin.post("/ports/block", {"port": "1", "op": "block"}).status == 303
    view = front.svc.sims.views([1])[0]
    assert view.blocked and front.svc.sims.limits.why_not(1, view.slot, 0.0) == "blocked"
    assert "Unblock the active SIM" in admin.get("/ports").body
    assert admin.post("/ports/block", {"port": "1", "op": "unblock"}).status == 303
    assert not front.svc.sims.views([1])[0].blocked
    assert admin.post("/ports/block", {"port": "1", "op": "melt"}).status == 400
    assert admin.post("/ports/block", {"port": "1", "slot": "3", "op": "block"}).status == 303
    assert front.svc.sims.limits.blocked(1, 3) and not front.svc.sims.views([1])[0].blocked
    assert admin.post("/ports/block", {"port": "1", "slot": "7", "op": "block"}).status == 400
    assert admin.post("/ports/block", {"port": "1", "slot": "-1", "op": "block"}).status == 400


def test_a_user_without_port_control_cannot_change_sims(front: ConsoleFront) -> None:
    alice = front.client()
    assert alice.login("alice", PW).status == 303
    assert alice.post("/ports/sim", {"port": "0", "slot": "0",
                                     "sim_parts_per_day": "1"}).status == 403
    assert alice.post("/ports/block", {"port": "0", "op": "block"}).status == 403
    assert front.svc.sims.own_settings(0, 0) == {} and not front.svc.sims.views([0])[0].blocked


def test_in_chromium_the_limits_set_on_the_page_reach_the_json_api(walk: Any,
                                                                   console_daemon: Any) -> None:
    from e2e.harness import ADMIN_PW
    walk.login("admin", ADMIN_PW)
    walk.wait_text("Dashboard")
    walk.click_nav("Ports")
    walk.wait_text("SIM limits")
    box = walk.driver.find_element(
        "css selector", "input[aria-label='SMS parts per day of port 1 SIM']")
    box.clear()
    box.send_keys("3")
    walk.driver.find_element("xpath", "//section[@id='port-1']//button[normalize-space()="
                                      "'Save SIM']").click()
    walk.wait_text("Port 1 SIM: saved (sim_parts_per_day).")
    walk.wait_text("left today 3")
    walk.driver.find_element("xpath", "//section[@id='port-1']//button[normalize-space()="
                                      "'Block the active SIM']").click()
    walk.wait_text("Port 1 SIM: blocked.")
    walk.shot("ports-sim-limits")
    info = console_daemon.api("get_port_info", query="port=0&info_type=remain_daily_credit,blocked")
    assert info["info"] == [{"port": 0, "remain_daily_credit": "3.00", "blocked": True}]
