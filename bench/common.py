"""Shared by the benchmarks: start the real daemon on the simulator in a temp state dir."""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from e2e.harness import Daemon, SimProcess, terminate, wait_for  # noqa: E402

__all__ = ["Board", "Daemon", "terminate", "wait_for", "start_daemon", "rss_kib", "open_from"]


def start_daemon(ports: int, latency: float, **kw: object) -> Daemon:
    state = tempfile.mkdtemp(prefix="smsd-bench-")
    return Daemon(os.path.join(state, "state"), ports=ports, latency=latency, **kw).start(60)  # type: ignore[arg-type]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)   # Linux


async def open_from(source: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the daemon on 127.0.0.1 from the loopback address `source`. The port is
    chosen at connect time, not at bind: with tens of thousands of connections in TIME_WAIT (the
    server closes each one; on loopback they are in this same kernel) bind() would hunt for a
    free port, slowly, and the benchmark would time the kernel instead of the daemon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


class Board(SimProcess):
    """The simulated board in a process of its own (`python -m smsd.sim`), as on the appliance,
    where the modems are not in the daemon: the daemon's own memory and CPU are then measured
    alone. `daemon()` makes a daemon that opens its ptys as real serial ports, in a temp dir
    that stop() removes. `link_setup`: the radio link's set-up time a submit pays unless AT+CMMS
    holds the link (smsd/sim/cmms.py); `args`: more simulator options (--journal ...)."""

    def __init__(self, ports: int, latency: float, link_setup: float = 0.0, *args: str) -> None:
        super().__init__(ports, "--latency", str(latency), "--link-setup", str(link_setup), *args)
        self._states: list[str] = []          # the daemons' temp dirs, removed by stop()

    def daemon(self, *extra: str, head: str = "") -> Daemon:
        state = tempfile.mkdtemp(prefix="smsd-bench-")
        self._states.append(state)
        return self.serial_daemon(state, *extra, head=head)

    def stop(self) -> None:
        super().stop()
        for state in self._states:            # the daemons are stopped before the board
            shutil.rmtree(state, ignore_errors=True)
