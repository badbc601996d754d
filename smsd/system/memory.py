"""Give freed heap back to the operating system now and then.

With ~50 threads (a worker per port, the HTTP pool, the simulator), glibc keeps memory that bursts
(a 2,000-message batch, a big inbox query) freed inside its arenas, and the daemon's resident size
only ever grows. On an appliance with little RAM that is memory other processes cannot use.
malloc_trim(0) returns free pages; it takes milliseconds, so a slow timer is enough. On a C library
without it (musl, other systems) this does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from typing import Callable

log = logging.getLogger("smsd.memory")


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim  # type: ignore[no-any-return]


class HeapTrimmer(threading.Thread):
    def __init__(self, period: float = 10.0) -> None:
        super().__init__(name="heap-trim", daemon=True)
        self._period = period
        self._halt = threading.Event()
        self._trim = _malloc_trim()

    @property
    def available(self) -> bool:
        return self._trim is not None

    def trim(self) -> None:
        if self._trim is not None:
            self._trim(0)

    def run(self) -> None:
        if self._trim is None:
            log.info("malloc_trim is not available here; freed heap stays with the process")
            return
        while not self._halt.wait(self._period):
            self.trim()

    def stop(self) -> None:
        self._halt.set()
