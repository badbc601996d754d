"""HTTPS under a handshake flood: other clients (HTTP and HTTPS) must stay served within 1 s.

The HTTP front (smsd/api/server.py, as the daemon sets it up, with a self-signed certificate
from smsd/system/tls.py) runs in a child process on loopback, serving /health on HTTP and HTTPS.
The flood, for PHASE_SECONDS each:
  1. 2,000 TLS connections held open without a handshake (20 addresses x 100);
  2. plus FULL concurrent clients doing full handshakes and a request on a new connection each,
     back to back (10 addresses): handshakes per second are printed;
  3. plus 300 connections a second sending garbage instead of a ClientHello.
Meanwhile a good client on 127.0.0.3 asks /health on a new HTTPS connection, then on a new HTTP
one, in turn, and records the latency; printed per phase. Target: every good request answered
within 1 s.

Bounded: about 2,500 sockets, 3 x PHASE_SECONDS, loopback only.
Run from the project's venv: `.venv/bin/python bench/tls_flood.py`.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import resource
import ssl
import statistics
import sys
import tempfile
import time
from typing import Any

HELD, HELD_ADDRS = 2000, [f"127.0.1.{i}" for i in range(1, 21)]
FULL, FULL_ADDRS = 64, [f"127.0.3.{i}" for i in range(1, 11)]
GARBAGE_PER_SECOND = 300
GOOD_FROM = "127.0.0.3"
PHASE_SECONDS = 8.0
TIMEOUT = 5.0
TARGET = 1.0


def serve(state_dir: str, ready: Any) -> None:
    import threading

    from smsd.api.server import create_server, listen_addresses, prepare_process
    from smsd.system.tls import TlsCertificate

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Length", "0")])
        return []
    tls = TlsCertificate(state_dir, hostname="bench")
    tls.load()
    prepare_process()
    server = create_server(app, ["127.0.0.1:0"], 16, tls_listen=["127.0.0.1:0"],
                           tls_context=tls.context)
    ready.send((listen_addresses(server), tls.pair_path))
    threading.Thread(target=server.run, daemon=True).start()
    threading.Event().wait()


async def request(port: int, source: str, context: ssl.SSLContext | None) -> float:
    start = time.monotonic()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", port, local_addr=(source, 0), ssl=context,
        server_hostname="localhost" if context else None), TIMEOUT)
    try:
        writer.write(b"GET /health HTTP/1.0\r\nHost: x\r\n\r\n")
        body = await asyncio.wait_for(reader.read(), TIMEOUT)
        if not body.endswith(b"ok\n"):
            raise OSError(f"bad answer {body[:40]!r}")
    finally:
        writer.close()
    return time.monotonic() - start


class Bench:
    def __init__(self, http_port: int, tls_port: int, cafile: str) -> None:
        self.http_port, self.tls_port = http_port, tls_port
        self.context = ssl.create_default_context(cafile=cafile)
        self.phase = 0
        self.latency: dict[int, list[float]] = {}
        self.failed: dict[int, int] = {}
        self.handshakes: dict[int, int] = {}
        self.held: list[Any] = []

    async def good_client(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for ctx, port in ((self.context, self.tls_port), (None, self.http_port)):
                try:
                    took = await request(port, GOOD_FROM, ctx)
                    self.latency.setdefault(self.phase, []).append(took)
                except (OSError, asyncio.TimeoutError):
                    self.failed[self.phase] = self.failed.get(self.phase, 0) + 1
            await asyncio.sleep(0.05)

    async def hold(self) -> None:
        for i in range(HELD):
            try:
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", self.tls_port, local_addr=(HELD_ADDRS[i % len(HELD_ADDRS)], 0))
                self.held.append(writer)
            except OSError:
                pass

    async def full(self, i: int, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await request(self.tls_port, FULL_ADDRS[i % len(FULL_ADDRS)], self.context)
                self.handshakes[self.phase] = self.handshakes.get(self.phase, 0) + 1
            except (OSError, asyncio.TimeoutError):
                pass

    async def garbage(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", self.tls_port, local_addr=(f"127.0.5.{n % 200 + 1}", 0))
                writer.write(b"\xff" * 200)
                writer.close()
            except OSError:
                pass
            await asyncio.sleep(1 / GARBAGE_PER_SECOND)

    async def run(self) -> bool:
        stop_good, stop_full, stop_garbage = asyncio.Event(), asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(self.good_client(stop_good))]
        self.phase = 1
        await self.hold()
        await asyncio.sleep(PHASE_SECONDS)
        self.phase = 2
        tasks += [asyncio.create_task(self.full(i, stop_full)) for i in range(FULL)]
        await asyncio.sleep(PHASE_SECONDS)
        self.phase = 3
        tasks.append(asyncio.create_task(self.garbage(stop_garbage)))
        await asyncio.sleep(PHASE_SECONDS)
        stop_full.set()
        stop_garbage.set()
        self.phase = 4
        for writer in self.held:
            writer.close()
        await asyncio.sleep(2)
        stop_good.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.report()

    def report(self) -> bool:
        names = {1: f"{HELD} held TLS connections", 2: f"+ {FULL} clients of full handshakes",
                 3: f"+ {GARBAGE_PER_SECOND}/s garbage", 4: "after"}
        ok = True
        for phase, name in names.items():
            got = sorted(self.latency.get(phase, []))
            failed = self.failed.get(phase, 0)
            if not got:
                print(f"{name}: no good request answered ({failed} failed)")
                ok = False
                continue
            worst = got[-1]
            ok = ok and worst < TARGET and failed == 0
            rate = self.handshakes.get(phase, 0) / PHASE_SECONDS
            print(f"{name}: good client {len(got)} requests, median "
                  f"{statistics.median(got) * 1000:.0f} ms, max {worst * 1000:.0f} ms, "
                  f"{failed} failed" + (f"; {rate:.0f} full handshakes/s" if rate else ""))
        print("PASS" if ok else f"FAIL (target: every good request within {TARGET:g} s)")
        return ok


def main() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as state:
        ours, theirs = multiprocessing.Pipe()
        server = multiprocessing.Process(target=serve, args=(state, theirs), daemon=True)
        server.start()
        try:
            addresses, cafile = ours.recv()
            (_, http_port), (_, tls_port) = addresses
            return 0 if asyncio.run(Bench(http_port, tls_port, cafile).run()) else 1
        finally:
            server.terminate()
            server.join(5)


if __name__ == "__main__":
    sys.exit(main())
