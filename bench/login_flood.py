"""A flood of bad logins must not delay other clients.

The real daemon (simulated board) on loopback. A flood process keeps 200 wrong-password JSON API
requests in flight at once from 127.0.0.2 (a new connection each, as a password-guessing script
would) while a good client on 127.0.0.3 sends one authenticated request at a time on a new
connection and records how long each takes. Printed: the good client's p50/p99 without the flood
and during it, and what the flood got back. Target: p99 under 100 ms during the flood.

Loopback only, about 30 s. Run from the project's venv: `.venv/bin/python bench/login_flood.py`.
"""
from __future__ import annotations

import asyncio
import base64
import multiprocessing
import statistics
import time

import common
from e2e.harness import ADMIN_PW

FLOOD, FLOOD_FROM, GOOD_FROM = 200, "127.0.0.2", "127.0.0.3"
SECONDS = 10.0
TARGET_P99 = 0.100


def request(user: str, password: str) -> bytes:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return (f"GET /api/query_sms_in_queue HTTP/1.1\r\nHost: box\r\nAuthorization: Basic {token}"
            "\r\nConnection: close\r\n\r\n").encode()


async def one(port: int, source: str, data: bytes) -> bytes:
    reader, writer = await common.open_from(source, port)
    try:
        writer.write(data)
        return await reader.read()               # the server closes after its answer
    finally:
        writer.close()


async def flood(port: int, seconds: float, counts: dict[str, int]) -> None:
    deadline = time.monotonic() + seconds
    data = request("admin", "guess")

    async def guesser() -> None:
        while time.monotonic() < deadline:
            try:
                reply = await one(port, FLOOD_FROM, data)
            except OSError:
                counts["error"] += 1
                continue
            counts["refused unchecked" if b"too many failed logins" in reply
                   else "checked" if b" 401 " in reply[:20] else "other"] += 1

    await asyncio.gather(*(guesser() for _ in range(FLOOD)))


def flood_process(port: int, seconds: float, out: "multiprocessing.Queue[dict[str, int]]") -> None:
    counts = {"checked": 0, "refused unchecked": 0, "other": 0, "error": 0}
    asyncio.run(flood(port, seconds, counts))
    out.put(counts)


async def good_client(port: int, seconds: float) -> list[float]:
    data = request("admin", ADMIN_PW)
    times = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.perf_counter()
        reply = await one(port, GOOD_FROM, data)
        times.append(time.perf_counter() - start)
        assert b" 200 " in reply[:20], reply[:200]
        await asyncio.sleep(0.01)
    return times


def pct(times: list[float], p: int) -> float:
    if len(times) < 2:
        return times[0] * 1000
    return statistics.quantiles(times, n=100, method="inclusive")[p - 1] * 1000


def main() -> None:
    daemon = common.start_daemon(ports=1, latency=0.05)
    try:
        port = daemon.port
        quiet = asyncio.run(good_client(port, 3.0))
        out: multiprocessing.Queue[dict[str, int]] = multiprocessing.Queue()
        proc = multiprocessing.Process(target=flood_process, args=(port, SECONDS, out))
        proc.start()
        time.sleep(1.0)                          # the flood is under way
        busy = asyncio.run(good_client(port, SECONDS - 2.0))
        counts = out.get(timeout=SECONDS + 60)
        proc.join(10)
        after = asyncio.run(good_client(port, 2.0))
    finally:
        daemon.stop()
    print(f"login flood: {FLOOD} concurrent bad logins from {FLOOD_FROM} for {SECONDS:g} s: "
          + ", ".join(f"{v} {k}" for k, v in counts.items()))
    for label, times in (("no flood", quiet), ("during the flood", busy), ("after it", after)):
        print(f"good client {GOOD_FROM}, {label:16}: {len(times):4d} requests, "
              f"p50 {pct(times, 50):6.1f} ms, p99 {pct(times, 99):6.1f} ms, "
              f"max {max(times) * 1000:6.1f} ms")
    p99 = pct(busy, 99) / 1000
    print(f"target p99 < {TARGET_P99 * 1000:.0f} ms during the flood: "
          f"{'met' if p99 < TARGET_P99 else 'MISSED'}")


if __name__ == "__main__":
    main()
