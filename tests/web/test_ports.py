"""The Ports page over real HTTP on loopback: settings saved through the service's validation
(errors next to the field, nothing half-saved), actions reaching the port's worker, permissions,
CSRF, escaping, the audit log."""
from __future__ import annotations

import html
import re
import time

import pytest

from console_front import PW, Client, ConsoleFront
from smsd.modem.jobs import Power, Reset, SimLock, SwitchSlot


def field_error(body: str, name: str) -> str:
    found = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', body)
    return html.unescape(found.group(1)) if found else ""


def jobs_of(front: ConsoleFront, port: int, kind: type, timeout: float = 5.0) -> list[object]:
    deadline = time.monotonic() + timeout
    while True:
        with front.workers[port].lock:
            found = [j for j in front.workers[port].other_jobs if isinstance(j, kind)]
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind.__name__} job reached port {port}")
        time.sleep(0.02)


def test_the_page_shows_every_port_with_its_settings_and_signal_plot(front: ConsoleFront,
                                                                     admin: Client) -> None:
    page = admin.get("/ports")
    assert page.status == 200
    for port in (1, 2):
        assert f'id="port-{port}"' in page.body
    assert "<svg" in page.body and "<polyline" in page.body and "<script" not in page.body
    assert 'name="smsc"' in page.body and 'name="max_parts_per_minute"' in page.body
    assert "Switch slot" in page.body            # the fake board has 4 slots a port


def test_settings_are_saved_and_audited_without_the_pin(front: ConsoleFront,
                                                       admin: Client) -> None:
    reply = admin.post("/ports/settings", {"port": "1", "smsc": "+447958879879", "send": "off",
                                           "sim_pin": "1234", "max_parts_per_minute": "30",
                                           "max_parts_per_day": "500"})
    assert reply.status == 303, reply.body
    stored = front.svc.ports.settings(1)
    assert (stored["smsc"], stored["send"], stored["sim_pin"],
            stored["max_parts_per_minute"], stored["max_parts_per_day"]) == \
        ("+447958879879", "off", "1234", "30", "500")
    assert front.svc.ports.settings(0)["send"] == "on"          # the other port untouched
    entry = front.svc.audit.entries(action="port")[0]
    assert entry.user == "admin" and "port 2" in entry.detail and "1234" not in entry.detail
    page = admin.get("/ports")
    assert "1234" not in page.body                   # a PIN is never shown back
    # An empty PIN field keeps the stored one; the box clears it only when asked.
    assert admin.post("/ports/settings", {"port": "1", "sim_pin": ""}).status == 303
    assert front.svc.ports.settings(1)["sim_pin"] == "1234"
    assert admin.post("/ports/settings", {"port": "1", "sim_pin": "",
                                          "clear_sim_pin": "1"}).status == 303
    assert front.svc.ports.settings(1)["sim_pin"] == ""


@pytest.mark.parametrize("field,value", [
    ("smsc", "not-a-number"), ("smsc", "+1" + "9" * 30), ("sim_pin", "12"),
    ("sim_pin", "12345678901"), ("max_parts_per_minute", "-1"),
    ("max_parts_per_minute", "1e3"), ("max_parts_per_minute", "100001"), ("send", "maybe"),
    ("max_parts_per_day", "-5"), ("max_parts_per_month", "lots"),
    ("charset", "EBCDIC"), ("submit_timeout", "1"), ("keepalive_period", "99999999"),
    ("national_languages", "klingon"), ("phone_number", "x" * 65),
    ("phone_number", "a\x00b"),
])
def test_bad_values_are_refused_next_to_their_field_and_nothing_is_saved(
        front: ConsoleFront, admin: Client, field: str, value: str) -> None:
    before = front.svc.ports.settings(0)
    reply = admin.post("/ports/settings", {"port": "0", "smsc": "+15550000", field: value}
                       if field != "smsc" else {"port": "0", field: value, "send": "off"})
    assert reply.status == 400
    assert field_error(reply.body, field).startswith(f"{field}:"), reply.body
    assert front.svc.ports.settings(0) == before          # the valid field was not saved either
    assert front.svc.audit.entries(action="port") == []


@pytest.mark.parametrize("port", ["", "2", "-1", "x", "0x1", "99999999999999999999"])
def test_a_port_the_box_lacks_is_refused(front: ConsoleFront, admin: Client, port: str) -> None:
    assert admin.post("/ports/settings", {"port": port, "send": "off"}).status == 400
    assert admin.post("/ports/action", {"port": port, "action": "reset"}).status == 400
    assert front.svc.ports.settings(0)["send"] == "on"


def test_actions_reach_the_ports_worker_and_the_audit_log(front: ConsoleFront,
                                                         admin: Client) -> None:
    assert admin.post("/ports/action", {"port": "0", "action": "slot", "param": "2"}).status == 303
    assert [j.slot for j in jobs_of(front, 0, SwitchSlot)] == [2]   # type: ignore[attr-defined]
    assert admin.post("/ports/action", {"port": "1", "action": "reset"}).status == 303
    jobs_of(front, 1, Reset)
    power_off = {"port": "1", "action": "power", "param": "off"}
    assert admin.post("/ports/action", power_off).status == 303
    assert [j.on for j in jobs_of(front, 1, Power)] == [False]      # type: ignore[attr-defined]
    lock = {"port": "0", "action": "lock", "param": "4321"}
    assert admin.post("/ports/action", lock).status == 303
    jobs_of(front, 0, SimLock)
    actions = [e.action for e in front.svc.audit.entries(action="port")]
    assert actions == ["port.lock", "port.power", "port.reset", "port.slot"]
    assert all("4321" not in e.detail for e in front.svc.audit.entries())


@pytest.mark.parametrize("fields,name", [
    ({"action": "slot", "param": "9"}, "param"), ({"action": "slot", "param": "4"}, "param"),
    ({"action": "slot", "param": ""}, "param"), ({"action": "power", "param": "maybe"}, "param"),
    ({"action": "lock", "param": "12"}, "param"), ({"action": "unlock", "param": ""}, "param"),
    ({"action": "format", "param": ""}, "action"), ({"action": "", "param": ""}, "action"),
])
def test_bad_actions_are_refused_next_to_their_field(front: ConsoleFront, admin: Client,
                                                     fields: dict[str, str], name: str) -> None:
    reply = admin.post("/ports/action", {"port": "0", **fields})
    assert reply.status == 400
    assert field_error(reply.body, name), reply.body
    assert front.svc.audit.entries(action="port") == []


def test_without_a_valid_csrf_token_nothing_changes(front: ConsoleFront, admin: Client) -> None:
    assert admin.post("/ports/settings", {"port": "0", "send": "off"}, csrf=False).status == 403
    assert admin.post("/ports/settings", {"port": "0", "send": "off", "csrf": "x" * 43}
                      ).status == 403
    assert admin.post("/ports/action", {"port": "0", "action": "reset"}, csrf=False).status == 403
    assert front.svc.ports.settings(0)["send"] == "on"
    with front.workers[0].lock:
        assert not any(isinstance(j, Reset) for j in front.workers[0].other_jobs)


def test_only_admins_and_the_ports_permission_may_use_the_page(front: ConsoleFront) -> None:
    alice = front.client()
    alice.login("alice", PW)
    assert alice.get("/ports").status == 403
    assert alice.post("/ports/settings", {"port": "0", "send": "off"}).status == 403
    assert front.svc.ports.settings(0)["send"] == "on"
    front.svc.users.add("operator", PW, perms=("web", "ports"))
    operator = front.client()
    operator.login("operator", PW)
    assert "Ports" in operator.get("/dashboard").body
    assert operator.post("/ports/settings", {"port": "0", "send": "off"}).status == 303
    assert front.svc.ports.settings(0)["send"] == "off"


def test_what_the_modem_says_is_escaped(front: ConsoleFront, admin: Client) -> None:
    front.workers[0].change(operator="<script>alert(1)</script>", number="<b>&")
    page = admin.get("/ports")
    assert "<script>alert(1)</script>" not in page.body and "<b>&" not in page.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.body
    front.svc.ports.set_settings(0, phone_number='"><img src=x>')
    assert '"><img src=x>' not in admin.get("/ports").body
