"""The store's shared connections (smsd/store/sqlite.py): many threads, a few connections.

What must hold with one writer connection and READERS shared read connections instead of one
connection per thread: the number of open connections stays bounded whatever the number of
threads (issue 20: ~50 threads on a 32-port board); a thread's bare read right after its own
commit sees that commit, even while other threads read and hold snapshots; a snapshot is a
consistent view for its whole block; and a thread's relaxed durability applies to its own
commits only."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from smsd.store.sqlite import READERS, Database

THREADS = 40


def open_db(tmp_path: Path) -> Database:
    db = Database(str(tmp_path / "pool.db"), migrations=[])
    with db.write() as conn:
        conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    return db


def db_file_handles(path: str) -> int:
    """Open file descriptors of this process on the database file itself (one per connection)."""
    fd_dir = "/proc/self/fd"
    count = 0
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) == path:
                count += 1
        except OSError:
            continue                  # closed since listdir
    return count


def run_threads(target: object, n: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrap(i: int) -> None:
        try:
            target(i)  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a store thread hung (deadlock?)"
    return errors


def test_many_threads_share_a_few_connections_and_read_their_own_writes(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    path = str(tmp_path / "pool.db")
    during: list[int] = []

    def work(i: int) -> None:
        for v in range(30):
            with db.write() as conn:
                conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (f"t{i}", v))
            # The very next bare read, on whichever shared connection, sees that commit.
            row = db.conn().execute("SELECT v FROM kv WHERE k = ?", (f"t{i}",)).fetchone()
            assert row is not None and row[0] == v, (i, v, row)
            # Another thread's long read keeps a reader busy meanwhile.
            assert len(db.conn().execute("SELECT * FROM kv").fetchall()) >= 1
        during.append(db_file_handles(path))
    try:
        assert run_threads(work, THREADS) == []
        assert max(during) <= READERS + 1, during      # not one per thread (40)
        assert db.conn().execute("SELECT count(*) FROM kv").fetchone()[0] == THREADS
    finally:
        db.close()
    assert db_file_handles(path) == 0


def test_a_snapshot_stays_consistent_while_others_commit_and_read(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    inside = threading.Event()
    committed = threading.Event()
    seen: list[int] = []

    def holder() -> None:
        with db.snapshot() as conn:
            seen.append(conn.execute("SELECT count(*) FROM kv").fetchone()[0])
            inside.set()
            assert committed.wait(30), "the writer never committed"
            # A bare conn() inside the snapshot is the snapshot's connection: the same view.
            seen.append(db.conn().execute("SELECT count(*) FROM kv").fetchone()[0])
        seen.append(db.conn().execute("SELECT count(*) FROM kv").fetchone()[0])

    def writer() -> None:
        assert inside.wait(30), "the snapshot never began"
        for i in range(5):
            with db.write() as conn:
                conn.execute("INSERT INTO kv VALUES (?, ?)", (f"w{i}", i))
            # Reads outside the snapshot go on (another connection) and see the new rows.
            assert db.conn().execute("SELECT count(*) FROM kv").fetchone()[0] == i + 1
        committed.set()
    try:
        t = threading.Thread(target=holder)
        t.start()
        assert run_threads(lambda _i: writer(), 1) == []
        t.join(30)
        assert not t.is_alive()
        assert seen == [0, 0, 5]
    finally:
        db.close()


def test_every_reader_held_by_a_snapshot_makes_bare_reads_wait_not_fail(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    holding = threading.Barrier(READERS + 1)
    release = threading.Event()

    def hold(_i: int) -> None:
        with db.snapshot() as conn:
            conn.execute("SELECT count(*) FROM kv").fetchone()
            holding.wait(30)
            assert release.wait(30)
    got: list[int] = []

    def read() -> None:
        got.append(db.conn().execute("SELECT count(*) FROM kv").fetchone()[0])
    try:
        holders = [threading.Thread(target=hold, args=(i,)) for i in range(READERS)]
        for t in holders:
            t.start()
        holding.wait(30)
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(0.3)
        assert reader.is_alive() and got == []   # queued behind a snapshot, not an error
        with db.write() as conn:                 # the writer is never held up by readers
            conn.execute("INSERT INTO kv VALUES ('x', 1)")
        release.set()
        reader.join(30)
        for t in holders:
            t.join(30)
        assert got == [1]
    finally:
        release.set()
        db.close()


def test_a_relaxed_thread_commits_without_fsync_and_others_still_with_it(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    levels: dict[str, int] = {}

    def commit(name: str, relax: bool) -> None:
        if relax:
            db.relax_this_thread()
        with db.write() as conn:
            conn.execute("INSERT INTO kv VALUES (?, 1)", (name,))
            levels[name] = conn.execute("PRAGMA synchronous").fetchone()[0]
    try:
        for name, relax in (("strict1", False), ("relaxed", True), ("strict2", False)):
            t = threading.Thread(target=commit, args=(name, relax))
            t.start()
            t.join(30)
        # 2 = FULL, 1 = NORMAL: the one writer connection takes each thread's own level.
        assert levels == {"strict1": 2, "relaxed": 1, "strict2": 2}
    finally:
        db.close()


def test_group_commit_and_failing_calls_keep_their_semantics(tmp_path: Path) -> None:
    db = open_db(tmp_path)

    def insert(i: int) -> None:
        def fn() -> int:
            with db.write() as conn:
                conn.execute("INSERT INTO kv VALUES (?, ?)", (f"g{i}", i))
                if i % 7 == 0:
                    raise ValueError(i)      # rolls back this call alone
            return i
        try:
            assert db.grouped(fn) == i
        except ValueError:
            assert i % 7 == 0
    try:
        assert run_threads(insert, THREADS) == []
        keys = {r[0] for r in db.conn().execute("SELECT k FROM kv")}
        assert keys == {f"g{i}" for i in range(THREADS) if i % 7}
    finally:
        db.close()
