"""Shared by the benchmarks: start the real daemon on the simulator in a temp state dir."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from e2e.harness import Daemon, wait_for  # noqa: E402

__all__ = ["Daemon", "wait_for", "start_daemon", "rss_kib"]


def start_daemon(ports: int, latency: float, **kw: object) -> Daemon:
    state = tempfile.mkdtemp(prefix="smsd-bench-")
    return Daemon(os.path.join(state, "state"), ports=ports, latency=latency, **kw).start(60)  # type: ignore[arg-type]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")
