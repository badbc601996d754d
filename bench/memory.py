"""Memory benchmark (issue 20): the daemon's peak RSS (VmHWM) with 32 ports through start-up,
100 different users' first logins at once, a 2,000-message dispatch and 1,000 inbound messages
(goal: under 60 MB), and its RSS once settled (goal: under 45 MB). The board runs in a process of
its own (bench/common.Board), as on the appliance, so the figures are the daemon's alone.

Run from the project's venv with no arguments: `.venv/bin/python bench/memory.py`.
"""
from __future__ import annotations

import base64
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import dispatch
from common import Board, Daemon, wait_for
from report import result, status_kib

USERS = 100
INBOUND = 1000
SETTLE = 12.0       # seconds: the daemon's heap trimmer runs every 10 s
USER_PW = "bench-user-pw"


def add_users(d: Daemon) -> None:
    """USERS accounts with the same password: one made by `smsd user add` (its scrypt hashes),
    the others copied from it row for row, so making them costs no further hashing. Each
    name's first login still pays its own scrypt: the daemon's auth cache is per name."""
    subprocess.run([sys.executable, "-m", "smsd", "user", "add", "u000", "--password", USER_PW,
                    "--perm", "api:json", "--state-dir", d.state_dir], check=True,
                   capture_output=True, timeout=60)
    db = sqlite3.connect(os.path.join(d.state_dir, "smsd.db"), timeout=30)
    try:
        cols = [r[1] for r in db.execute("PRAGMA table_info(users)") if r[1] != "name"]
        with db:
            for i in range(1, USERS):
                db.execute(f"INSERT INTO users(name, {', '.join(cols)}) SELECT ?, "
                           f"{', '.join(cols)} FROM users WHERE name = 'u000'", (f"u{i:03d}",))
    finally:
        db.close()


def login(port: int, i: int, statuses: list[int]) -> None:
    """User i's first request, from an address of its own (127.0.1.i): the login throttle
    allows a few simultaneous slow checks per address, and these are 100 different clients."""
    auth = base64.b64encode(f"u{i:03d}:{USER_PW}".encode()).decode()
    with socket.socket() as s:
        s.settimeout(120)
        s.bind((f"127.0.1.{i + 1}", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(f"GET /api/query_sms_in_queue HTTP/1.1\r\nHost: box\r\nAuthorization: Basic "
                  f"{auth}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    statuses.append(int(data.split(b" ", 2)[1]) if data else 0)


def first_logins(d: Daemon) -> float:
    statuses: list[int] = []
    threads = [threading.Thread(target=login, args=(d.port, i, statuses)) for i in range(USERS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    assert statuses.count(200) == USERS, sorted(statuses)
    return took


def inbound(d: Daemon, board: Board) -> None:
    def inject(start: int) -> None:
        for i in range(start, INBOUND, 8):
            board.post("/sms", {"port": i % dispatch.PORTS, "from": f"+4477009{i:05d}",
                                "text": f"inbound benchmark message {i}"})
    threads = [threading.Thread(target=inject, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: inbox_count(d) >= INBOUND, 300, 0.5, what="all inbound messages stored")


def inbox_count(d: Daemon) -> int:
    db = sqlite3.connect(os.path.join(d.state_dir, "smsd.db"), timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0])
    finally:
        db.close()


def main() -> None:
    board = Board(dispatch.PORTS, dispatch.LATENCY)
    d = board.daemon()
    try:
        d.start(60)
        assert d.proc is not None
        pid = d.proc.pid
        started = status_kib(pid, "VmHWM")
        add_users(d)
        took = first_logins(d)
        logins = status_kib(pid, "VmHWM")
        rate = dispatch.run(d)
        dispatched = status_kib(pid, "VmHWM")
        inbound(d, board)
        peak = status_kib(pid, "VmHWM")
        time.sleep(SETTLE)
        settled = status_kib(pid, "VmRSS")
    finally:
        d.stop()
        board.stop()
    print(f"peak RSS so far: after start-up {started / 1024:.1f} MB, after {USERS} first logins "
          f"({took:.1f} s) {logins / 1024:.1f} MB, after {dispatch.MESSAGES} sent ({rate:.1f} "
          f"msg/s) {dispatched / 1024:.1f} MB, after {INBOUND} received {peak / 1024:.1f} MB")
    result("peak_rss", peak / 1024, "MB", "<", 60)
    result("settled_rss", settled / 1024, "MB", "<", 45)


if __name__ == "__main__":
    main()
