"""The HTTP front under connection floods, for real on loopback: more idle connections than
select() can watch, one address holding too many, idle and trickling clients, and the watchdog's
health check against a wedged event loop."""
from __future__ import annotations

import logging
import resource
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from waitress import wasyncore

from smsd.api import server as http_server
from smsd.system.watchdog import HealthProbe, HttpCheck, Watchdog, systemd_notifier
from test_watchdog import NotifySocket

from front import PW, Front, login_request, serves_the_user
from e2e.harness import reserved_port
from fakes import wait_for


@pytest.fixture
def make_front(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Front with some of smsd/api/server.py's limits changed (short ones, so tests need not
    wait 30 s)."""
    started: list[Front] = []

    def make(**limits: float) -> Front:
        for name, value in limits.items():
            monkeypatch.setattr(http_server, name, value)
        started.append(Front(str(tmp_path / f"smsd{len(started)}.db")).start())
        return started[-1]
    yield make
    for f in started:
        f.close()


@pytest.fixture
def front(make_front: Any) -> Front:
    return make_front(IDLE_TIMEOUT=1, CLEANUP_INTERVAL=1, REQUEST_DEADLINE=1.0)


def connect(front: Front, source: str) -> socket.socket:
    return socket.create_connection((front.host, front.port), timeout=10,
                                    source_address=(source, 0))


def health_on(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock.recv(4096)


def admitted(front: Front, source: str) -> bool:
    with connect(front, source) as sock:
        try:
            return health_on(sock).startswith(b"HTTP/1.1 200")
        except ConnectionResetError:
            return False


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_more_idle_connections_than_select_can_watch_leave_requests_answered(
        make_front: Any) -> None:
    front = make_front(CROWDED_IDLE_TIMEOUT=60)       # none closed while the test looks
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096         # client and server ends both live in this process
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"hard open files limit {hard} < {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    idle: list[socket.socket] = []
    try:
        for i in range(1150):           # five hosts, under the per-address limit each
            idle.append(connect(front, f"127.0.0.{10 + i % 5}"))
        # The server's end of the last one has a descriptor far above 1023.
        assert health_on(idle[-1]).startswith(b"HTTP/1.1 200")
        reply = front.get(*login_request("json", PW), source="127.0.0.20", timeout=10)
        assert serves_the_user("json", reply)
        assert reply.seconds < 5
        assert all(health_on(s).startswith(b"HTTP/1.1 200") for s in idle[::100])
    finally:
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_one_address_gets_at_most_its_share_of_connections(front: Front) -> None:
    held = [connect(front, "127.0.0.30") for _ in range(http_server.PER_ADDRESS)]
    try:
        assert health_on(held[-1]).startswith(b"HTTP/1.1 200")
        extra = connect(front, "127.0.0.30")
        assert closed_by_server(extra, within=5)               # closed at once, unanswered
        extra.close()
        assert serves_the_user("json", front.get(*login_request("json", PW), source="127.0.0.31"))
        held.pop().close()                                     # a slot frees up
        assert wait_for(lambda: admitted(front, "127.0.0.30"))
    finally:
        for s in held:
            s.close()


def test_idle_and_trickling_connections_are_closed(front: Front) -> None:
    silent = connect(front, "127.0.0.40")
    half = connect(front, "127.0.0.40")
    half.sendall(b"GET /health HTTP/1.1\r\n")       # headers begun, never finished
    trickle = connect(front, "127.0.0.40")
    trickle_closed = threading.Event()

    def drip() -> None:         # a byte every 0.2 s: never idle, never done
        try:
            for _ in range(50):
                trickle.sendall(b"X-Slow: y\r\n"[:1])
                time.sleep(0.2)
        except OSError:
            trickle_closed.set()
    threading.Thread(target=drip, daemon=True).start()
    assert closed_by_server(silent, within=5)        # idle timeout: 1 s here, 30 s in service
    assert closed_by_server(half, within=5)
    assert trickle_closed.wait(8) or closed_by_server(trickle, within=1)
    for s in (silent, half, trickle):
        s.close()
    assert serves_the_user("json", front.get(*login_request("json", PW), source="127.0.0.40"))


def test_idle_connections_go_sooner_when_crowded(make_front: Any) -> None:
    front = make_front(CLEANUP_INTERVAL=1, CROWDED=40, CROWDED_IDLE_TIMEOUT=1)
    few = [connect(front, "127.0.0.50") for _ in range(30)]
    assert not any(closed_by_server(s, within=0.1) for s in few[:3])
    time.sleep(2.5)                                   # idle, but not crowded: kept (30 s)
    assert health_on(few[0]).startswith(b"HTTP/1.1 200")
    crowd = [connect(front, "127.0.0.51") for _ in range(30)]
    assert all(closed_by_server(s, within=5) for s in crowd + few[1:])
    for s in few + crowd:
        s.close()
    assert serves_the_user("json", front.get(*login_request("json", PW), source="127.0.0.52"))


class Wedge(wasyncore.dispatcher):   # type: ignore[misc]
    """Joins the server's event loop and blocks it until released, as a hung loop would."""

    def __init__(self, sock: socket.socket, sockets: dict[int, Any]) -> None:
        super().__init__(sock, map=sockets)
        self.release = threading.Event()
        self.entered = threading.Event()

    def readable(self) -> bool:
        self.entered.set()
        self.release.wait(30)
        return False

    def writable(self) -> bool:
        return False


def test_watchdog_withholds_its_keep_alive_while_the_http_loop_is_wedged(
        front: Front, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notify = NotifySocket(str(tmp_path / "notify"))
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    check = HttpCheck(front.host, front.port, http_server.HEALTH_PATH, timeout=0.5)
    dog = Watchdog(HealthProbe({}, None, front.store, http=check), systemd_notifier(), 60.0)
    try:
        assert dog.check_once().ok
        assert notify.drain(0.1).count("WATCHDOG=1") == 1
        ours, theirs = socket.socketpair()
        wedge = Wedge(ours, front.server._map)
        front.server.pull_trigger()                  # wake the loop so it meets the wedge
        assert wedge.entered.wait(5)
        health = dog.check_once()
        assert not health.ok and "HTTP not answering" in health.status
        assert notify.drain(0.1).count("WATCHDOG=1") == 1           # no new pet
        wedge.release.set()
        wedge.close()
        theirs.close()
        assert wait_for(lambda: dog.check_once().ok)
        assert notify.drain(0.1).count("WATCHDOG=1") >= 2
    finally:
        notify.sock.close()


def test_a_flood_of_log_lines_becomes_one_line_per_period() -> None:
    now = [100.0]
    once = http_server.OncePer(10.0, clock=lambda: now[0])

    def record(msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("waitress.queue", logging.WARNING, "x", 1, msg, args, None)
    assert once.filter(record("Task queue depth is %d", 5))
    assert not any(once.filter(record("Task queue depth is %d", n)) for n in range(999))
    assert once.filter(record("another kind"))
    now[0] += 10
    passed = record("Task queue depth is %d", 7)
    assert once.filter(passed)
    assert passed.getMessage() == "Task queue depth is 7 (999 more like this in the last 10 s)"



def test_the_soft_open_files_limit_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 2048:
        pytest.skip(f"hard open files limit {hard}")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))    # a shell's usual default
        assert http_server.raise_open_files_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_health_check_asks_a_wildcard_listener_on_loopback_and_names_a_dead_one() -> None:
    assert HttpCheck("0.0.0.0", 80, "/health").address == ("127.0.0.1", 80)
    assert HttpCheck("::", 80, "/health").address == ("::1", 80)
    assert HttpCheck("192.0.2.1", 8080, "/health").address == ("192.0.2.1", 8080)
    port = reserved_port()                    # a port nobody listens on
    problem = HttpCheck("127.0.0.1", port, "/health", timeout=1)()
    assert problem is not None and problem.startswith("HTTP not answering")
