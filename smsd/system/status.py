"""Real CPU, memory and flash figures of this machine for the JSON API's get_status.

Figures are strings in KiB as the vendor prints them. CPU usage is measured over the time since
the previous call (or a short sample on the first call), from /proc/stat.
"""
from __future__ import annotations

import os
import threading
import time


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)   # idle + iowait
    return sum(fields), idle


def _meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            name, _, rest = line.partition(":")
            out[name] = int(rest.split()[0])
    return out


class DeviceStatus:
    def __init__(self, data_dir: str) -> None:
        self._dir = data_dir
        self._lock = threading.Lock()
        self._last = _cpu_times()
        self._last_at = time.monotonic()

    def cpu_used(self) -> int:
        with self._lock:
            if time.monotonic() - self._last_at < 0.2:
                time.sleep(0.2)     # too short a window says nothing; sample a little
            total, idle = _cpu_times()
            d_total, d_idle = total - self._last[0], idle - self._last[1]
            self._last, self._last_at = (total, idle), time.monotonic()
        return 0 if d_total <= 0 else round(100 * (d_total - d_idle) / d_total)

    def performance(self) -> dict[str, str]:
        mem = _meminfo()
        st = os.statvfs(self._dir)
        flash_total = st.f_blocks * st.f_frsize // 1024
        flash_free = st.f_bfree * st.f_frsize // 1024
        cached = mem.get("Cached", 0) + mem.get("SReclaimable", 0)
        buffers, free, total = mem.get("Buffers", 0), mem.get("MemFree", 0), mem.get("MemTotal", 0)
        return {
            "cpu_used": str(self.cpu_used()),
            "flash_total": str(flash_total),
            "flash_used": str(flash_total - flash_free),
            "memory_total": str(total),
            "memory_cached": str(cached),
            "memory_buffers": str(buffers),
            "memory_free": str(free),
            "memory_used": str(total - free - buffers - cached),
        }
