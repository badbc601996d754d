"""SQLite plumbing: one connection per thread, short write transactions, after-commit hooks.

Why a process-wide write lock on top of SQLite's own: SQLite resolves writer contention by
sleeping in its busy handler (1, 2, 5, 10 ms ...), which wrecks latency when 32 modem threads
and the HTTP threads all commit small transactions. Queuing on a Python lock hands the database
over the moment the previous commit returns. `busy_timeout` still covers other processes
(tools, a second reader) touching the file.

Durability: WAL with synchronous=FULL, so a commit is on disk when `write()` returns; the API
answers "accepted" only after that.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from importlib import resources
from typing import Callable, Iterator

SCHEMA = resources.files("smsd.store").joinpath("schema.sql").read_text(encoding="utf-8")


class Database:
    def __init__(self, path: str, *, synchronous: str = "FULL", busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self._sync = synchronous
        self._busy_ms = busy_timeout_ms
        self._local = threading.local()
        self._lock = threading.RLock()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self.conn().executescript(SCHEMA)

    # --- connections ----------------------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: each bare statement is its own snapshot)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=self._busy_ms / 1000)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._sync}")
        conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        conn.execute("PRAGMA cache_size=-16000")
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def relax_this_thread(self) -> None:
        """Commits of the calling thread stop waiting for fsync (WAL keeps them consistent).

        Only for threads whose writes may be lost in a power cut without breaking a promise."""
        self.conn().execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # --- transactions ---------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls on one thread join the outer one."""
        local = self._local
        conn = self.conn()
        if getattr(local, "depth", 0):
            local.depth += 1
            try:
                yield conn
            finally:
                local.depth -= 1
            return
        with self._lock:
            hooks = self._begin(local, conn)
            try:
                yield conn
            except BaseException:
                self._end(local, conn, "ROLLBACK")
                raise
            self._end(local, conn, "COMMIT")
        for hook in hooks:
            hook()

    def _begin(self, local: threading.local, conn: sqlite3.Connection) -> list[Callable[[], None]]:
        conn.execute("BEGIN IMMEDIATE")
        local.depth = 1
        local.hooks = []
        hooks: list[Callable[[], None]] = local.hooks
        return hooks

    @staticmethod
    def _end(local: threading.local, conn: sqlite3.Connection, verb: str) -> None:
        local.depth = 0
        if verb == "ROLLBACK":
            local.hooks = []
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return
        conn.execute("COMMIT")

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` once the current write transaction has committed (now if there is none)."""
        if getattr(self._local, "depth", 0):
            self._local.hooks.append(hook)
        else:
            hook()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A consistent read over several statements (joins a write transaction if in one)."""
        conn = self.conn()
        if getattr(self._local, "depth", 0) or conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")
