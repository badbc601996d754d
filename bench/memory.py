"""Memory benchmark: daemon RSS with 32 simulated ports after the dispatch run (target < 60 MB).

Run from the project's venv with no arguments: `.venv/bin/python bench/memory.py`.
"""
from __future__ import annotations

import time

import dispatch
from common import rss_kib, start_daemon


SETTLE = 12.0       # seconds: measure the settled size, not the burst


def main() -> None:
    d = start_daemon(dispatch.PORTS, dispatch.LATENCY)
    try:
        assert d.proc is not None
        time.sleep(SETTLE)
        idle = rss_kib(d.proc.pid)
        rate = dispatch.run(d)
        time.sleep(SETTLE)          # the daemon's heap trimmer runs every 10 s
        after = rss_kib(d.proc.pid)
    finally:
        d.stop()
    print(f"RSS idle with {dispatch.PORTS} ports: {idle / 1024:.1f} MB; dispatch ran at {rate:.1f} msg/s")
    print(f"memory: daemon RSS {SETTLE:.0f} s after the dispatch run {after / 1024:.1f} MB "
          f"(target < 60 MB)")


if __name__ == "__main__":
    main()
