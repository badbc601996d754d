"""The Network page over real HTTP on loopback, against networkd, hostnamed and timedated played
by python-dbusmock on a private system bus (the fixtures of tests/test_network_dbus.py): a change
shows the trial banner, a confirmation keeps it, no confirmation rolls it back; bad input is shown
next to its field and nothing is written or called."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

if shutil.which("dbus-daemon") is None:
    pytest.skip("dbus-daemon is not installed (apt-get install dbus): no private system bus",
                allow_module_level=True)

from console_front import ADMIN_PW, PW, Client, ConsoleFront  # noqa: E402
from test_network_dbus import (OLD_FILE, FakeTimers, Mocks, calls, clear, fresh,  # noqa: E402,F401
                               mocks)
from smsd.system.network import MANAGED_FILE, read_file  # noqa: E402
from smsd.system.network_config import NetworkConfigurator  # noqa: E402

STATIC = {"mode": "static", "interface": "eth0", "address": "192.168.7.50", "prefix": "24",
          "gateway": "192.168.7.1", "dns": "192.168.7.1, 192.168.7.2", "hostname": "sms-gw",
          "timezone": "America/New_York", "ntp": "", "ntp_servers": "", "confirm_within": "30"}


class Box:
    def __init__(self, front: ConsoleFront, netdir: Path, timers: FakeTimers) -> None:
        self.front, self.netdir, self.timers = front, netdir, timers

    @property
    def file(self) -> str | None:
        return read_file(str(self.netdir / MANAGED_FILE))


@pytest.fixture
def box(fresh: Mocks, tmp_path: Path) -> Iterator[Box]:  # noqa: F811
    netdir, state = tmp_path / "network", tmp_path / "state"
    netdir.mkdir()
    state.mkdir()
    (netdir / MANAGED_FILE).write_text(OLD_FILE)
    timers = FakeTimers()
    with ConsoleFront(tmp_path) as front:
        front.svc.network.attach(NetworkConfigurator(str(state), directory=str(netdir),
                                                     interface="eth0", timers=timers,
                                                     clock=timers.clock))
        yield Box(front, netdir, timers)


def admin(front: ConsoleFront) -> Client:
    c = front.client()
    c.login("admin", ADMIN_PW)
    return c


def test_the_form_shows_the_settings_in_force(box: Box) -> None:
    page = admin(box.front).get("/network")
    assert page.status == 200
    assert 'name="mode" value="dhcp" checked' in page.body
    assert 'name="hostname" value="smsd"' in page.body
    assert 'name="timezone" value="Europe/London"' in page.body
    assert "network-pending" not in page.body


def test_change_banner_confirm_keeps(box: Box, fresh: Mocks) -> None:  # noqa: F811
    c = admin(box.front)
    reply = c.post("/network", STATIC)
    assert reply.status == 303, reply.body
    assert "Address=192.168.7.50/24" in (box.file or "")
    page = c.get("/network")
    assert 'id="network-pending"' in page.body and "Confirm the new settings" in page.body
    assert 'src="/static/network.js"' in page.body
    pending = box.front.svc.network.pending()
    assert pending is not None and f'value="{pending.change_id}"' in page.body
    box.timers.advance(20)
    assert c.post("/network/confirm", {"change_id": pending.change_id}).status == 303
    assert "confirmed and kept" in c.get("/network").body
    clear(fresh)
    box.timers.advance(3600)
    assert "Address=192.168.7.50/24" in (box.file or "")
    assert all(calls(m) == [] for m in fresh.all())            # nothing rolled back
    actions = [e.action for e in box.front.svc.audit.entries()]
    assert actions == ["network.confirm", "network.apply"]


def test_change_without_confirmation_rolls_back(box: Box, fresh: Mocks) -> None:  # noqa: F811
    c = admin(box.front)
    assert c.post("/network", STATIC).status == 303
    change = box.front.svc.network.pending()
    assert change is not None
    box.timers.advance(30)                                      # nobody confirmed in time
    assert box.file == OLD_FILE
    page = c.get("/network")
    assert "network-pending" not in page.body
    assert 'name="mode" value="dhcp" checked' in page.body
    assert 'name="timezone" value="Europe/London"' in page.body
    late = c.post("/network/confirm", {"change_id": change.change_id})
    assert late.status == 409 and "rolled back" in late.body
    assert box.file == OLD_FILE


@pytest.mark.parametrize("field, value, shown", [
    ("gateway", "10.9.9.1", "outside 192.168.7.0/24"),
    ("address", "", "needs an address"),
    ("address", "192.168.7.255", "broadcast"),
    ("prefix", "abc", "whole number"),
    ("prefix", "40", "1..32"),
    ("dns", "not-an-ip", "not an IP address"),
    ("hostname", "-bad-", "labels of letters"),
    ("hostname", "<script>x</script>", "&lt;script&gt;"),
    ("timezone", "Mars/Olympus", "unknown"),
    ("timezone", "../etc/passwd", "zone name"),
    ("interface", "wlan9", "no such network link"),
    ("mode", "bridge", "DHCP or a static"),
    ("confirm_within", "5", "10 to 600"),
    ("ntp_servers", "bad_name!", "NTP server"),
])
def test_bad_input_is_shown_at_its_field_and_changes_nothing(
        box: Box, fresh: Mocks, field: str, value: str, shown: str) -> None:  # noqa: F811
    c = admin(box.front)
    clear(fresh)
    reply = c.post("/network", {**STATIC, field: value})
    assert reply.status == 400, reply.body
    assert shown in reply.body
    if field != "mode":
        assert f'id="{field}-error"' in reply.body
    assert "<script>x" not in reply.body
    assert box.file == OLD_FILE and box.front.svc.network.pending() is None
    assert calls(fresh.hostnamed) == [] and calls(fresh.timedated) == []
    assert box.front.svc.audit.entries() == []


def test_a_second_change_waits_for_the_first(box: Box) -> None:
    c = admin(box.front)
    assert c.post("/network", STATIC).status == 303
    reply = c.post("/network", {**STATIC, "hostname": "other"})
    assert reply.status == 409 and "waiting for its confirmation" in reply.body


def test_csrf_and_permissions(box: Box) -> None:
    c = admin(box.front)
    assert c.post("/network", STATIC, csrf=False).status == 403
    assert c.post("/network", {**STATIC, "csrf": "forged"}).status == 403
    assert box.file == OLD_FILE
    alice = box.front.client()
    alice.login("alice", PW)
    assert alice.get("/network").status == 403
    assert alice.post("/network", STATIC).status == 403
    assert box.file == OLD_FILE


def test_a_box_that_does_not_manage_its_network_says_so(tmp_path: Path) -> None:
    with ConsoleFront(tmp_path) as front:
        c = admin(front)
        page = c.get("/network")
        assert page.status == 200 and "manage = yes" in page.body and "<form class=\"settings\"" \
            not in page.body
        assert c.post("/network", STATIC).status == 409
