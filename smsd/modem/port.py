"""The serial port: the only module that touches pyserial.

Reads wait in select() on the tty and on a wake-up pipe, so a worker blocked on a quiet modem
returns at once when a job is submitted: no polling interval adds to the latency of a send.
"""
from __future__ import annotations

import os
import select
from typing import Any

import serial

from smsd.errors import PortUnavailable


class Waker:
    """A self-pipe: any thread may `wake()`; the owner's read returns early."""

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()
        self._closed = False
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)

    def fileno(self) -> int:
        return self._read_fd

    def wake(self) -> None:
        if self._closed:
            return          # never write to a number the OS may have handed to another file
        try:
            os.write(self._write_fd, b"!")
        except OSError:
            pass  # a full pipe already means "wake up"; a closed one means nobody listens

    def drain(self) -> None:
        try:
            while os.read(self._read_fd, 4096):
                pass
        except BlockingIOError:
            pass

    def wait(self, timeout: float) -> None:
        """Block until woken or `timeout` passes (used while the port is closed)."""
        ready, _, _ = select.select([self._read_fd], [], [], max(0.0, timeout))
        if ready:
            self.drain()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._read_fd)
            os.close(self._write_fd)


class SerialPort:
    def __init__(self, device: str, baudrate: int = 115200) -> None:
        self.device = device
        self.baudrate = baudrate
        self._serial: serial.Serial | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        try:
            self._serial = serial.Serial(self.device, self.baudrate, timeout=0,
                                         write_timeout=10, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortUnavailable(f"{self.device}: {exc}") from exc

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                pass
            self._serial = None

    def reopen(self) -> None:
        self.close()
        self.open()

    def read(self, timeout: float, waker: Waker | None = None) -> bytes:
        """Whatever bytes arrive within `timeout` seconds (b"" on timeout or wake-up)."""
        handle = self._handle()
        watched: list[Any] = [handle] + ([waker] if waker else [])
        try:
            ready, _, _ = select.select(watched, [], [], max(0.0, timeout))
            if waker is not None and waker in ready:
                waker.drain()
            if handle not in ready:
                return b""
            return handle.read(max(1, handle.in_waiting))
        except (serial.SerialException, OSError, ValueError, TypeError) as exc:
            raise PortUnavailable(f"{self.device}: {exc}") from exc

    def write(self, data: bytes) -> None:
        try:
            self._handle().write(data)
        except (serial.SerialException, OSError) as exc:
            raise PortUnavailable(f"{self.device}: {exc}") from exc

    def _handle(self) -> serial.Serial:
        if self._serial is None:
            raise PortUnavailable(f"{self.device}: not open")
        return self._serial
