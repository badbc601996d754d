"""Memory benchmark: daemon RSS with 32 simulated ports after the dispatch run (target < 60 MB).

Run from the project's venv with no arguments: `.venv/bin/python bench/memory.py`.
"""
from __future__ import annotations

import dispatch
from common import rss_kib, start_daemon


def main() -> None:
    d = start_daemon(dispatch.PORTS, dispatch.LATENCY)
    try:
        assert d.proc is not None
        idle = rss_kib(d.proc.pid)
        rate = dispatch.run(d)
        after = rss_kib(d.proc.pid)
    finally:
        d.stop()
    print(f"RSS idle with {dispatch.PORTS} ports: {idle / 1024:.1f} MB; dispatch ran at {rate:.1f} msg/s")
    print(f"memory: daemon RSS after the dispatch run {after / 1024:.1f} MB (target < 60 MB)")


if __name__ == "__main__":
    main()
