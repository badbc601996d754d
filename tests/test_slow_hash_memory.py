"""Many first logins at once cannot blow the daemon's memory (issue 20): scrypt takes 16 MiB a
time, the store runs one at a time, and with smsd.system.heap's settings each buffer goes back
to the kernel when freed. Measured on a fresh interpreter's VmHWM (the peak resident size)."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import threading
from smsd.system.heap import tune_malloc
tune_malloc()
from smsd.store.users import slow_hash

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith(("VmHWM", "VmRSS")):
            yield int(line.split()[1])

slow_hash("warm-up", bytes(16))             # the first one's buffer, and the imports
before_peak, _ = hwm()
threads = [threading.Thread(target=slow_hash, args=(f"pw{i}", bytes(16))) for i in range(12)]
for t in threads:
    t.start()
for t in threads:
    t.join()
peak, rss = hwm()
print(peak - before_peak, rss)
"""


def test_twelve_concurrent_hashes_cost_one_buffer_at_most() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    grown_kib, rss_kib = int(out[0]), int(out[1])
    # 12 at once unbounded: 12 x 16 MiB = 192 MiB more. One at a time: none beyond the first's.
    assert grown_kib < 8 * 1024, out
    # and nothing is kept after: the buffer was mmapped and is unmapped when freed
    assert rss_kib < 40 * 1024, out
