"""The remote tunnel end to end (issue 17): the relay (`smsd drp-server`), two boxes on the
simulator that dial it, and API clients, all separate processes on loopback.

Box 1 belongs to account bob, box 2 to alice. The relay runs with a low per-session rate and
a small body limit so that the limits can be seen quickly.
"""
from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from e2e.drp_harness import Client, Relay, box, drp, relay_raw
from e2e.harness import Daemon, wait_for
from smsd.drp.device import RemoteTunnel
from smsd.drp.device_stream import LocalTarget
from smsd.drp.settings import RemoteSettings
from smsd.system.tls import make_self_signed

SESSION_RATE = 4          # per second; bursts of 8
MAX_BODY = 64 << 10


class Bench:
    def __init__(self, relay: Relay, box1: Daemon, box2: Daemon) -> None:
        self.relay, self.box1, self.box2 = relay, box1, box2

    def client(self, user: str = "alice", password: str = "alice-pw",
               sn: str | None = None) -> Client:
        c = Client(self.relay)
        assert c.login(user, password) == 200
        if sn is not None:
            assert c.choose(sn) == 200
        return c


def connected(d: Daemon) -> bool:
    remote = d.api("get_status").get("remote") or {}
    return bool(remote.get("connected"))


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    root = tmp_path_factory.mktemp("drp")
    relay = Relay(str(root / "relay"), "--session-rate", str(SESSION_RATE),
                  "--max-body", str(MAX_BODY))
    drp(relay.state_dir, "user", "add", "alice", "--password", "alice-pw")
    drp(relay.state_dir, "user", "add", "bob", stdin="bob-pw\n")      # password from stdin
    relay.start()
    box1 = box(str(root / "box1" / "state"), relay, "bob", ports=1)
    box2 = box(str(root / "box2" / "state"), relay, "alice", ports=1)
    try:
        box1.start()
        box2.start()
        for d in (box1, box2):
            wait_for(lambda: connected(d), 20, interval=0.2, what="box connected to the relay")
        yield Bench(relay, box1, box2)
    finally:
        for d in (box1, box2):
            d.stop()
        relay.stop()
        print("--- relay log ---\n" + "".join(relay.output[-60:]))
        for d in (box1, box2):
            print(f"--- box log ---\n{''.join(d.output[-40:])}")


def test_an_sms_sent_through_the_relay_reaches_device_2_and_is_delivered(bench: Bench) -> None:
    sn2 = bench.box2.sn       # type: ignore[attr-defined]
    c = bench.client(sn=sn2)
    status, reply = c.api("send_sms", {"text": "via the relay",
                                       "param": [{"number": "+447700900321", "user_id": 41}]})
    assert status == 200 and reply["error_code"] == 202 and reply["sn"] == sn2, reply

    def delivered() -> Any:
        time.sleep(0.4)                   # under the session's rate
        st, body = c.api("query_sms_result", {"user_id": [41]})
        rows = body.get("result", []) if st == 200 else []
        return rows if rows and rows[0]["status"] == "DELIVERED" else None

    rows = wait_for(delivered, 30, what="DELIVERED through the relay")
    assert rows[0]["number"] == "+447700900321"
    # It went to box 2 only, and the relay says who reached it.
    assert bench.box2.results(user_id=[41]) and not bench.box1.results(user_id=[41])
    assert any(f"(alice) -> device {sn2}: POST /api/send_sms -> 200" in line
               for line in bench.relay.output)
    c.close()


def test_the_box_still_checks_the_clients_own_authorization(bench: Bench) -> None:
    c = bench.client(sn=bench.box2.sn)    # type: ignore[attr-defined]
    relayed = c.api("get_status", password="wrong")
    direct = bench.box2.request("/api/get_status", auth=("admin", "wrong"))
    assert relayed[0] == direct[0] == 401
    assert c.api("get_status")[0] == 200
    # The box trusts its own loopback address (/metrics without a password); a client
    # through the relay is not the box itself.
    assert bench.box2.request("/metrics", auth=("nobody", "x"))[0] == 200
    assert c.request("GET", "/metrics")[0] in (401, 403)
    c.close()


def test_get_status_shows_the_tunnel(bench: Bench) -> None:
    remote = bench.box1.api("get_status")["remote"]
    assert remote["connected"] is True and remote["last_error"] == ""
    assert remote["server"] == f"127.0.0.1:{bench.relay.device_port}"
    assert remote["since"].endswith("Z")
    status, metrics = bench.box1.request("/metrics")
    assert status == 200
    assert (f'smsd_remote_connected{{server="127.0.0.1:{bench.relay.device_port}"}} 1.0'
            in metrics.decode())


def test_a_client_that_has_not_logged_in_gets_nothing_through(bench: Bench) -> None:
    c = Client(bench.relay)
    assert c.api("get_status")[0] == 401
    assert c.choose(bench.box2.sn) == 401                   # type: ignore[attr-defined]
    c.cookie = "DRPSESSION=forged"
    status, body = c.api("get_status")
    assert status == 401 and body["reason"].startswith("log in first")
    assert c.login("alice", "wrong") == 401 and c.login("nobody", "x") == 401
    c.close()


def test_another_accounts_device_and_unknown_serials_are_refused(bench: Bench) -> None:
    c = bench.client()                                       # alice
    assert c.choose(bench.box1.sn) == 404                    # type: ignore[attr-defined]  # bob's
    status, body = c.api("get_status")
    assert status == 409 and "choose a device" in body["reason"]
    assert c.choose("0000-0000-0000-0000") == 404
    assert c.choose("not a serial!") == 404
    assert c.request("GET", "/remoteWeb")[0] == 404
    # 19.3 writes the serial with a space and in upper case: it is the same device.
    assert c.choose(" " + bench.box2.sn.upper()) == 200     # type: ignore[attr-defined]
    assert c.api("get_status")[0] == 200
    c.close()


def test_malformed_and_oversized_requests_get_clean_errors(bench: Bench) -> None:
    assert relay_raw(bench.relay, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert relay_raw(bench.relay, b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * (200 << 10)
                + b"\r\n\r\n").startswith(b"HTTP/1.1 431 ")
    c = bench.client(sn=bench.box2.sn)    # type: ignore[attr-defined]
    status, body = c.request("POST", "/api/send_sms", b"x" * (MAX_BODY + 1),
                             {"Content-Type": "application/json"})
    assert status == 413 and json.loads(body)["error_code"] == 413
    # Far over: the client is still writing when the 413 goes out, and still reads it (the
    # relay reads and drops the rest; closed at once, the client's write failed with an EOF)
    status, body = c.request("POST", "/api/send_sms", b"x" * (32 * MAX_BODY),
                             {"Content-Type": "application/json"})
    assert status == 413 and json.loads(body)["error_code"] == 413
    c.close()
    # Declared but never sent: refused before a byte of it is read.
    answer = relay_raw(bench.relay, b"POST /api/send_sms HTTP/1.1\r\nHost: x\r\nContent-Length: "
                  + str(MAX_BODY * 4).encode() + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_the_session_rate_limit_answers_429(bench: Bench) -> None:
    c = bench.client(sn=bench.box2.sn)    # type: ignore[attr-defined]
    statuses = [c.request("GET", "/api/get_status?x")[0] for _ in range(3 * SESSION_RATE)]
    assert 429 in statuses and statuses[0] == 401          # no credentials: the box's 401
    c.close()


def test_a_device_with_a_wrong_secret_is_refused(bench: Bench) -> None:
    relay = bench.relay
    for serial, secret, why in ((bench.box2.sn, "wrong", "wrong secret"),  # type: ignore[attr-defined]
                                ("feed-feed-feed-feed", "x", "unknown serial")):
        tunnel = RemoteTunnel(serial, LocalTarget("127.0.0.1", 9))
        tunnel.start(RemoteSettings(f"127.0.0.1:{relay.device_port}", secret,
                                    relay.fingerprint).validate())
        try:
            status = wait_for(lambda: "refused" in str(tunnel.status()["last_error"])
                              and tunnel.status(), 15, what="the relay refuses the device")
            assert status["connected"] is False
        finally:
            tunnel.stop()
        assert any(f"refused {serial}" in line and why in line for line in relay.output)
    # The real box 2 was not displaced by the impostor.
    assert connected(bench.box2)


def test_a_device_refuses_a_relay_whose_certificate_does_not_match(bench: Bench) -> None:
    tunnel = RemoteTunnel(bench.box2.sn, LocalTarget("127.0.0.1", 9))  # type: ignore[attr-defined]
    tunnel.start(RemoteSettings(f"127.0.0.1:{bench.relay.device_port}", "x",
                                "00" * 32).validate())
    try:
        wait_for(lambda: "fingerprint" in str(tunnel.status()["last_error"]), 15,
                 what="the pin refuses the relay")
    finally:
        tunnel.stop()


def test_a_device_may_check_the_relay_against_a_ca_file(bench: Bench, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Instead of a pin: the relay's certificate must chain to the CA file (here the relay's
    self-signed certificate is its own CA); another CA is refused."""
    relay = bench.relay
    secret = drp(relay.state_dir, "device", "add", "cafe-0000-0000-0001", "--owner", "alice")
    pair = next(Path(relay.state_dir, "tls").iterdir()).read_text()
    ca = tmp_path / "relay-ca.pem"
    ca.write_text(pair[:pair.index("-----END CERTIFICATE-----")] + "-----END CERTIFICATE-----\n")
    other = tmp_path / "other-ca.pem"        # a certificate that did not sign the relay's
    other.write_bytes(make_self_signed("elsewhere", ["localhost"], [],
                                       datetime.datetime.now(datetime.timezone.utc))[0])
    for ca_file, ok in ((ca, True), (other, False)):
        tunnel = RemoteTunnel("cafe-0000-0000-0001", LocalTarget("127.0.0.1", 9))
        tunnel.start(RemoteSettings(f"localhost:{relay.device_port}", secret.strip(), "",
                                    str(ca_file)).validate())
        try:
            if ok:
                wait_for(lambda: tunnel.status()["connected"], 15, what="connected via the CA")
            else:
                wait_for(lambda: "certificate verify failed" in str(
                    tunnel.status()["last_error"]), 15, what="refused: another CA")
        finally:
            tunnel.stop()


def test_after_a_relay_restart_the_devices_come_back_by_themselves(bench: Bench) -> None:
    bench.relay.stop()
    for d in (bench.box1, bench.box2):
        wait_for(lambda: not connected(d), 20, interval=0.2, what="box sees the loss")
    bench.relay.start()
    for d in (bench.box1, bench.box2):
        wait_for(lambda: connected(d), 30, interval=0.2, what="box back on the relay")
    c = bench.client("bob", "bob-pw", sn=bench.box1.sn)     # type: ignore[attr-defined]
    status, body = c.api("get_status")
    assert status == 200 and body["remote"]["connected"] is True
    c.close()


def test_a_vanished_device_gets_a_clean_offline_answer(bench: Bench) -> None:
    """Last: box 1 dies without a goodbye (SIGKILL); its client is told it is offline, box 2's
    is not disturbed."""
    c1 = bench.client("bob", "bob-pw", sn=bench.box1.sn)    # type: ignore[attr-defined]
    c2 = bench.client(sn=bench.box2.sn)                     # type: ignore[attr-defined]
    bench.box1.kill9()
    status, body = wait_for(lambda: (r := c1.api("get_status")) and r[0] == 404 and r, 20,
                            interval=0.3, what="the relay notices box 1 is gone")
    assert "offline" in body["reason"]
    assert c1.choose(bench.box1.sn) == 404                  # type: ignore[attr-defined]
    assert c2.api("get_status")[0] == 200
    c1.close()
    c2.close()
