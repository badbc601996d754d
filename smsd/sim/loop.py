"""The simulator's single event loop: one thread for the whole board.

Theory of operation: every pty master is registered in one selector; delayed answers, URCs and
delivery reports are timers in one heap. The thread sleeps in `select()` until a master is
readable/writable, the earliest timer is due, or another thread wakes it through a pipe (after
scheduling a timer from the board's public API). All simulator state is touched only while holding
`lock`, so the public API (called from test or daemon threads) and the loop never race. Output is
written non-blocking; what the pty cannot take now stays in a per-fd buffer, capped like a UART
FIFO that overflows when nobody reads.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import os
import selectors
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

OUTPUT_CAP = 64 * 1024          # bytes kept per pty while nobody reads; older output is dropped
MAX_SLEEP = 1.0                 # re-check timers at least this often (an injected clock may jump)
MS = 0.001                      # epoll's unit of time


class Timer:
    __slots__ = ("when", "fn", "cancelled")

    def __init__(self, when: float, fn: Callable[[], None]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Loop:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._sel = selectors.DefaultSelector()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._out: dict[int, bytearray] = {}
        self._readers: dict[int, Callable[[bytes], None]] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ)
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- scheduling ------------------------------------------------------------------------------
    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(self.clock() + max(0.0, delay), fn)
        with self.lock:
            heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        if threading.current_thread() is not self._thread:
            self.wake()
        return timer

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"w")
        except BlockingIOError:
            pass                            # a wake-up is already pending

    # --- I/O ---------------------------------------------------------------------------------------
    def add_reader(self, fd: int, on_data: Callable[[bytes], None]) -> None:
        os.set_blocking(fd, False)
        self._readers[fd] = on_data
        self._out[fd] = bytearray()
        self._sel.register(fd, selectors.EVENT_READ)

    def remove_reader(self, fd: int) -> None:
        """Forget a descriptor (its pty went away); call on the loop thread, before closing it."""
        if self._readers.pop(fd, None) is not None:
            self._out.pop(fd, None)
            self._sel.unregister(fd)

    def write(self, fd: int, data: bytes) -> None:
        buf = self._out.get(fd)
        if buf is None:
            return
        buf += data
        if len(buf) > OUTPUT_CAP:
            del buf[: len(buf) - OUTPUT_CAP]
        self._flush(fd)

    def _flush(self, fd: int) -> None:
        buf = self._out.get(fd)
        if buf is None:
            return
        try:
            while buf:
                n = os.write(fd, buf)
                del buf[:n]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:          # the pty went away; drop what cannot be written
            log.debug("sim: write to fd %d failed: %s", fd, exc)
            buf.clear()
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if buf else 0)
        if self._sel.get_key(fd).events != events:
            self._sel.modify(fd, events)

    # --- the thread --------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-board", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sel.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        while not self._stopping:
            events = self._sel.select(self._wait())
            with self.lock:
                for key, mask in events:
                    self._handle(int(key.fd), mask)
                self._run_due()

    def _timeout(self) -> float | None:
        with self.lock:
            if not self._heap:
                return None
            return min(MAX_SLEEP, max(0.0, self._heap[0][0] - self.clock()))

    def _wait(self) -> float | None:
        """How long select() may sleep. epoll counts whole milliseconds and Python rounds a
        timeout up to the next one, so a timer was served up to 1 ms late (a submit answered
        ~1.4 ms after its `latency` on average, measured from the parts table: half a percent
        of a 250 ms submit, charged to the daemon by bench/dispatch.py). Now select() sleeps
        the whole milliseconds only, and the last fraction is slept precisely."""
        timeout = self._timeout()
        if timeout is None or timeout >= MS:
            # (less a microsecond: a float such as 0.002 * 1e3 may ceil to 3 ms)
            return None if timeout is None else timeout // MS * MS - 1e-6
        if timeout > 0:
            time.sleep(timeout)         # less than 1 ms: the I/O waits no longer than that
        return 0.0

    def _handle(self, fd: int, mask: int) -> None:
        if fd == self._wake_r:
            _drain(fd)
            return
        if mask & selectors.EVENT_WRITE:
            self._flush(fd)
        if mask & selectors.EVENT_READ:
            data = _read(fd)
            reader = self._readers.get(fd)
            if data and reader is not None:
                self._call(lambda: reader(data))

    def _run_due(self) -> None:
        now = self.clock()
        while self._heap and self._heap[0][0] <= now:
            timer = heapq.heappop(self._heap)[2]
            if not timer.cancelled:
                self._call(timer.fn)

    @staticmethod
    def _call(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:               # one port's bug must not stop the whole board
            log.exception("sim: callback failed")


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except (BlockingIOError, InterruptedError):
        return b""
    except OSError:                     # EIO: no slave side open right now
        return b""


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass
