"""The soak benchmark in small (bench/soak.py, issue 19 point 4): about 20 s of JSON bulk sends
on 4 simulated ports in their own process, faults of every kind on random ports every second or
so, inbound SMS, and the daemon killed with SIGKILL twice and restarted. Nothing accepted may be
lost: every accepted message ends final (or outcome unknown), none is marked sent that the
network never saw whole, and only outcome-unknown messages may have gone out twice."""
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import soak  # noqa: E402


def test_soak_smoke_loses_nothing(tmp_path: Path) -> None:
    args = soak.parser().parse_args(
        ["--messages", "500", "--ports", "4", "--simulator-latency", "0.05",
         "--kill-every", "3.5", "--max-kills", "2", "--fault-every", "1", "--timeout", "90", "--quick-recovery"])
    figures = soak.run(args, str(tmp_path))
    assert figures["kills"] == 2, figures
    assert figures["accepted"] == 500, figures
    assert figures["faults"] >= 5, figures
    assert figures["lost"] == 0, figures
    assert figures["dup_other"] == 0, figures
    assert figures["sent"] > 0, figures
