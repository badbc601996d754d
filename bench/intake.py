"""Intake benchmark (issue 20): requests accepted per second while 32 ports dispatch (the queue
only grows, so the dispatcher is busy throughout), every answer after its durable commit.

* `intake_single_json`: single-recipient JSON `send_sms` over keep-alive with Basic auth, and
  `intake_single_digest` the same with HTTP Digest (SHA-256): goal >= 1,500 req/s each;
* `intake_single_<dialect>`: the legacy GET sends (isms, gateway_php, intelli, ozeki), which
  answer `Connection: close` as their vendors' do, so one connection per request: >= 1,000/s;
* `intake_bulk`: 128-recipient JSON requests: >= 50,000 recipients/s;
* `cpu_per_request`: the daemon's CPU per accepted single JSON request, less the dispatch's
  share (its CPU rate measured just before, with no intake): <= 0.4 ms.

Clients are CLIENTS separate processes on raw sockets with the requests prepared, so that the
load generator costs little of the two cores. The board runs in its own process, as on the
appliance. Run from the project's venv: `.venv/bin/python bench/intake.py`.
"""
from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing as mp
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from typing import Callable

from common import Board, Daemon
from report import cpu_seconds, result

CLIENTS = 4
DURATION = 4.0
PORTS = 32
LATENCY = 0.25
TEXT = "intake benchmark"
NUMBER = "+447700900123"
CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
CLOSES = re.compile(rb"(?i)\r\nconnection:\s*close")

Request = Callable[[int], bytes]          # request number -> the bytes to send


def json_request(password: str, recipients: int) -> Request:
    body = json.dumps({"text": TEXT, "request_status_report": False,
                       "param": [{"number": f"+4477{i:08d}"} for i in range(recipients)]}).encode()
    auth = base64.b64encode(f"admin:{password}".encode()).decode()
    raw = (f"POST /api/send_sms HTTP/1.1\r\nHost: box\r\nAuthorization: Basic {auth}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    return lambda n: raw


def digest_request(password: str, nonce: str) -> Request:
    """RFC 7616 SHA-256 Digest; a new nc and response per request, as a client computes them."""
    body = json.dumps({"text": TEXT, "request_status_report": False,
                       "param": [{"number": NUMBER}]}).encode()
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()   # noqa: E731
    ha1, ha2, uri = sha(f"admin:smsd:{password}"), sha("POST:/api/send_sms"), "/api/send_sms"
    head = (f"POST {uri} HTTP/1.1\r\nHost: box\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n")

    def make(n: int) -> bytes:
        nc, cnonce = f"{n + 1:08x}", f"{os.getpid():x}"
        response = sha(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        auth = (f'Digest username="admin", realm="smsd", nonce="{nonce}", uri="{uri}", '
                f'algorithm=SHA-256, qop=auth, nc={nc}, cnonce="{cnonce}", '
                f'response="{response}", opaque="smsd"')
        return (head + f"Authorization: {auth}\r\n\r\n").encode() + body
    return make


def get_request(path: str, params: dict[str, str]) -> Request:
    raw = f"GET {path}?{urllib.parse.urlencode(params)} HTTP/1.1\r\nHost: box\r\n\r\n".encode()
    return lambda n: raw


def legacy_requests(password: str) -> dict[str, tuple[Request, bytes]]:
    """Each legacy dialect's GET send, and what its success answer starts with."""
    return {
        "isms": (get_request("/sendmsg", {"user": "admin", "passwd": password, "cat": "1",
                                          "to": NUMBER, "text": TEXT}), b"ID: "),
        "gateway_php": (get_request("/module/gateway.php", {
            "clientuser": "admin", "clientpwd": password, "to": NUMBER[1:], "message": TEXT,
            "sender": "Bench"}), b"OK"),
        "intelli": (get_request("/smsgateway/sendmsg.aspx", {
            "username": "admin", "password": password, "to": NUMBER[1:], "text": TEXT}), b"ID:"),
        "ozeki": (get_request("/api", {"action": "sendmessage", "username": "admin",
                                       "password": password, "recipient": NUMBER,
                                       "messagedata": TEXT}), b""),
    }


def exchange(sock: socket.socket, raw: bytes) -> tuple[bytes, bytes, bool]:
    """Send one request, read its answer: (status line and headers, body, server closes)."""
    sock.sendall(raw)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the answer")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    found = CONTENT_LENGTH.search(head)
    length = int(found.group(1)) if found else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return head, body, bool(CLOSES.search(head))


def client(port: int, make: Request, accepted: bytes, duration: float,
           out: "mp.Queue[int]") -> None:
    sock: socket.socket | None = None
    done, deadline = 0, time.monotonic() + duration
    try:
        while time.monotonic() < deadline:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port))
            head, body, closes = exchange(sock, make(done))
            if not head.startswith(b"HTTP/1.1 200") or not body.lstrip().startswith(accepted):
                raise SystemExit(f"refused: {head[:200]!r} {body[:300]!r}")
            done += 1
            if closes:
                sock.close()
                sock = None
    finally:
        out.put(done if time.monotonic() >= deadline else -1)     # -1: this client failed


def measure(d: Daemon, make: Request, accepted: bytes) -> tuple[float, float]:
    """(requests/s, daemon CPU seconds) over DURATION with CLIENTS client processes."""
    assert d.proc is not None
    out: "mp.Queue[int]" = mp.Queue()
    procs = [mp.Process(target=client, args=(d.port, make, accepted, DURATION, out))
             for _ in range(CLIENTS)]
    cpu0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
    for p in procs:
        p.start()
    counts = [out.get(timeout=DURATION + 60) for _ in procs]
    if min(counts) < 0:
        raise SystemExit("a client failed (its reason above)")
    total = sum(counts)
    took, cpu = time.monotonic() - t0, cpu_seconds(d.proc.pid) - cpu0
    for p in procs:
        p.join()
    return total / took, cpu


def digest_nonce(d: Daemon) -> str:
    """Digest on for admin (`smsd user digest`), then a nonce from a 401's challenge."""
    subprocess.run([sys.executable, "-m", "smsd", "user", "digest", "admin", "on", "--password",
                    d.password, "--state-dir", d.state_dir], check=True, capture_output=True,
                   timeout=60)
    with socket.create_connection(("127.0.0.1", d.port)) as sock:
        head, _, _ = exchange(sock, b"GET /api/query_sms_in_queue HTTP/1.1\r\nHost: box\r\n\r\n")
    found = re.search(rb'nonce="([^"]+)"', head)
    assert found, head
    return found.group(1).decode()


def dispatch_cpu_rate(d: Daemon, seconds: float = 3.0) -> float:
    """The daemon's CPU seconds per second while it dispatches and nobody sends."""
    assert d.proc is not None
    cpu0 = cpu_seconds(d.proc.pid)
    time.sleep(seconds)
    return (cpu_seconds(d.proc.pid) - cpu0) / seconds


def main() -> None:
    board = Board(PORTS, LATENCY)
    d = board.daemon()
    try:
        d.start(60)
        # a backlog first, so that every port is busy throughout
        for _ in range(8):
            d.api("send_sms", {"text": TEXT, "request_status_report": False,
                               "param": [{"number": f"+4477{i:08d}"} for i in range(128)]})
        time.sleep(1.0)
        idle_rate = dispatch_cpu_rate(d)
        single, single_cpu = measure(d, json_request(d.password, 1), b"{")
        # Digest next, on the queue Basic left: the two differ only in their Authorization
        # (measured after the bulk figure, Digest met half a million more queued messages)
        digest, _ = measure(d, digest_request(d.password, digest_nonce(d)), b"{")
        legacy = {name: measure(d, make, ok)[0]
                  for name, (make, ok) in legacy_requests(d.password).items()}
        bulk, _ = measure(d, json_request(d.password, 128), b"{")
        backlog = d.api("query_sms_in_queue")["in_queue"]
    finally:
        d.stop()
        board.stop()
    per_request = (single_cpu - idle_rate * DURATION) / (single * DURATION)
    print(f"clients={CLIENTS} duration={DURATION}s per figure; {PORTS} ports dispatching "
          f"(daemon CPU {idle_rate * 100:.0f} % with no intake; {backlog} still queued at the end)")
    result("intake_single_json", single, "req/s", ">=", 1500)
    result("intake_single_digest", digest, "req/s", ">=", 1500)
    for name, rate in legacy.items():
        result(f"intake_single_{name}", rate, "req/s", ">=", 1000)
    result("intake_bulk", bulk * 128, "recipients/s", ">=", 50000)
    result("cpu_per_request", per_request * 1000, "ms", "<=", 0.4)


if __name__ == "__main__":
    main()
