"""Watchdog: readiness, status line and pets only while healthy, over a real notify socket."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import pytest

from smsd.model import PortInfo, STATE_READY, STATE_RECOVERING
from smsd.store.db import Store
from smsd.system.watchdog import Health, HealthProbe, Watchdog, systemd_notifier, watchdog_period


class NotifySocket:
    """Stands in for systemd's end of NOTIFY_SOCKET: collects every datagram."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.messages: list[str] = []

    def drain(self, wait: float = 0.0) -> list[str]:
        deadline = time.monotonic() + wait
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                if time.monotonic() >= deadline:
                    return self.messages

    def count(self, message: str) -> int:
        return self.messages.count(message)

    def statuses(self) -> list[str]:
        return [m[7:] for m in self.messages if m.startswith("STATUS=")]


@pytest.fixture
def notify(tmp_path, monkeypatch) -> Iterator[NotifySocket]:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "notify")
    sock = NotifySocket(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield sock
    sock.sock.close()


@dataclass
class FakeWorker:
    info: PortInfo
    alive: bool = True


class FakeLoop:
    def __init__(self, beat: float) -> None:
        self.heartbeat = beat


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_period_comes_from_systemd_and_only_for_this_process() -> None:
    assert watchdog_period({"WATCHDOG_USEC": "30000000"}, pid=7) == 30.0
    assert watchdog_period({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, pid=7) == 30.0
    assert watchdog_period({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"}, pid=7) is None
    assert watchdog_period({}, pid=7) is None
    assert watchdog_period({"WATCHDOG_USEC": "0"}, pid=7) is None
    assert systemd_notifier({}) is None


def test_ready_status_and_pets_while_healthy(notify: NotifySocket) -> None:
    state = {"ok": True}

    def health() -> Health:
        return Health(() if state["ok"] else ("port 1: worker thread dead",),
                      "2 ports: 2 ready" if state["ok"] else "2 ports: 1 ready - UNHEALTHY")

    dog = Watchdog(health, systemd_notifier(), period=60.0)
    dog._stop.set()             # no background rounds: this test drives them by hand
    dog.start()
    assert notify.drain(0.1)[:3] == ["READY=1", "STATUS=2 ports: 2 ready", "WATCHDOG=1"]
    dog.check_once()
    assert notify.drain(0.1).count("WATCHDOG=1") == 2
    state["ok"] = False
    for _ in range(3):
        dog.check_once()
    notify.drain(0.1)
    assert notify.count("WATCHDOG=1") == 2            # no pet while unhealthy
    assert notify.statuses()[-1] == "2 ports: 1 ready - UNHEALTHY"
    state["ok"] = True
    dog.check_once()
    assert notify.drain(0.1)[-1] == "WATCHDOG=1"
    dog.stop()
    assert notify.drain(0.1)[-1] == "STOPPING=1"


def test_no_watchdog_period_means_status_but_no_pets(notify: NotifySocket) -> None:
    dog = Watchdog(lambda: Health((), "1 ports: 1 ready"), systemd_notifier(), period=None)
    dog.start()
    dog.check_once()
    dog.stop()
    assert notify.drain(0.1) == ["READY=1", "STATUS=1 ports: 1 ready", "STOPPING=1"]


def test_health_check_that_raises_counts_as_unhealthy(notify: NotifySocket) -> None:
    def broken() -> Health:
        raise RuntimeError("boom")
    dog = Watchdog(broken, systemd_notifier(), period=10.0)
    assert not dog.check_once().ok
    assert "WATCHDOG=1" not in notify.drain(0.1)


def test_probe_sees_dead_workers_unknown_states_and_stuck_loops(store: Store) -> None:
    clock = Clock()
    workers = {0: FakeWorker(PortInfo(0, state=STATE_READY)),
               1: FakeWorker(PortInfo(1, state=STATE_RECOVERING, recovery_step="reset"))}
    scheduler, push = FakeLoop(clock.now), FakeLoop(clock.now)
    probe = HealthProbe(workers, scheduler, store, push, stale_after=90, clock=clock)
    health = probe()
    assert health.ok, health.problems
    assert health.status == "2 ports: 1 ready, 1 recovering (port 1: reset)"
    clock.now += 91
    scheduler.heartbeat = clock.now - 1
    assert probe().problems == ("push loop stuck for 91 s",)
    workers[0].alive = False
    workers[1].info = PortInfo(1, state="bogus")
    push.heartbeat = clock.now
    assert probe().problems == ("port 0: worker thread dead", "port 1: unknown state 'bogus'")
    assert "UNHEALTHY" in probe().status and "\n" not in probe().status


def test_probe_writes_to_the_database(store: Store) -> None:
    probe = HealthProbe({}, FakeLoop(time.monotonic()), store)
    assert probe().ok
    assert store.settings.get("watchdog_probe") is not None
    store.close()
    store.db.path = "/nonexistent/dir/smsd.db"
    assert not probe().ok


def test_wedged_database_stops_the_pets_until_it_frees(notify: NotifySocket, store: Store) -> None:
    """The watchdog thread blocks on the stuck write lock: systemd would restart us."""
    probe = HealthProbe({0: FakeWorker(PortInfo(0, state=STATE_READY))},
                        FakeLoop(time.monotonic()), store)
    dog = Watchdog(probe, systemd_notifier(), period=0.2)
    dog.start()
    notify.drain(0.5)
    assert notify.count("WATCHDOG=1") >= 2
    release, held = threading.Event(), threading.Event()

    def wedge() -> None:
        with store.db.write():
            held.set()
            release.wait(10)
    threading.Thread(target=wedge).start()
    held.wait(2)
    time.sleep(0.15)                   # a round in progress may still finish
    before = len(notify.drain(0.05))
    notify.drain(1.0)                  # five watchdog intervals
    assert notify.messages[before:].count("WATCHDOG=1") == 0
    release.set()
    notify.drain(0.5)
    assert notify.messages[before:].count("WATCHDOG=1") >= 1
    dog.stop()
