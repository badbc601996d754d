"""glibc malloc settings for a long-running, many-threaded process on a box with little RAM.

* A fixed mmap threshold. glibc raises its threshold to the size of each mmapped block freed
  (up to 32 MiB): after the first login's scrypt (16 MiB) every later one is carved out of an
  arena, and stays there after free. Fixed, blocks this large are always mmapped and handed
  straight back to the kernel when freed (the relay's RSS also stays flat with it).
* At most a few arenas. glibc gives threads up to 8 per core; with a worker per port and the
  HTTP pool, each arena keeps its own freed fragments. Python's small objects live in its own
  pools, so more arenas buy little here.

On a C library without mallopt (musl, other systems) this does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 4 << 20        # bytes: the scrypt buffer (16 MiB) is above it, TLS buffers below
ARENA_MAX = 2


def fixed_mmap_threshold(size: int = MMAP_THRESHOLD) -> None:
    _mallopt(M_MMAP_THRESHOLD, size)


def tune_malloc() -> None:
    """Call once at start, before the threads: arenas already made are kept."""
    fixed_mmap_threshold()
    _mallopt(M_ARENA_MAX, ARENA_MAX)


def _mallopt(param: int, value: int) -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(param, value)
    except (OSError, AttributeError):
        pass                            # not glibc: nothing to do
