"""The heap trimmer really hands freed memory back to the operating system."""
from __future__ import annotations

import time

import pytest

from smsd.system.memory import HeapTrimmer


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def test_trim_returns_freed_heap_pages() -> None:
    trimmer = HeapTrimmer()
    if not trimmer.available:
        pytest.skip("this C library has no malloc_trim")
    # Blocks above pymalloc's 512-byte limit come from malloc; keeping every 64th one pins the
    # heap so that free() alone cannot shrink it from the top.
    blocks = [bytearray(2048) for _ in range(40_000)]
    kept = blocks[::64]
    del blocks
    before = rss_kib()
    trimmer.trim()
    after = rss_kib()
    assert before - after > 20_000, (before, after)
    assert kept


def test_trimmer_thread_stops_promptly() -> None:
    trimmer = HeapTrimmer(period=60.0)
    trimmer.start()
    started = time.monotonic()
    trimmer.stop()
    trimmer.join(5)
    assert not trimmer.is_alive() and time.monotonic() - started < 2
