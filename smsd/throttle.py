"""Slow down password guessing: a delay per failed login that doubles with recent failures.

Failures are counted per key (a remote address, a user name); a failed attempt waits
base * 2**(n-1) seconds, capped, where n is the highest count among its keys. Success clears the
keys. Counts are forgotten after a quiet period. Memory only: a restart forgives everyone, which
is fine for a throttle (it is not a lockout).
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable

MAX_KEYS = 10_000


class FailureThrottle:
    def __init__(self, clock: Callable[[], float], *, base: float = 0.25, cap: float = 5.0,
                 forget_after: float = 900.0) -> None:
        self._clock = clock
        self._base = base
        self._cap = cap
        self._forget_after = forget_after
        self._failures: dict[str, tuple[int, float]] = {}    # key -> (count, last failure)
        self._lock = threading.Lock()           # HTTP threads fail concurrently

    def failed(self, keys: Iterable[str]) -> float:
        """Count a failure for every key; the delay this attempt must wait."""
        now = self._clock()
        worst = 0
        with self._lock:
            for key in keys:
                count = self._count(key, now) + 1
                self._failures[key] = (count, now)
                worst = max(worst, count)
            self._bound(now)
        return min(self._cap, self._base * 2 ** (worst - 1)) if worst else 0.0

    def succeeded(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _count(self, key: str, now: float) -> int:
        count, last = self._failures.get(key, (0, now))
        return count if now - last < self._forget_after else 0

    def _bound(self, now: float) -> None:
        # A flood from many addresses must not grow memory without limit.
        if len(self._failures) <= MAX_KEYS:
            return
        recent = sorted(self._failures.items(), key=lambda kv: kv[1][1])[-MAX_KEYS // 2:]
        self._failures = {k: v for k, v in recent if now - v[1] < self._forget_after}
