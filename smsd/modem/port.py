"""The serial port: the only module that touches pyserial.

Reads wait in select() on the tty and on a wake-up pipe, so a worker blocked on a quiet modem
returns at once when a job is submitted: no polling interval adds to the latency of a send.

pyserial opens and configures the tty (and waits for room on a full one); the bytes of the
hot path go through the descriptor it opened (non-blocking) with one os.read / os.write each:
pyserial's read() selects again, builds timeout objects and asks the kernel how much is waiting
on every call, which was most of a worker's CPU per part on a busy board.
"""
from __future__ import annotations

import os
import select
from typing import Any

import serial

from smsd.errors import PortUnavailable

READ_MAX = 4096     # bytes taken per read: more than a modem prints between two of our reads


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
        fd = self._fd()
        wake_fd = -1 if waker is None else waker.fileno()
        try:
            ready, _, _ = select.select((fd,) if waker is None else (fd, wake_fd), (), (),
                                        max(0.0, timeout))
            if waker is not None and wake_fd in ready:
                waker.drain()
            if fd not in ready:
                return b""
            data = os.read(fd, READ_MAX)
        except BlockingIOError:
            return b""          # readiness without bytes (another reader, a signal): none yet
        except (OSError, ValueError, TypeError) as exc:
            raise PortUnavailable(f"{self.device}: {exc}") from exc
        if not data:
            # Readable yet empty: the device went away (a USB modem unplugged), as pyserial says.
            raise PortUnavailable(f"{self.device}: device reports readiness to read but "
                                  "returned no data (device disconnected?)")
        return data

    def write(self, data: bytes) -> None:
        handle, fd = self._handle(), self._fd()
        try:
            try:
                done = os.write(fd, data)          # a command or a PDU fits the tty's buffer
            except BlockingIOError:
                done = 0
            if done < len(data):
                handle.write(data[done:])          # pyserial waits for room (write_timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortUnavailable(f"{self.device}: {exc}") from exc

    def _fd(self) -> int:
        fd = self._handle().fd
        if fd is None:
            raise PortUnavailable(f"{self.device}: not open")
        return int(fd)

    def _handle(self) -> serial.Serial:
        if self._serial is None:
            raise PortUnavailable(f"{self.device}: not open")
        return self._serial
