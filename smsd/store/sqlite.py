"""SQLite plumbing: a few shared connections, short write transactions, after-commit hooks.

Why not one connection per thread: each connection keeps its own parsed copy of the schema and
its prepared statements (~140-170 KB), and a 32-port board has ~50 threads that touch the store:
~8 MB of a box with ~100 MB in all (issue 20). Instead the process has one writer connection,
used by whichever thread holds the write lock (there is only ever one writer), and up to READERS
read connections shared by every thread. A bare `conn().execute()` on a read connection runs
under that connection's lock and fetches all its rows before it returns, so each bare statement
is still its own snapshot, started after the caller's own previous commit (it sees its own
writes); `snapshot()` holds one read connection for the whole of its block.

Why a process-wide write lock on top of SQLite's own: SQLite resolves writer contention by
sleeping in its busy handler (1, 2, 5, 10 ms ...), which wrecks latency when 32 modem threads
and the HTTP threads all commit small transactions. Queuing on a Python lock hands the database
over the moment the previous commit returns. `busy_timeout` still covers other processes
(tools, a second reader) touching the file.

Durability: WAL with synchronous=FULL, so a commit is on disk when `write()` returns; the API
answers "accepted" only after that.
"""
from __future__ import annotations

import _thread
import logging
import os
import queue
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence, TypeVar

from smsd.store import migrate

T = TypeVar("T")
C = TypeVar("C", bound=sqlite3.Connection)
GROUP_MAX = 256           # calls per shared transaction

log = logging.getLogger("smsd.store")


CACHE_KIB = 1024     # page cache per connection
READERS = 3          # read connections shared by every thread: one core reads at a time anyway
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
        self._writer: sqlite3.Connection | None = None
        self._writer_sync = synchronous
        self._readers: list[_SharedReader] = []
        self._turn = 0                      # round robin among busy readers
        self._conns_lock = threading.Lock()
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._queued = 0                  # calls handed to the committer and not yet finished
        self._queued_lock = threading.Lock()
        self._committer: threading.Thread | None = None
        try:
            with self._lock:
                migrate.upgrade(self._writer_conn(), path, migrations)
        except BaseException:
            self.close()
            raise

    # --- connections ----------------------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        """The connection for this thread's statements: inside `write()` or `snapshot()` the one
        that block holds; otherwise a shared read connection in autocommit mode (each bare
        statement is its own snapshot; see the module's doc)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        return self._reader()

    def _reader(self) -> _SharedReader:
        """An idle read connection if there is one, a new one while there are fewer than
        READERS, else the next in turn (its lock queues this thread behind the statement)."""
        with self._conns_lock:
            for reader in self._readers:
                if not reader.busy():
                    return reader
            if len(self._readers) < READERS:
                reader = self._open(_SharedReader)
                self._readers.append(reader)
                return reader
            self._turn = (self._turn + 1) % len(self._readers)
            return self._readers[self._turn]

    def _writer_conn(self) -> sqlite3.Connection:
        """The one writer connection; only the holder of the write lock uses it."""
        if self._writer is None:
            self._writer = self._open(sqlite3.Connection)
        return self._writer

    def _open(self, factory: type[C]) -> C:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=self._busy_ms / 1000, factory=factory)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._sync}")
        conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        # The hot set (queued parts, recent messages) is small; a bigger cache would only grow.
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        return conn

    def relax_this_thread(self) -> None:
        """Commits of the calling thread stop waiting for fsync (WAL keeps them consistent).

        Only for threads whose writes may be lost in a power cut without breaking a promise."""
        self._local.sync = "NORMAL"

    def close(self) -> None:
        if self._committer is not None:
            self._calls.put(None)
            self._committer.join(5)
            self._committer = None
        with self._lock, self._conns_lock:
            conns: list[sqlite3.Connection] = list(self._readers)
            if self._writer is not None:
                conns.append(self._writer)
            self._readers, self._writer = [], None
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # --- transactions ---------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls on one thread join the outer one."""
        local = self._local
        if getattr(local, "depth", 0):
            conn = self.conn()
            local.depth += 1
            try:
                yield conn
            finally:
                local.depth -= 1
            return
        with self._lock:
            conn = self._writer_conn()
            self._set_sync(conn, getattr(local, "sync", self._sync))
            outer = getattr(local, "conn", None)
            local.conn = conn
            try:
                hooks = self._begin(local, conn)
                try:
                    yield conn
                except BaseException:
                    self._end(local, conn, "ROLLBACK")
                    raise
                self._end(local, conn, "COMMIT")
            finally:
                local.conn = outer
        for hook in hooks:
            try:
                hook()
            except Exception:   # noqa: BLE001 - the data is committed; a hook must not undo that
                log.exception("after-commit hook failed")

    def _set_sync(self, conn: sqlite3.Connection, sync: str) -> None:
        """The writer takes the synchronous level of the thread about to write (write lock held)."""
        if sync != self._writer_sync:
            conn.execute(f"PRAGMA synchronous={sync}")
            self._writer_sync = sync

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
        local = self._local
        held: sqlite3.Connection | None = getattr(local, "conn", None)
        if held is not None:
            yield held
            return
        reader = self._reader()
        with reader.held():
            if reader.in_transaction:     # someone began one by hand on it: join it, as before
                yield reader
                return
            local.conn = reader
            reader.execute("BEGIN")
            try:
                yield reader
            finally:
                local.conn = None
                reader.execute("COMMIT")

    # --- group commit ---------------------------------------------------------------------------
    def grouped(self, fn: Callable[[], T], *, behind_queued: bool = True) -> T:
        """Run `fn` (which writes through `write()`) in a transaction shared with concurrent
        callers, on the committer thread; return its result once that transaction committed.

        Why: with many threads committing tiny transactions (32 modem workers, HTTP intake) the
        fsync per commit is the bottleneck; one fsync for a whole group costs the same. Each call
        runs inside its own SAVEPOINT, so one failing call does not spoil its neighbours. When no
        one is writing, the caller runs `fn` itself at once (a thread handoff would only add
        latency); groups form exactly when there is contention.
        `behind_queued=False`: the caller knows that no queued call must commit before its own
        (Outbox.part_starting when its port has no result waiting) and may then run at once
        whenever nobody is writing, even with other calls queued."""
        if getattr(self._local, "depth", 0):
            return fn()                   # already inside a transaction: just join it
        # Nobody writing and nothing queued: a handoff would only cost. (Queued calls must not
        # be overtaken: a worker's part_starting must not commit before its previous result.)
        if (not behind_queued or not self._queued) and self._lock.acquire(blocking=False):
            try:
                return fn()
            finally:
                self._lock.release()
        call = _Call(fn, waited=True)
        self._enqueue(call)
        call.wait()
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
            # Most often a caller is committing by itself (grouped's fast path) or a worker is
            # writing: wait until that writer is done before draining the queue, so that the
            # calls queued meanwhile share this group's fsync instead of waiting for the next
            # one. (Only a heuristic: nothing relies on still holding the lock below.)
            with self._lock:
                pass
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
            call.finish()
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
    """One call handed to the committer. A waiting caller blocks on a bare lock that is taken
    when the call is made and released by the committer once the group committed: the cheapest
    wait the threading module offers (an Event builds a Condition and a waiter lock per call and
    notifies through them; each request paid that). A post()ed call has no waiter and no lock."""

    __slots__ = ("fn", "then", "result", "error", "_done")

    def __init__(self, fn: Callable[[], Any],
                 then: Callable[[Any, BaseException | None], None] | None = None, *,
                 waited: bool = False) -> None:
        self.fn = fn
        self.then = then
        self.result: Any = None
        self.error: BaseException | None = None
        self._done: _thread.LockType | None = None
        if waited:
            self._done = _thread.allocate_lock()
            self._done.acquire()

    def wait(self) -> None:
        """Until the committer has finished the call (its group committed or failed)."""
        assert self._done is not None
        self._done.acquire()

    def finish(self) -> None:
        if self._done is not None:
            self._done.release()


class _SharedReader(sqlite3.Connection):
    """A read connection shared by threads: each `execute` runs under its lock and fetches all
    rows at once, so two threads' statements never interleave on it (one's implicit read
    transaction would otherwise hand the other an older snapshot than its own last commit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()
        self._users = 0

    def busy(self) -> bool:
        return self._users > 0

    @contextmanager
    def held(self) -> Iterator[None]:
        """This thread alone uses the connection for the block (others queue on its lock)."""
        with self.lock:
            self._users += 1
            try:
                yield
            finally:
                self._users -= 1

    def execute(self, sql: str, parameters: Any = (), /) -> _Rows:  # type: ignore[override]
        with self.lock:           # as held(), without a generator per statement: the hot path
            self._users += 1
            try:
                cur = super().execute(sql, parameters)
                return _Rows(cur.fetchall(), cur)
            finally:
                self._users -= 1


class _Rows:
    """A statement's rows, already fetched; reads like the cursor it came from."""

    def __init__(self, rows: list[Any], cur: sqlite3.Cursor) -> None:
        self._rows = rows
        self._at = 0
        self._cur = cur

    def fetchone(self) -> Any:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchmany(self, size: int = 1) -> list[Any]:
        part = self._rows[self._at:self._at + size]
        self._at += len(part)
        return part

    def fetchall(self) -> list[Any]:
        rest = self._rows[self._at:]
        self._at = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def lastrowid(self) -> int | None:
        return self._cur.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def description(self) -> Sequence[Any] | None:
        return self._cur.description
