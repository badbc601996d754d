"""The Network page's remote connection section (issue 17): over real HTTP against a console
whose tunnel dials a real relay (`smsd drp-server`, a subprocess), and in headless Chromium
against the real daemon. Saving puts the tunnel up at once; bad settings are refused with the
reason and change nothing; the secret is never shown back."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from console_front import ConsoleFront
from e2e.drp_harness import Relay, drp
from e2e.harness import wait_for
from smsd.drp.device import RemoteTunnel
from smsd.drp.device_stream import LocalTarget


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    r = Relay(str(tmp_path / "relay"))
    drp(r.state_dir, "user", "add", "carol", "--password", "carol-pw")
    r.start()
    yield r
    r.stop()


def test_saving_the_form_connects_the_box_to_the_relay(front: ConsoleFront, admin,  # type: ignore[no-untyped-def]
                                                       relay: Relay) -> None:
    tunnel = RemoteTunnel(front.svc.sn, LocalTarget(front.host, front.port))
    front.svc.remote.attach(tunnel, None)
    try:
        page = admin.get("/network")
        assert page.status == 200 and "Remote connection" in page.body
        assert 'id="remote-status"' not in page.body          # nothing configured yet
        secret = drp(relay.state_dir, "device", "add", front.svc.sn, "--owner", "carol").strip()
        form = {"remote_server": f"127.0.0.1:{relay.device_port}", "remote_secret": secret,
                "remote_fingerprint": relay.fingerprint.upper(), "remote_ca_file": "",
                "remote_enabled": "on"}
        reply = admin.post("/network/remote", form)
        assert reply.status == 303, reply.body
        wait_for(lambda: "<strong>connected</strong>" in admin.get("/network").body, 20,
                 interval=0.2, what="the page shows the tunnel connected")
        page = admin.get("/network")
        assert secret not in page.body and "(unchanged)" in page.body
        assert relay.fingerprint in page.body                   # kept in its normal form
        # The secret left empty keeps the one in force: still connected after a save.
        reply = admin.post("/network/remote", {**form, "remote_secret": ""})
        assert reply.status == 303
        wait_for(lambda: tunnel.status()["connected"], 20, what="reconnected")
        assert [e.action for e in front.svc.audit.entries(action="remote.save")] == ["remote.save"] * 2
        # Switched off: the tunnel goes down.
        assert admin.post("/network/remote", {**form, "remote_enabled": ""}).status == 303
        assert "last error: disabled" in admin.get("/network").body
    finally:
        front.svc.remote.close()


@pytest.mark.parametrize("change, message", [
    ({"remote_server": "relay.example.net"}, "must look like HOST:PORT"),
    ({"remote_server": "relay:99999"}, "must look like HOST:PORT"),
    ({"remote_secret": ""}, "secret"),
    ({"remote_fingerprint": "abc"}, "64 hex digits"),
    ({"remote_fingerprint": ""}, "never talks to an unchecked relay"),
])
def test_bad_settings_are_refused_with_the_reason(front: ConsoleFront, admin,  # type: ignore[no-untyped-def]
                                                  change: dict[str, str], message: str) -> None:
    form = {"remote_server": "relay.example.net:8444", "remote_secret": "s3cret",
            "remote_fingerprint": "ab" * 32, "remote_ca_file": "", "remote_enabled": "on",
            **change}
    reply = admin.post("/network/remote", form)
    assert reply.status == 400 and message in reply.body, reply.body
    assert front.svc.remote.settings() is None               # nothing saved
    assert "s3cret" not in reply.body


def test_the_form_needs_the_csrf_token(front: ConsoleFront, admin) -> None:  # type: ignore[no-untyped-def]
    reply = admin.post("/network/remote", {"remote_server": "r:1", "remote_secret": "x",
                                           "remote_fingerprint": "ab" * 32}, csrf=False)
    assert reply.status == 403 and front.svc.remote.settings() is None


def test_the_remote_section_in_a_browser(walk, console_daemon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    relay = Relay(str(tmp_path / "relay"))
    drp(relay.state_dir, "user", "add", "carol", "--password", "carol-pw")
    relay.start()
    try:
        sn = console_daemon.api("query_sms_in_queue")["sn"]
        secret = drp(relay.state_dir, "device", "add", sn, "--owner", "carol").strip()
        from e2e.harness import ADMIN_PW
        walk.login("admin", ADMIN_PW)
        walk.wait(lambda: "/dashboard" in walk.driver.current_url, what="sign-in")
        walk.click_nav("Network")
        walk.wait_text("Remote connection")
        walk.fill("remote_server", f"127.0.0.1:{relay.device_port}")
        walk.fill("remote_secret", secret)
        walk.fill("remote_fingerprint", relay.fingerprint)
        walk.submit("Save remote connection")
        walk.wait_text("saved and in force")
        walk.wait_text("Status: connected", reload=True)
        walk.shot("network-remote")
        remote = console_daemon.api("get_status")["remote"]
        assert remote["connected"] is True and remote["last_error"] == ""
    finally:
        relay.stop()
