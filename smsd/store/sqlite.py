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

import logging
import os
import queue
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from smsd.store import migrate

T = TypeVar("T")
GROUP_MAX = 256           # calls per shared transaction

log = logging.getLogger("smsd.store")


CACHE_KIB = 1024     # page cache per connection
PRIVATE = 0o600      # the file holds password hashes (and Digest HA1s) and every message


def make_private(path: str) -> None:
    """Create the database file owner-only if it is missing (SQLite gives its -wal and -shm
    files the database file's mode), and take group and other access away from the files an
    older smsd made 0644. Whatever the process umask is."""
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except OSError:
        pass                         # there already, or cannot be: sqlite3 says what is wrong
    for name in (path, path + "-wal", path + "-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, PRIVATE)
        except FileNotFoundError:
            continue
        except PermissionError:      # another user's file (made by root, say): theirs to fix
            log.warning("%s: cannot make it private (mode 0600): not our file", name)


class Database:
    def __init__(self, path: str, *, synchronous: str = "FULL", busy_timeout_ms: int = 10_000,
                 migrations: list[migrate.Migration] | None = None) -> None:
        """Open (or create) the database and bring its schema to the latest version (see
        smsd/store/migrate.py); `migrations` replaces the package's list in tests."""
        self.path = path
        make_private(path)
        self._sync = synchronous
        self._busy_ms = busy_timeout_ms
        self._local = threading.local()
        self._lock = threading.RLock()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._queued = 0                  # calls handed to the committer and not yet finished
        self._queued_lock = threading.Lock()
        self._committer: threading.Thread | None = None
        try:
            migrate.upgrade(self.conn(), path, migrations)
        except BaseException:
            self.close()
            raise

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
        # One connection per thread and ~35 threads on a 32-port board: a 16 MB cache each could
        # grow the daemon by hundreds of MB. The hot set (queued parts, recent messages) is small.
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def relax_this_thread(self) -> None:
        """Commits of the calling thread stop waiting for fsync (WAL keeps them consistent).

        Only for threads whose writes may be lost in a power cut without breaking a promise."""
        self.conn().execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        if self._committer is not None:
            self._calls.put(None)
            self._committer.join(5)
            self._committer = None
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
            try:
                hook()
            except Exception:   # noqa: BLE001 - the data is committed; a hook must not undo that
                log.exception("after-commit hook failed")

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
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:       # e.g. an I/O error: leave the connection usable
                conn.execute("ROLLBACK")
            raise

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

    # --- group commit ---------------------------------------------------------------------------
    def grouped(self, fn: Callable[[], T]) -> T:
        """Run `fn` (which writes through `write()`) in a transaction shared with concurrent
        callers, on the committer thread; return its result once that transaction committed.

        Why: with many threads committing tiny transactions (32 modem workers, HTTP intake) the
        fsync per commit is the bottleneck; one fsync for a whole group costs the same. Each call
        runs inside its own SAVEPOINT, so one failing call does not spoil its neighbours. When no
        one is writing, the caller runs `fn` itself at once (a thread handoff would only add
        latency); groups form exactly when there is contention."""
        if getattr(self._local, "depth", 0):
            return fn()                   # already inside a transaction: just join it
        # Nobody writing and nothing queued: a handoff would only cost. (Queued calls must not
        # be overtaken: a worker's part_starting must not commit before its previous result.)
        if not self._queued and self._lock.acquire(blocking=False):
            try:
                return fn()
            finally:
                self._lock.release()
        call = _Call(fn)
        self._enqueue(call)
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[no-any-return]

    def post(self, fn: Callable[[], T],
             then: Callable[[T | None, BaseException | None], None]) -> None:
        """Like grouped() but without waiting: `then(result, error)` runs on the committer
        thread after the group committed (or failed). For writes whose loss in a crash is
        already covered by recovery, so the caller need not wait for the disk."""
        self._enqueue(_Call(fn, then))

    def _enqueue(self, call: _Call) -> None:
        self._ensure_committer()
        with self._queued_lock:
            self._queued += 1
        self._calls.put(call)

    def _ensure_committer(self) -> None:
        if self._committer is None:
            with self._conns_lock:
                if self._committer is None:
                    self._committer = threading.Thread(target=self._commit_loop,
                                                       name="sqlite-committer", daemon=True)
                    self._committer.start()

    def _commit_loop(self) -> None:
        while True:
            first = self._calls.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < GROUP_MAX:
                try:
                    nxt = self._calls.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._calls.put(None)     # finish this group, then stop
                    break
                batch.append(nxt)
            self._run_group(batch)

    def _run_group(self, batch: list[_Call]) -> None:
        try:
            with self.write() as conn:
                for call in batch:
                    self._run_one(conn, call)
        except BaseException as exc:    # noqa: BLE001 - the commit itself failed: tell everyone
            for call in batch:
                call.error = call.error or exc
        with self._queued_lock:
            self._queued -= len(batch)
        for call in batch:
            call.done.set()
            if call.then is not None:
                try:
                    call.then(call.result, call.error)
                except Exception:   # noqa: BLE001 - the committer must outlive any callback
                    log.exception("after-commit callback failed")

    def _run_one(self, conn: sqlite3.Connection, call: _Call) -> None:
        hooks: list[Callable[[], None]] = self._local.hooks
        mark = len(hooks)
        conn.execute("SAVEPOINT grouped")
        try:
            call.result = call.fn()
        except BaseException as exc:    # noqa: BLE001 - handed back to the caller
            conn.execute("ROLLBACK TO grouped")
            del hooks[mark:]
            call.error = exc
        conn.execute("RELEASE grouped")


class _Call:
    __slots__ = ("fn", "then", "result", "error", "done")

    def __init__(self, fn: Callable[[], Any],
                 then: Callable[[Any, BaseException | None], None] | None = None) -> None:
        self.fn = fn
        self.then = then
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()
