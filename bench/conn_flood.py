"""Connection floods must leave other clients served within 1 s, and the server working after.

The real daemon (simulated board) on loopback. A flood process, in phases that add up:
  1. 5,000 idle connections (20 source addresses x 250, under the per-address limit), held open;
  2. 500 more that send their request headers one byte every 2 s (a trickle, never finished);
  3. 2,000 concurrent authenticated JSON API requests (10 addresses x 200, a new connection each,
     each sender starting its next as soon as the last is answered) for PHASE_SECONDS;
then 1,000 connections from a single address (the per-address limit), while the trickling
ones wait for the server's request deadline; then everything is closed. Meanwhile a good client
on 127.0.0.3 sends one request at a time on a new connection (5 s timeout) and records its
latency; printed per phase, then after the flood. Target: the good client's max under 1 s in
every phase, and served after the flood.

Bounded: about 8,000 sockets and 70 s, loopback only. The bench raises its own open files soft
limit to the hard one; it needs a hard limit of at least 10,000.
Run from the project's venv: `.venv/bin/python bench/conn_flood.py`.
"""
from __future__ import annotations

import asyncio
import base64
import multiprocessing
import resource
import statistics
import time
from typing import Any, Callable

import common
from e2e.harness import ADMIN_PW

IDLE, IDLE_ADDRS = 5000, [f"127.0.1.{i}" for i in range(1, 21)]
SLOW, SLOW_ADDRS = 500, ["127.0.2.1", "127.0.2.2"]
BUSY, BUSY_ADDRS = 2000, [f"127.0.3.{i}" for i in range(1, 11)]
ONE_ADDR, ONE_ADDR_TRIES = "127.0.4.1", 1000
GOOD_FROM = "127.0.0.3"
PHASE_SECONDS = 10.0
SLOW_DEADLINE = 36.0     # the server's request deadline (30 s) and its cleanup turn (5 s)
TIMEOUT = 5.0
TARGET = 1.0
DAEMON_PID = [0]
PEAK_RSS: dict[str, int] = {}        # phase -> the daemon's largest VmRSS seen (KiB)
PHASES = ("quiet", "5,000 idle", "+500 slow headers", "+2,000 concurrent requests",
          "one address x1,000 (+slow)", "after the flood")


def request(password: str) -> bytes:
    token = base64.b64encode(f"admin:{password}".encode()).decode()
    return (f"GET /api/query_sms_in_queue HTTP/1.1\r\nHost: box\r\nAuthorization: Basic {token}"
            "\r\nConnection: close\r\n\r\n").encode()


async def connect(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await common.open_from(source, port)


async def ask(port: int, source: str, data: bytes) -> bytes:
    reader, writer = await connect(port, source)
    try:
        writer.write(data)
        return await reader.read()
    finally:
        writer.close()


# --- the flood (its own process, so its work does not slow the good client's timing) ----------
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def open_many(port: int, addrs: list[str], count: int) -> list[Conn]:
    async def one(i: int) -> Conn | None:
        try:
            return await connect(port, addrs[i % len(addrs)])
        except OSError:
            return None
    held = []
    for start in range(0, count, 500):            # in waves: the accept queue is 4,096 deep
        wave = range(start, min(count, start + 500))
        held += [c for c in await asyncio.gather(*(one(i) for i in wave)) if c is not None]
    return held


def still_open(conns: list[Conn]) -> int:
    """How many the server has not closed (as far as this event loop has seen)."""
    return sum(not reader.at_eof() and reader.exception() is None for reader, _ in conns)


def close_all(conns: list[Conn]) -> None:
    for _, writer in conns:
        writer.close()


async def trickle(writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
    data = b"GET /api/query_sms_in_queue HTTP/1.1\r\nHost: box\r\nX-Slow: " + b"y" * 200
    for byte in data:
        if stop.is_set():
            return
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except OSError:
            return                                 # closed by the server: its deadline
        await asyncio.sleep(2.0)


async def busy(port: int, seconds: float, counts: dict[str, int]) -> None:
    deadline = time.monotonic() + seconds
    data = request(ADMIN_PW)

    async def sender(source: str) -> None:
        while time.monotonic() < deadline:
            try:
                reply = await asyncio.wait_for(ask(port, source, data), 30)
                counts["answered" if b" 200 " in reply[:20] else "other"] += 1
            except (OSError, asyncio.TimeoutError):
                counts["failed"] += 1
    await asyncio.gather(*(sender(BUSY_ADDRS[i % len(BUSY_ADDRS)]) for i in range(BUSY)))


async def one_address(port: int) -> int:
    """How many of ONE_ADDR_TRIES connections from one address stay open a second later."""
    held = await open_many(port, [ONE_ADDR], ONE_ADDR_TRIES)
    await asyncio.sleep(1.0)
    kept = still_open(held)
    close_all(held)
    return kept


async def flood(port: int, phase: Any, report: dict[str, Any]) -> None:
    phase.value = 1
    idle = await open_many(port, IDLE_ADDRS, IDLE)
    report["idle opened"] = len(idle)
    await asyncio.sleep(PHASE_SECONDS)
    phase.value = 2
    slow_opened = time.monotonic()
    slow = await open_many(port, SLOW_ADDRS, SLOW)
    report["slow opened"] = len(slow)
    stop = asyncio.Event()
    trickles = [asyncio.ensure_future(trickle(w, stop)) for _, w in slow]
    await asyncio.sleep(PHASE_SECONDS)
    phase.value = 3
    counts = {"answered": 0, "other": 0, "failed": 0}
    await busy(port, PHASE_SECONDS, counts)
    report["concurrent requests"] = counts
    report["idle still open"] = still_open(idle)
    close_all(idle)
    phase.value = 4
    report["one address kept"] = await one_address(port)
    # The trickling ones outlive the idle timeout; the request deadline (30 s) closes them.
    await asyncio.sleep(max(0.0, slow_opened + SLOW_DEADLINE - time.monotonic()))
    report[f"slow still open {SLOW_DEADLINE:g} s on"] = still_open(slow)
    stop.set()
    close_all(slow)
    await asyncio.gather(*trickles)
    phase.value = 5


def flood_process(port: int, phase: Any, out: "multiprocessing.Queue[dict[str, Any]]") -> None:
    raise_nofile()
    report: dict[str, Any] = {}
    asyncio.run(flood(port, phase, report))
    out.put(report)


# --- the good client --------------------------------------------------------------------------
async def good_client(port: int, label_now: Callable[[], str | None],
                      samples: dict[str, list[float]], failures: dict[str, int]) -> None:
    """One request at a time, tagged with the phase it started in, until label_now() is None;
    the daemon's largest resident size per phase goes into PEAK_RSS."""
    data = request(ADMIN_PW)
    while (label := label_now()) is not None:
        start = time.perf_counter()
        try:
            reply = await asyncio.wait_for(ask(port, GOOD_FROM, data), TIMEOUT)
            ok = b" 200 " in reply[:20]
        except (OSError, asyncio.TimeoutError):
            ok = False
        if ok:
            samples.setdefault(label, []).append(time.perf_counter() - start)
        else:
            failures[label] = failures.get(label, 0) + 1
        PEAK_RSS[label] = max(PEAK_RSS.get(label, 0), common.rss_kib(DAEMON_PID[0]))
        await asyncio.sleep(0.05)


def for_seconds(label: str, seconds: float) -> Callable[[], str | None]:
    end = time.monotonic() + seconds
    return lambda: label if time.monotonic() < end else None


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def pct(times: list[float], p: int) -> float:
    if len(times) < 2:
        return times[0] * 1000
    return statistics.quantiles(times, n=100, method="inclusive")[p - 1] * 1000


def main() -> None:
    raise_nofile()      # the daemon inherits it (and raises its own soft limit anyway)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 10_000:
        raise SystemExit(f"open files hard limit {hard}: this bench needs 10,000")
    daemon = common.start_daemon(ports=1, latency=0.05)
    samples: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    started = time.monotonic()
    try:
        port = daemon.port
        assert daemon.proc is not None
        DAEMON_PID[0] = daemon.proc.pid
        asyncio.run(good_client(port, for_seconds(PHASES[0], 3.0), samples, failures))
        phase: Any = multiprocessing.Value("i", 1)
        out: multiprocessing.Queue[dict[str, Any]] = multiprocessing.Queue()
        proc = multiprocessing.Process(target=flood_process, args=(port, phase, out))
        proc.start()

        def during() -> str | None:
            return PHASES[phase.value] if phase.value < len(PHASES) - 1 else None
        asyncio.run(good_client(port, during, samples, failures))
        report = out.get(timeout=120)
        proc.join(10)
        asyncio.run(good_client(port, for_seconds(PHASES[-1], 3.0), samples, failures))
    finally:
        daemon.stop()
    print(f"connection flood on the real daemon ({time.monotonic() - started:.0f} s): "
          + ", ".join(f"{k}: {v}" for k, v in report.items()))
    worst = 0.0
    for label in PHASES:
        times = samples.get(label, [])
        failed = failures.get(label, 0)
        if not times:
            print(f"good client, {label:28}: no answer ({failed} failed)")
            worst = float("inf")
            continue
        worst = max(worst, max(times))
        print(f"good client, {label:28}: {len(times):4d} requests, p50 {pct(times, 50):7.1f} ms, "
              f"p99 {pct(times, 99):7.1f} ms, max {max(times) * 1000:7.1f} ms, {failed} failed; "
              f"daemon RSS up to {PEAK_RSS.get(label, 0) / 1024:.0f} MiB")
    missed = worst >= TARGET or sum(failures.values()) > 0
    print(f"target: every good request answered within {TARGET:g} s: "
          f"{'MISSED' if missed else 'met'}")


if __name__ == "__main__":
    main()
