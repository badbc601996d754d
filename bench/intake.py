"""API intake benchmark: single-recipient `send_sms` requests per second over loopback with durable
commits, and recipients per second in 128-number requests.
Targets: 1,000 requests/s and 20,000 recipients/s on a 2-core machine.

Clients are separate processes with keep-alive connections and Basic auth, as a busy integration
would send. Run from the project's venv with no arguments: `.venv/bin/python bench/intake.py`.
"""
from __future__ import annotations

import base64
import http.client
import json
import multiprocessing as mp
import time

from common import start_daemon

CLIENTS = 4
DURATION = 5.0


def client(port: int, password: str, recipients: int, duration: float, out: "mp.Queue[int]") -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    body = json.dumps({"text": "intake benchmark", "request_status_report": False,
                       "param": [{"number": f"+4477{i:08d}"} for i in range(recipients)]})
    done, deadline = 0, time.monotonic() + duration
    while time.monotonic() < deadline:
        conn.request("POST", "/api/send_sms", body, headers)
        reply = json.loads(conn.getresponse().read())
        if reply.get("error_code") != 202:
            raise SystemExit(f"refused: {reply}")
        done += 1
    out.put(done)


def measure(port: int, password: str, recipients: int) -> float:
    out: "mp.Queue[int]" = mp.Queue()
    procs = [mp.Process(target=client, args=(port, password, recipients, DURATION, out))
             for _ in range(CLIENTS)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    total = sum(out.get(timeout=DURATION + 60) for _ in procs)
    for p in procs:
        p.join()
    return total / (time.monotonic() - t0)


def main() -> None:
    # Slow simulated modems: the queue only grows, so the figure is intake, not dispatch.
    d = start_daemon(ports=1, latency=3600.0)
    try:
        single = measure(d.port, d.password, 1)
        batch = measure(d.port, d.password, 128)
    finally:
        d.stop()
    print(f"clients={CLIENTS} duration={DURATION}s per figure")
    print(f"intake: {single:.0f} single-recipient requests/s (target 1000), "
          f"{batch * 128:.0f} recipients/s in 128-number requests (target 20000)")


if __name__ == "__main__":
    main()
