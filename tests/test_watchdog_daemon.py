"""The real daemon (simulated board) under a fake systemd: READY, STATUS, pets, and no pets once a
port worker has died."""
from __future__ import annotations

import base64
import time
import urllib.request
from typing import Iterator

import pytest

from smsd import config
from smsd.daemon import STOP_MARGIN, Daemon
from test_watchdog import NotifySocket
from tests.e2e.harness import reserved_port


def free_port() -> int:
    """A port for the daemon's listener that no other bind(0) takes meanwhile (the harness's
    reserved_port: parallel test workers start daemons too)."""
    return reserved_port()


@pytest.fixture
def daemon(tmp_path, monkeypatch) -> Iterator[tuple[Daemon, NotifySocket, str]]:  # type: ignore[no-untyped-def]
    sock = NotifySocket(str(tmp_path / "notify"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")      # pets every 0.2 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    listen = f"127.0.0.1:{free_port()}"
    cfg = config.build({}, {"simulate": 2, "sim_latency": 0.05, "listen": (listen,),
                            "state_dir": str(tmp_path / "state"), "admin_password": "pw"})
    d = Daemon(cfg)
    d.start()
    yield d, sock, listen
    d.stop()
    sock.sock.close()


def last_status(sock: NotifySocket, wait: float) -> str:
    sock.drain(wait)
    return (sock.statuses() or [""])[-1]


def api(listen: str, name: str) -> int:
    req = urllib.request.Request(f"http://{listen}/api/{name}",
                                 headers={"Authorization": "Basic " +
                                          base64.b64encode(b"admin:pw").decode()})
    with urllib.request.urlopen(req, timeout=5) as r:
        return int(r.status)


def test_daemon_is_ready_pets_and_stops_petting_when_a_port_dies(daemon) -> None:  # type: ignore[no-untyped-def]
    d, sock, listen = daemon
    msgs = sock.drain(0.6)
    assert msgs[0] == "READY=1"
    assert api(listen, "query_sms_in_queue") == 200     # READY came after HTTP was up
    assert msgs[1].startswith("STATUS=2 ports: ")
    assert msgs.count("WATCHDOG=1") >= 2
    deadline = time.monotonic() + 10
    while "2 ready" not in last_status(sock, 0.2) and time.monotonic() < deadline:
        pass
    assert last_status(sock, 0) == "2 ports: 2 ready"
    d.workers[1].stop()                                  # a port worker thread is gone
    assert "port 1: worker thread dead" in last_status(sock, 0.5)
    mark = len(sock.messages)
    sock.drain(1.0)                                      # five watchdog intervals
    assert sock.messages[mark:].count("WATCHDOG=1") == 0


def test_a_stop_tells_systemd_it_waits_for_the_parts_on_the_air(daemon) -> None:  # type: ignore[no-untyped-def]
    from smsd.model import Recipient, SendRequest
    d, sock, _ = daemon
    deadline = time.monotonic() + 10
    while "2 ready" not in last_status(sock, 0.2) and time.monotonic() < deadline:
        pass
    for port in (0, 1):
        d.board.set_submit_time(port, 1.5)
    d.service.sending.send_sms(SendRequest("x", (Recipient("+447700900001"), Recipient("+447700900002"))))
    while d.scheduler.in_flight() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert d.scheduler.in_flight() == 2
    mark = len(sock.drain())
    d.drain()
    said = sock.drain(0.1)[mark:]
    assert said[0] == "STOPPING=1"
    assert "STATUS=stopping: 2 parts in flight" in said
    extend = [int(m.split("=")[1]) for m in said if m.startswith("EXTEND_TIMEOUT_USEC=")]
    assert extend and all(0 < usec <= (d.cfg.drain_timeout + STOP_MARGIN) * 1e6 for usec in extend)
    assert d.stopped_summary == "stopped: 2 sent, 0 left queued"


def test_no_pets_once_the_http_front_stops_answering(daemon) -> None:  # type: ignore[no-untyped-def]
    d, sock, _ = daemon
    deadline = time.monotonic() + 10
    while "2 ready" not in last_status(sock, 0.2) and time.monotonic() < deadline:
        pass
    assert sock.drain(0.5).count("WATCHDOG=1") >= 1
    d.server.close()                     # the front answers nobody (as when its loop died)
    assert "HTTP not answering" in last_status(sock, 1.0)
    mark = len(sock.messages)
    sock.drain(1.0)                      # five watchdog intervals
    assert sock.messages[mark:].count("WATCHDOG=1") == 0
