"""Soak of the remote tunnel (issue 17): many requests through the relay to a box, a third of
the clients vanishing mid-request or mid-answer, then: does memory come back, does the tunnel
still serve?

Relay (`smsd drp-server`) and box (`smsd run --simulate`) are separate processes on loopback. The
box first holds a few hundred messages so that `query_sms_result` answers are long (tens of KB,
several HTTP/2 DATA frames): a client that reads a little of one and resets its connection leaves
a stream the relay must cancel. RSS of both processes is taken after a warm-up round and at the
end, after the same work again; growth between the two must stay small.

    .venv/bin/python bench/drp_soak.py [--requests N] [--clients C]
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time

from common import ROOT, rss_kib, wait_for
from report import result

sys.path.insert(0, str(ROOT / "tests"))
from e2e.drp_harness import Client, Relay, box, drp  # noqa: E402

GROWTH_GOAL = 1.2               # RSS at the end at most this times RSS after the warm-up
SETTLE = 11.0                   # seconds before reading RSS: the heap trimmers run every 10 s
RATE_GOAL = 100.0               # requests/s through the relay on 2 cores (clients included)


def vanish(relay: Relay, cookie: str, how: int) -> None:
    """A client that goes away: mid-request (half a body), or after a few bytes of the answer,
    with a TCP reset rather than a polite close."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls = ctx.wrap_socket(sock)
    auth = "Basic YWRtaW46dGVzdC1hZG1pbi1wdw=="       # admin:test-admin-pw
    if how == 0:
        tls.sendall(f"POST /api/send_sms HTTP/1.1\r\nHost: r\r\nCookie: {cookie}\r\n"
                    f"Authorization: {auth}\r\nContent-Length: 1000\r\n\r\n{{\"text\":".encode())
    else:
        tls.sendall(f"GET /api/query_sms_result HTTP/1.1\r\nHost: r\r\nCookie: {cookie}\r\n"
                    f"Authorization: {auth}\r\n\r\n".encode())
        try:
            tls.recv(2000 if how == 1 else 1)
        except OSError:
            pass
    sock.close()


def worker(relay: Relay, sn: str, count: int, failures: list[str], seed: int) -> None:
    rnd = random.Random(seed)
    client = Client(relay)
    if client.login("soak", "soak-pw") != 200 or client.choose(sn) != 200:
        failures.append("login")
        return
    for _ in range(count):
        pick = rnd.random()
        try:
            if pick < 0.33:
                vanish(relay, client.cookie, rnd.randrange(3))
                continue
            # (not get_status: it samples the CPU for 0.2 s)
            name = "query_sms_result" if pick < 0.6 else "query_sms_in_queue"
            status, _ = client.api(name)
            if status != 200:
                failures.append(f"{name}: {status}")
        except OSError as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    client.close()


def round_of(relay: Relay, sn: str, requests: int, clients: int) -> tuple[float, list[str]]:
    failures: list[str] = []
    threads = [threading.Thread(target=worker, args=(relay, sn, requests // clients, failures, i))
               for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return requests / (time.monotonic() - started), failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--clients", type=int, default=24)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="smsd-drp-soak-")
    relay = Relay(os.path.join(root, "relay"), "--session-rate", "100000", "--device-rate",
                  "100000", "--log-level", "warning")
    drp(relay.state_dir, "user", "add", "soak", "--password", "soak-pw")
    relay.start()
    d = box(os.path.join(root, "box", "state"), relay, "soak", ports=2, latency=0.01)
    try:
        d.start(60)
        wait_for(lambda: (d.api("get_status").get("remote") or {}).get("connected"), 30,
                 what="box connected")
        for batch in range(4):         # long query_sms_result answers
            d.api("send_sms", {"text": "soak " * 20, "param": [
                {"number": f"+4477009{batch:02d}{i:03d}", "user_id": batch * 1000 + i}
                for i in range(100)]})
        sn = d.sn                     # type: ignore[attr-defined]
        assert relay.proc and d.proc
        round_of(relay, sn, args.requests, args.clients)                # warm-up
        time.sleep(SETTLE)
        start = (rss_kib(relay.proc.pid), rss_kib(d.proc.pid))
        rate, failures = round_of(relay, sn, args.requests, args.clients)
        rate2, failures2 = round_of(relay, sn, args.requests, args.clients)
        time.sleep(SETTLE)
        end = (rss_kib(relay.proc.pid), rss_kib(d.proc.pid))
        still = Client(relay)
        alive = still.login("soak", "soak-pw") == 200 and still.choose(sn) == 200 \
            and still.api("get_status")[0] == 200
        ok = [result("drp_relay_rss_start", start[0], "KiB", "<=", 100 * 1024),
              result("drp_relay_rss_end", end[0], "KiB", "<=", start[0] * GROWTH_GOAL),
              result("drp_device_rss_start", start[1], "KiB", "<=", 150 * 1024),
              result("drp_device_rss_end", end[1], "KiB", "<=", start[1] * GROWTH_GOAL),
              result("drp_requests_per_s", min(rate, rate2), "req/s", ">=", RATE_GOAL),
              result("drp_failed_requests", len(failures) + len(failures2), "requests", "<=",
                     0),
              result("drp_serves_after_soak", int(alive), "bool", ">=", 1)]
        for failure in sorted(set(failures + failures2))[:10]:
            print(f"  failure: {failure}")
        return 0 if all(ok) else 1
    finally:
        d.stop()
        relay.stop()


if __name__ == "__main__":
    sys.exit(main())
