"""Fleet benchmark (issue 18): the end-to-end rate through Kannel to two smsd boxes, from the
first `sendsms` request to the last message on the simulated air, beside the physical limit of
the boxes' ports.

Two boxes of 8 simulated ports at 1 s per part can send 16 msg/s at most; Kannel (bearerbox +
smsbox, Debian's package, one SMPP transceiver bind per box with a window of 10) and the boxes'
SMPP servers should keep every port busy. The goal is 85 % of that limit, below the 95 % that
bench/dispatch.py asks of one box fed over its own HTTP API: a box takes everything into its
queue at once, so Kannel, which sees only its own queues, splits the traffic at random (a few
per cent more on one box than the other), and the run's first and last second are part idle. Needs Debian's kannel (`make fleet-test`
installs it). bench/smpp.py runs it after its own figure; alone: `.venv/bin/python bench/fleet.py`.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

# common puts tests/ first on sys.path: `fleet` below is tests/fleet/, not this file
from common import wait_for
from report import result

from fleet.kannel import Box, Kannel, kannel_installed

BOXES, PORTS, LATENCY = 2, 8, 1.0
MESSAGES = 240
GOAL_RATIO = 0.85


def measure(root: Path) -> float:
    boxes = [Box(root, f"box{i + 1}", ports=PORTS, latency=LATENCY) for i in range(BOXES)]
    (root / "kannel").mkdir()
    kannel = Kannel(root / "kannel", boxes)
    try:
        for box in boxes:
            box.start()
        kannel.start(60)
        texts = [f"fleet benchmark {i}" for i in range(MESSAGES)]
        t0 = time.monotonic()
        for i, text in enumerate(texts):
            status, body = kannel.send(f"+4477008{i:04d}1", text)
            if status != 202:
                raise SystemExit(f"sendsms refused: {status} {body}")
        wanted = set(texts)
        wait_for(lambda: wanted <= set().union(*(b.aired() for b in boxes)), timeout=600,
                 interval=0.1, what="every message on the air")
        rate = MESSAGES / (time.monotonic() - t0)
        shares = [len(b.aired() & wanted) for b in boxes]
        print(f"fleet: {MESSAGES} messages through Kannel's sendsms, {' + '.join(map(str, shares))}"
              " per box")
        return rate
    finally:
        kannel.stop()
        for box in boxes:
            box.stop()


def main() -> None:
    limit = BOXES * PORTS / LATENCY
    goal = GOAL_RATIO * limit
    if not kannel_installed():
        print("fleet: Kannel is not installed (`make fleet-test` installs Debian's kannel)")
        result("fleet_rate", 0, "msg/s", ">=", goal)
        return
    rate = measure(Path(tempfile.mkdtemp(prefix="smsd-bench-fleet-")))
    print(f"fleet: {BOXES} boxes x {PORTS} ports at {LATENCY:g} s per part; physical limit of "
          f"the ports {limit:.1f} msg/s")
    result("fleet_rate", rate, "msg/s", ">=", goal)


if __name__ == "__main__":
    main()
