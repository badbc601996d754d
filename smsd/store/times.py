"""Time strings of the vendor APIs: "YYYY-MM-DD HH:MM:SS" in the box's local time."""
from __future__ import annotations

import time

FORMAT = "%Y-%m-%d %H:%M:%S"


def fmt_time(epoch: float | None) -> str:
    return "" if epoch is None else time.strftime(FORMAT, time.localtime(epoch))


def parse_time(text: str) -> float:
    """Inverse of fmt_time; ValueError for anything else."""
    return time.mktime(time.strptime(text.strip(), FORMAT))
