"""A small AT client over pyserial for the simulator tests, plus tests of the board itself.

The client reads the real bytes the simulated modems write to their ptys; it never looks inside
the simulator.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import pytest
import serial

from smsd.errors import ConfigError
from smsd.sim import SimBoard

LATENCY = 0.02
FINALS = ("OK", "ERROR", "+CME ERROR:", "+CMS ERROR:")


class AtClient:
    def __init__(self, path: str, timeout: float = 3.0) -> None:
        self.ser = serial.Serial(path, 115200, timeout=0.01)
        self.raw = bytearray()
        self.timeout = timeout

    def close(self) -> None:
        self.ser.close()

    def write(self, data: bytes) -> None:
        self.ser.write(data)

    def _fill(self) -> bool:
        data = self.ser.read(self.ser.in_waiting or 1)
        self.raw += data
        return bool(data)

    def read_until(self, marker: bytes, timeout: float | None = None) -> bytes:
        """Everything up to and including `marker`; AssertionError on timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while marker not in self.raw:
            assert time.monotonic() < deadline, f"no {marker!r} in {bytes(self.raw)!r}"
            self._fill()
        end = self.raw.index(marker) + len(marker)
        out = bytes(self.raw[:end])
        del self.raw[:end]
        return out

    def line(self, timeout: float | None = None) -> str:
        """The next non-empty line (echo included, as the modem sent it)."""
        while True:
            text = self.read_until(b"\r\n", timeout).decode("latin-1").strip()
            if text:
                return text

    def cmd(self, command: str, timeout: float | None = None) -> list[str]:
        """Send a command; return every line up to and including the final result code."""
        self.write(command.encode("latin-1") + b"\r")
        return self.until_final(timeout)

    def until_final(self, timeout: float | None = None) -> list[str]:
        lines = []
        while True:
            lines.append(self.line(timeout))
            if lines[-1].startswith(FINALS):
                return lines

    def expect(self, prefix: str, timeout: float | None = None) -> str:
        """Skip lines until one starts with `prefix`."""
        while True:
            text = self.line(timeout)
            if text.startswith(prefix):
                return text

    def silent_for(self, seconds: float) -> bool:
        """True when nothing at all arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.raw or self._fill():
                return False
        return True

    def init(self) -> None:
        """What the daemon's worker does first: no echo, numeric errors, PDU mode, URCs on."""
        for command in ("ATE0", "AT+CMEE=1", "AT+CMGF=0", "AT+CNMI=2,1,0,1,0", "AT+CREG=1"):
            assert self.cmd(command)[-1] == "OK", command


@pytest.fixture
def board() -> Iterator[SimBoard]:
    with SimBoard(ports=2, slots=2, latency=LATENCY, profile="mixed", seed=7) as b:
        yield b


@pytest.fixture
def clients(board: SimBoard) -> Iterator[list[AtClient]]:
    opened = [AtClient(board.device(p)) for p in range(board.ports)]
    yield opened
    for c in opened:
        c.close()


# --- tests of the board ---------------------------------------------------------------------------
def test_one_thread_serves_all_32_ports() -> None:
    before = threading.active_count()
    with SimBoard(ports=32, latency=LATENCY) as big:
        assert threading.active_count() == before + 1
        last = AtClient(big.device(31))
        assert last.cmd("AT") == ["AT", "OK"]
        last.close()
    assert threading.active_count() == before


def test_every_port_and_sim_has_its_own_identity() -> None:
    b = SimBoard(ports=32, slots=4, seed=3)
    numbers = {b.sim_number(p, s) for p in range(32) for s in range(4)}
    imsis = {b.sim_identity(p, s).imsi for p in range(32) for s in range(4)}
    assert len(numbers) == len(imsis) == 128
    assert len({b.imei(p) for p in range(32)}) == 32
    assert all(n.startswith("+4479") and not n.endswith(("0000", "9999")) for n in numbers)
    assert SimBoard(ports=32, slots=4, seed=3).sim_number(5, 2) == b.sim_number(5, 2)
    assert SimBoard(ports=32, slots=4, seed=4).sim_number(5, 2) != b.sim_number(5, 2)


@pytest.mark.parametrize("kwargs", [{"ports": 0}, {"ports": 33}, {"slots": 5},
                                    {"profile": "huawei"}, {"latency": -1}])
def test_rejects_impossible_boards(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SimBoard(**kwargs)  # type: ignore[arg-type]


def test_simple_commands_answer_without_delay(
        clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    samples = []
    for _ in range(50):
        start = time.perf_counter()
        assert c.cmd("AT+CSQ")[-1] == "OK"
        samples.append(time.perf_counter() - start)
    # The round trip includes pyserial and two pty hops (about 0.2 ms on an idle machine); the
    # bound is loose because the test machine is shared, but a timer or thread hop would break it.
    assert statistics.median(samples) < 0.01
