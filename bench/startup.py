"""Start-up benchmark: seconds from `smsd run` to READY (the "smsd ready" line, printed with
sd_notify READY=1) with 32 ports, the board in a process of its own as on the appliance.
Goal (issue 20): under 1 s. The state dir is made by a first start (its admin account's hashes,
the schema); the figure is the median of the restarts after it, the box's everyday start.

Run from the project's venv with no arguments: `.venv/bin/python bench/startup.py`.
"""
from __future__ import annotations

import statistics
import time

from common import Board, wait_for
from report import result

PORTS = 32
RUNS = 5


def time_to_ready(board: Board, state: str | None) -> tuple[float, str]:
    d = board.daemon()
    if state is not None:
        d.state_dir = state
        d.args[d.args.index("--state-dir") + 1] = state
    t0 = time.monotonic()
    d.start(30, wait_ports=False)
    took = time.monotonic() - t0
    wait_for(d.all_registered, 60, what="all ports registered")
    d.stop()
    return took, d.state_dir


def main() -> None:
    board = Board(PORTS, 0.25)
    try:
        first, state = time_to_ready(board, None)
        runs = [time_to_ready(board, state)[0] for _ in range(RUNS)]
    finally:
        board.stop()
    print(f"start-up to READY with {PORTS} ports: first start {first:.2f} s (creates the state), "
          f"restarts {', '.join(f'{r:.2f}' for r in runs)} s")
    result("startup", statistics.median(runs), "s", "<", 1.0)


if __name__ == "__main__":
    main()
