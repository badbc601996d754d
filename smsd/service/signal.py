"""Each port's recent signal strength, for the dashboard's small plot.

Sampled from the port snapshots whenever somebody looks at the ports (`Ports.info`: the dashboard
polls it every few seconds while open, the APIs' port queries too), at most one sample per port
every `every` seconds, the last `keep` kept. In memory only: a restart starts a new history.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Callable, Iterable

from smsd.model import PortInfo


class SignalHistory:
    def __init__(self, clock: Callable[[], float] = time.monotonic, every: float = 10.0,
                 keep: int = 60) -> None:
        self._clock = clock
        self._every = every
        self._keep = keep
        self._samples: dict[int, collections.deque[int]] = {}
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def record(self, infos: Iterable[PortInfo]) -> None:
        now = self._clock()
        with self._lock:
            for info in infos:
                last = self._last.get(info.port)
                if last is not None and now - last < self._every:
                    continue
                self._last[info.port] = now
                samples = self._samples.setdefault(info.port, collections.deque(maxlen=self._keep))
                samples.append(info.signal)

    def of(self, port: int) -> list[int]:
        """Oldest first, each 0..31 (+CSQ)."""
        with self._lock:
            return list(self._samples.get(port, ()))
