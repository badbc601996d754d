"""The one line per figure every benchmark ends with (issue 20):

    RESULT <name> <value> <unit> goal <op> <goal> met|missed

so that a reader and a script (`make bench` greps them into a summary) see at once which goals
hold. Also the daemon-side meters the figures are made of: CPU seconds and peak RSS of a pid."""
from __future__ import annotations

import os

OPS = {"==": lambda v, g: v == g, ">=": lambda v, g: v >= g, "<=": lambda v, g: v <= g,
       ">": lambda v, g: v > g, "<": lambda v, g: v < g}


def _fmt(x: float) -> str:
    digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 3
    text = f"{x:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def result(name: str, value: float, unit: str, op: str, goal: float) -> bool:
    """Print the RESULT line; True when the goal is met."""
    met = OPS[op](value, goal)
    print(f"RESULT {name} {_fmt(value)} {unit} goal {op} {_fmt(goal)} "
          f"{'met' if met else 'missed'}", flush=True)
    return met


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    """A /proc/<pid>/status figure in KiB: VmRSS (now) or VmHWM (the peak so far)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} for {pid}")
