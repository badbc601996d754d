"""The installed daemon answers its JSON API and sends: one SMS through the simulated board.

    python3 check_api.py http://127.0.0.1:PORT PASSWORD

Runs with Debian's own python3 (standard library only), inside the booted test system or from
the host. Exits non-zero with a message naming what failed.
"""
from __future__ import annotations

import base64
import json
import sys
import time
import urllib.request

NUMBER = "+447700900123"


def call(base: str, password: str, name: str, body: object | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}/api/{name}", data=data, headers={
        "Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode(),
        "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer: dict = json.loads(resp.read())
    return answer


def wait_ports(base: str, password: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        info = call(base, password, "get_port_info?port=0&info_type=reg")
        regs = [p.get("reg") for p in info.get("info", [])]
        if regs and regs[0] == "REGISTER_OK":
            return
        time.sleep(0.5)
    raise SystemExit(f"port 0 never registered: {info}")


def send_and_wait(base: str, password: str, deadline: float) -> str:
    accepted = call(base, password, "send_sms", {
        "text": "package test", "param": [{"number": NUMBER, "user_id": 7}]})
    if accepted.get("error_code") != 202:
        raise SystemExit(f"send_sms refused: {accepted}")
    status = ""
    while time.monotonic() < deadline:
        result = call(base, password, "query_sms_result", {"user_id": [7]}).get("result", [])
        status = result[0]["status"] if result else ""
        if status in ("SENT_OK", "DELIVERED", "FAILED"):
            break
        time.sleep(0.5)
    if status not in ("SENT_OK", "DELIVERED"):
        raise SystemExit(f"the SMS did not go out: status {status!r}")
    return status


def check_console(base: str) -> None:
    """The web console's files ship in the package (/usr/share/smsd/web): the login page and
    its style sheet are served."""
    with urllib.request.urlopen(f"{base}/login", timeout=10) as resp:
        page = resp.read().decode("utf-8")
    if 'name="username"' not in page or "/static/console.css" not in page:
        raise SystemExit(f"the console's login page is not served: {page[:300]!r}")
    with urllib.request.urlopen(f"{base}/static/console.css", timeout=10) as resp:
        if not resp.headers.get("Content-Type", "").startswith("text/css"):
            raise SystemExit("the console's style sheet is not served")


def main(base: str, password: str) -> None:
    deadline = time.monotonic() + 60
    queue = call(base, password, "query_sms_in_queue")
    if queue.get("error_code") != 200:
        raise SystemExit(f"query_sms_in_queue: {queue}")
    wait_ports(base, password, deadline)
    print(f"api: answers, sms {send_and_wait(base, password, deadline)}", flush=True)
    check_console(base)
    print("console: the login page and its style sheet are served", flush=True)


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), sys.argv[2])
