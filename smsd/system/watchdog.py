"""systemd readiness, status line and watchdog.

Theory of operation. systemd starts smsd (`Type=notify`, `WatchdogSec=`) with NOTIFY_SOCKET and
WATCHDOG_USEC/WATCHDOG_PID in its environment. Once the store, the ports and the HTTP server are
up, the daemon calls `Watchdog.start()`, which sends `READY=1` and a one-line `STATUS=`. A thread
then wakes every half watchdog period, runs a fresh health check and sends `WATCHDOG=1` only when
every part passed; `STATUS=` is re-sent whenever the summary changes.

Why each pet is earned by a check rather than sent from a timer: a thread that pets on its own
keeps a wedged daemon alive forever. The check touches what can wedge: the port worker threads
(alive, and in a state the recovery ladder knows), the scheduler loop (its heartbeat must move),
the push loop (same), the database (a tiny write must get the write lock and commit) and the HTTP
front (a request to the daemon's own listener must be answered: a wedged event loop or a worker
pool that is all stuck would otherwise leave a live process that answers nobody). If the check
blocks (a stuck write lock), the thread blocks with it and petting stops just the same.

The daemon never kills itself: it stops petting, and systemd's own timer logs "Watchdog timeout",
aborts it and restarts it (`Restart=on-failure`). Without NOTIFY_SOCKET (run by hand, tests) the
whole thing is a no-op.
"""
from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from smsd.model import (STATE_INIT, STATE_POWER_OFF, STATE_QUARANTINED, STATE_READY,
                        STATE_RECOVERING)

log = logging.getLogger("smsd.watchdog")

# Worker states the recovery ladder accounts for: a port in any of them is being looked after.
KNOWN_STATES = (STATE_INIT, STATE_READY, STATE_RECOVERING, STATE_POWER_OFF, STATE_QUARANTINED)
# The scheduler sleeps up to 30 s between passes when idle; three missed turns mean stuck.
STALE_AFTER = 90.0
STATUS_ONLY_PERIOD = 30.0     # refresh STATUS= even when systemd asked for no watchdog
PROBE_KEY = "watchdog_probe"
HTTP_TIMEOUT = 10.0           # well inside the 30 s between checks under WatchdogSec=60


class Notifier(Protocol):
    def notify(self, state: str) -> None: ...


class _Worker(Protocol):
    @property
    def alive(self) -> bool: ...

    @property
    def info(self) -> Any: ...


@dataclass(frozen=True)
class Health:
    problems: tuple[str, ...]
    status: str

    @property
    def ok(self) -> bool:
        return not self.problems


def watchdog_period(env: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds systemd allows between pets, or None when it asked this process for none."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None          # meant for a parent (e.g. a wrapper script), not for us
    return int(usec) / 1e6


def systemd_notifier(env: Mapping[str, str] | None = None) -> Notifier | None:
    env = os.environ if env is None else env
    if not env.get("NOTIFY_SOCKET"):
        return None
    import sdnotify     # only needed under systemd
    notifier: Notifier = sdnotify.SystemdNotifier()
    return notifier


class HealthProbe:
    """The daemon's health in one call: cheap enough to run every few seconds."""

    def __init__(self, workers: Mapping[int, _Worker], scheduler: Any, store: Any,
                 push: Any = None, *, http: Callable[[], str | None] | None = None,
                 stale_after: float = STALE_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._workers, self._scheduler, self._store, self._push = workers, scheduler, store, push
        self._http = http
        self._stale_after, self._clock = stale_after, clock
        self._relaxed = False

    def __call__(self) -> Health:
        problems = self._port_problems() + self._loop_problems() + self._db_problems()
        http = self._http() if self._http is not None else None
        if http is not None:
            problems.append(http)
        return Health(tuple(problems), self._summary(problems))

    def _port_problems(self) -> list[str]:
        out = []
        for port, worker in sorted(self._workers.items()):
            if not worker.alive:
                out.append(f"port {port}: worker thread dead")
            elif worker.info.state not in KNOWN_STATES:
                out.append(f"port {port}: unknown state {worker.info.state!r}")
        return out

    def _loop_problems(self) -> list[str]:
        out = []
        for name, loop in (("scheduler", self._scheduler), ("push", self._push)):
            beat = getattr(loop, "heartbeat", None) if loop is not None else None
            if beat is not None and self._clock() - beat > self._stale_after:
                out.append(f"{name} loop stuck for {self._clock() - beat:.0f} s")
        return out

    def _db_problems(self) -> list[str]:
        if not self._relaxed:
            # The probe row may be lost in a power cut; no need to wait for fsync (nor wear flash).
            self._store.db.relax_this_thread()
            self._relaxed = True
        try:
            self._store.settings.set(PROBE_KEY, str(int(time.time())))
        except Exception as exc:   # noqa: BLE001 - any failure to commit means "not writable"
            return [f"database not writable: {exc}"]
        return []

    def _summary(self, problems: list[str]) -> str:
        counts: dict[str, int] = {}
        steps = []
        for port, worker in sorted(self._workers.items()):
            info = worker.info
            counts[info.state] = counts.get(info.state, 0) + 1
            if info.recovery_step:
                steps.append(f"port {port}: {info.recovery_step}")
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        line = f"{len(self._workers)} ports: {states or 'none'}"
        if steps:
            line += " (" + "; ".join(steps) + ")"
        if problems:
            line += " - UNHEALTHY: " + "; ".join(problems)
        return " ".join(line.split())      # systemd shows one line


class HttpCheck:
    """Ask the daemon's own listener for its health path; a problem line, or None when it
    answered 200 within `timeout`. A wildcard listen address is asked on loopback. With
    `tls` (a box serving HTTPS only) it asks over TLS, without checking the certificate: it
    talks to its own process on loopback, and a replaced certificate must not fail it. HTTP and
    HTTPS share one event loop and worker pool, so asking one of them checks both."""

    def __init__(self, host: str, port: int, path: str, *, timeout: float = HTTP_TIMEOUT,
                 tls: bool = False) -> None:
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
        self.address = (wildcard.get(host, host), port)
        self._path, self._timeout = path, timeout
        self._tls: ssl.SSLContext | None = None
        if tls:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE

    def __call__(self) -> str | None:
        deadline = time.monotonic() + self._timeout
        try:
            with socket.create_connection(self.address, timeout=self._timeout) as raw, \
                    (self._tls.wrap_socket(raw) if self._tls else raw) as sock:
                sock.sendall(f"GET {self._path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
                reply = b""
                while b"\r\n" not in reply:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = sock.recv(256)
                    if not chunk:
                        break
                    reply += chunk
        except OSError as exc:     # refused, reset, or timed out
            return f"HTTP not answering ({exc or type(exc).__name__})"
        status = reply.split(b"\r\n", 1)[0]
        # 503 is an answer too: /health then says the box cannot send (no port registered, say),
        # which the probe judges itself; a restart would not mend it (smsd/metrics/health.py).
        if status.split(b" ")[1:2] not in ([b"200"], [b"503"]):
            return f"HTTP health answer {status[:40]!r}"
        return None


class Watchdog:
    def __init__(self, health: Callable[[], Health], notifier: Notifier | None,
                 period: float | None) -> None:
        self._health, self._notifier, self._period = health, notifier, period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_status = ""
        self._was_ok = True

    @classmethod
    def from_environment(cls, health: Callable[[], Health]) -> Watchdog:
        return cls(health, systemd_notifier(), watchdog_period())

    @property
    def interval(self) -> float:
        # Half the period: one late wake-up (a loaded box) must not cost a restart.
        return self._period / 2 if self._period else STATUS_ONLY_PERIOD

    def start(self) -> None:
        if self._notifier is None:
            return
        health = self._check()
        self._send("READY=1")
        self._report(health)
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._notifier is not None:
            self._send("STOPPING=1")

    def keep_alive(self, status: str, extend: float) -> None:
        """While a graceful stop waits: say why, and ask systemd for `extend` more seconds
        before its stop timeout may kill us (EXTEND_TIMEOUT_USEC never shortens it)."""
        if self._notifier is None:
            return
        self._send("STOPPING=1")
        self._send(f"STATUS={status}")
        self._send(f"EXTEND_TIMEOUT_USEC={int(extend * 1e6)}")
        if self._period:
            self._send("WATCHDOG=1")

    def check_once(self) -> Health:
        """One round: check, update STATUS=, pet if healthy."""
        health = self._check()
        self._report(health)
        return health

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check_once()

    def _check(self) -> Health:
        try:
            return self._health()
        except Exception as exc:   # noqa: BLE001 - a failing check is an unhealthy daemon
            log.exception("health check failed")
            return Health((f"health check failed: {exc}",), f"health check failed: {exc}")

    def _report(self, health: Health) -> None:
        if health.status != self._last_status:
            self._send(f"STATUS={health.status}")
            self._last_status = health.status
        if health.ok and self._period:
            self._send("WATCHDOG=1")
        if health.ok != self._was_ok:
            level = logging.INFO if health.ok else logging.ERROR
            log.log(level, "health %s: %s", "restored" if health.ok else "lost (watchdog not "
                    "petted)", health.status)
            self._was_ok = health.ok

    def _send(self, state: str) -> None:
        assert self._notifier is not None
        self._notifier.notify(state)
