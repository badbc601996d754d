"""Dispatch benchmark: 32 simulated ports with a fixed submit latency L, 2,000 single-part
messages. Prints achieved messages/s, the physical limit 32/L and their ratio (target >= 0.95).

Run from the project's venv with no arguments: `.venv/bin/python bench/dispatch.py`.
"""
from __future__ import annotations

import time

from common import Daemon, start_daemon, wait_for

PORTS = 32
LATENCY = 0.25          # seconds per part: fast enough for a short run, slow enough to be real
MESSAGES = 2000
BATCH = 128             # recipients per send_sms request (the API's limit)


def submit_all(d: Daemon) -> None:
    for start in range(0, MESSAGES, BATCH):
        params = [{"number": f"+44770{start + i:06d}"} for i in range(min(BATCH, MESSAGES - start))]
        reply = d.api("send_sms", {"text": "dispatch benchmark message",
                                   "request_status_report": False, "param": params})
        assert reply["error_code"] == 202, reply


def done_count(d: Daemon) -> int:
    return sum(r["status"] in ("SENT_OK", "DELIVERED") for r in d.results())


def run(d: Daemon) -> float:
    """Submit everything, wait until all are sent; return achieved messages per second."""
    t0 = time.monotonic()
    submit_all(d)
    wait_for(lambda: d.api("query_sms_in_queue")["in_queue"] == 0, timeout=600, interval=0.02,
             what="queue drained")
    wait_for(lambda: done_count(d) >= MESSAGES, timeout=600, interval=0.05, what="all sent")
    return MESSAGES / (time.monotonic() - t0)


def main() -> None:
    d = start_daemon(PORTS, LATENCY)
    try:
        rate = run(d)
    finally:
        d.stop()
    limit = PORTS / LATENCY
    print(f"ports={PORTS} latency={LATENCY}s messages={MESSAGES}")
    print(f"dispatch: {rate:.1f} msg/s achieved, physical limit {limit:.1f} msg/s, "
          f"ratio {rate / limit:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
