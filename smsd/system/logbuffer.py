"""The daemon's last log lines in memory, for the System page (journald keeps the full log).

`LogBuffer` is a logging.Handler keeping the newest `capacity` records as short tuples in a
deque: memory stays bounded however chatty a port gets, and nothing is written to the flash.
The daemon installs one on the root logger at start (`install()`).
"""
from __future__ import annotations

import collections
import logging
import threading
from typing import NamedTuple

from smsd.system.logsetup import scrub

CAPACITY = 2000
MAX_MESSAGE = 2000           # a record longer than this (a traceback) is cut
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LogLine(NamedTuple):
    """One kept record (a named tuple: made per log record, at a third of a frozen
    dataclass's cost)."""

    created: float
    level: str
    name: str
    message: str


class LogBuffer(logging.Handler):
    def __init__(self, capacity: int = CAPACITY) -> None:
        super().__init__(level=logging.DEBUG)
        self._lines: collections.deque[LogLine] = collections.deque(maxlen=capacity)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        except Exception:  # noqa: BLE001 - a bad format string must not break logging
            message = str(record.msg)
        # The System page shows these: no passwords or secrets (logsetup.py)
        line = LogLine(record.created, record.levelname, record.name,
                       scrub(message)[:MAX_MESSAGE])
        with self._guard:
            self._lines.append(line)

    def lines(self, *, level: str = "DEBUG", limit: int = 200) -> list[LogLine]:
        """The newest `limit` lines at `level` or above, oldest first."""
        floor = logging.getLevelName(level) if level in LEVELS else logging.DEBUG
        with self._guard:
            found = [ln for ln in self._lines if logging.getLevelName(ln.level) >= floor]
        return found[-limit:] if limit > 0 else []


_installed: LogBuffer | None = None


def install(capacity: int = CAPACITY) -> LogBuffer:
    """The process's buffer on the root logger (once; later calls return the same)."""
    global _installed
    if _installed is None:
        _installed = LogBuffer(capacity)
        logging.getLogger().addHandler(_installed)
    return _installed
