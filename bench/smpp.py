"""SMPP benchmark: submit_sm per second over ONE transmitter bind with a window of 10 (ten
submit_sm always in flight), each answered only after its durable commit (issue 18).

Printed beside the physical limit of the ports: a full board of 32 ports at the simulator's
realistic 3 s per part sends 32 / 3 = 10.7 SMS/s; the goal (500 msg/s, half the JSON API's
single-request intake goal, from one connection) keeps intake far above what the modems take. The simulated modems here are slow on purpose: the
queue only grows, so the figure is intake, not dispatch.
Run from the project's venv: `.venv/bin/python bench/smpp.py`.
"""
from __future__ import annotations

import os
import runpy
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import start_daemon

from e2e.harness import free_port
from smsd.smpp import pdus

WINDOW = 10
DURATION = 5.0
GOAL = 500.0                      # msg/s
PORTS, SEND_SECONDS = 32, 3.0     # a full board at a realistic submit time


class Esme:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.seq = 0

    def send(self, name: str, **fields: object) -> None:
        self.seq += 1
        self.sock.sendall(pdus.encode(pdus.make(name, sequence=self.seq, **fields)))

    def read(self) -> object:
        while True:
            if len(self.buf) >= 4:
                size = struct.unpack(">L", self.buf[:4])[0]
                if len(self.buf) >= size:
                    frame, self.buf = self.buf[:size], self.buf[size:]
                    return pdus.decode(frame)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("the server closed the connection")
            self.buf += chunk


def submit(esme: Esme, i: int) -> None:
    esme.send("submit_sm", source_addr="bench", dest_addr_ton=1, dest_addr_npi=1,
              destination_addr=f"4477{i % 10**8:08d}", short_message=b"smpp benchmark")


def measure(port: int) -> float:
    esme = Esme(port)
    esme.send("bind_transmitter", system_id="bench", password="bench-pw")
    if getattr(esme.read(), "status") != 0:
        raise SystemExit("bind refused")
    sent = done = 0
    for _ in range(WINDOW):
        submit(esme, sent)
        sent += 1
    t0 = time.monotonic()
    deadline = t0 + DURATION
    while True:
        resp = esme.read()
        if getattr(resp, "status") != 0:
            raise SystemExit(f"submit_sm refused: status 0x{getattr(resp, 'status'):x}")
        done += 1
        if time.monotonic() < deadline:
            submit(esme, sent)
            sent += 1
        elif done == sent:
            break
    return done / (time.monotonic() - t0)


def main() -> None:
    smpp_port = free_port()
    conf = os.path.join(tempfile.mkdtemp(prefix="smsd-bench-"), "smsd.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"[smpp]\nlisten = 127.0.0.1:{smpp_port}\nmax_queue = 10000000\n")
    d = start_daemon(ports=1, latency=3600.0, extra=("--config", conf))
    try:
        subprocess.run([sys.executable, "-m", "smsd", "user", "add", "bench", "--password",
                        "bench-pw", "--perm", "smpp", "--state-dir", d.state_dir], check=True,
                       capture_output=True)
        rate = measure(smpp_port)
    finally:
        d.stop()
    limit = PORTS / SEND_SECONDS
    print(f"smpp: one bind, window {WINDOW}, {DURATION:g} s; physical limit of the ports "
          f"{limit:.1f} msg/s ({PORTS} ports at {SEND_SECONDS:g} s per part)")
    print(f"RESULT smpp_submit {rate:.0f} msg/s goal >= {GOAL:.0f} "
          f"{'met' if rate >= GOAL else 'missed'}")
    # the end-to-end rate through Kannel to two boxes (issue 18's second SMPP figure)
    runpy.run_path(str(Path(__file__).with_name("fleet.py")), run_name="__main__")


if __name__ == "__main__":
    main()
