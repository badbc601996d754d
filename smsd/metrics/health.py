"""What `GET /health` answers: 200 when the box can do its job, 503 with the reasons otherwise.

The box can do its job when (issue 19) the database takes a write, the scheduler's loop turns,
and at least one port can send. Nothing else counts here: one port out of eight in recovery, or
a push receiver that is down, is what /metrics is for; a monitor or a load balancer asking
/health wants to know whether messages sent to this box will go out.

The answer is worked out at most once per CACHE_SECONDS and shared by the requests meanwhile:
/health is unauthenticated, and each check writes a row (with fsync), so a flood of requests
must not turn into a flood of commits. The write is the watchdog's own probe row.

The watchdog (smsd/system/watchdog.py) asks /health too, for another question: whether the HTTP
front answers at all. It takes a 503 as an answer; it judges the ports and the database itself.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from smsd.model import PortInfo
from smsd.system.watchdog import PROBE_KEY, STALE_AFTER

CACHE_SECONDS = 2.0


class SettingsWriter(Protocol):
    def set(self, key: str, value: str) -> None: ...


class Loop(Protocol):
    heartbeat: float            # time.monotonic() of the loop's last turn


@dataclass(frozen=True)
class HealthAnswer:
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons

    def body(self) -> bytes:
        lines = ["ok"] if self.ok else ["unhealthy", *self.reasons]
        return ("\n".join(lines) + "\n").encode("utf-8")


class ServiceHealth:
    def __init__(self, settings: SettingsWriter, scheduler: Loop,
                 ports: Callable[[], list[PortInfo]], *, stale_after: float = STALE_AFTER,
                 cache: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings, self._scheduler, self._ports = settings, scheduler, ports
        self._stale_after, self._cache, self._clock = stale_after, cache, clock
        self._lock = threading.Lock()
        self._last: tuple[float, HealthAnswer] | None = None

    def __call__(self) -> tuple[bool, bytes]:
        """The HTTP front's view (smsd.api.server.HealthCheck): healthy, and the body."""
        answer = self.check()
        return answer.ok, answer.body()

    def check(self) -> HealthAnswer:
        with self._lock:        # one check at a time; the others wait for its answer
            now = self._clock()
            if self._last is not None and now - self._last[0] < self._cache:
                return self._last[1]
            answer = HealthAnswer(tuple(self._store() + self._loop(now) + self._sending()))
            self._last = (self._clock(), answer)
            return answer

    def _store(self) -> list[str]:
        try:
            self._settings.set(PROBE_KEY, str(int(time.time())))
        except Exception as exc:   # noqa: BLE001 - whatever the failure, the store is not writable
            return [f"database not writable: {exc}"]
        return []

    def _loop(self, now: float) -> list[str]:
        stuck = now - self._scheduler.heartbeat
        return [f"scheduler loop stuck for {stuck:.0f} s"] if stuck > self._stale_after else []

    def _sending(self) -> list[str]:
        ports = self._ports()
        if any(p.can_send for p in ports):
            return []
        if not ports:
            return ["no port can send: no modem ports"]
        why = ", ".join(f"port {p.port} {p.state}/{p.reg}" for p in ports[:8])
        more = f" and {len(ports) - 8} more" if len(ports) > 8 else ""
        return [f"no port can send ({why}{more})"]
