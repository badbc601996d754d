"""Backup and restore of the whole database, in a versioned format.

A backup is an SQLite file: a consistent online copy (SQLite's backup API) plus a small
`smsd_backup` table saying the backup format, the schema version and the smsd that wrote it,
and `PRAGMA application_id` = "SMSD" so that any other file is refused. Why SQLite rather than a
dump: the copy is taken page by page while the daemon runs, and a restore into a newer smsd is
just an open, i.e. the same migrations an upgrade runs (smsd/store/migrate.py).

Restore also takes a bare database file, e.g. the `smsd.db.pre-v<N>.bak` an upgrade left.
It is meant for a stopped daemon (`systemctl stop smsd`): a running one keeps counters and
caches of the old contents. The database it replaces is kept as `<db>.pre-restore.bak`.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass

from smsd import __version__
from smsd.store import migrate

FORMAT = 1                    # of the backup file; raise it when the layout above changes
APPLICATION_ID = 0x534D5344   # "SMSD"
INFO_TABLE = "smsd_backup"
PRE_RESTORE_SUFFIX = ".pre-restore.bak"


@dataclass(frozen=True)
class BackupInfo:
    format: int               # 0: a bare database file
    schema: int
    smsd: str                 # the version that wrote it ("" when unknown)
    created: float | None


def write_backup(conn: sqlite3.Connection, dest: str) -> BackupInfo:
    """Copy `conn`'s database to `dest` as a backup file (written aside, then renamed)."""
    tmp = dest + ".part"
    migrate.copy_database(conn, tmp)
    info = BackupInfo(FORMAT, migrate.user_version(conn), __version__, time.time())
    out = sqlite3.connect(tmp, isolation_level=None)
    try:
        out.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        out.execute(f"CREATE TABLE {INFO_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        out.executemany(f"INSERT INTO {INFO_TABLE} VALUES (?, ?)",
                        [("format", str(info.format)), ("schema", str(info.schema)),
                         ("smsd", info.smsd), ("created", repr(info.created))])
    finally:
        out.close()
    os.replace(tmp, dest)
    return info


def read_info(path: str) -> BackupInfo:
    """What `path` holds; SchemaError when it is not an smsd backup or database."""
    if not os.path.isfile(path):
        raise migrate.SchemaError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise migrate.SchemaError(f"{path}: cannot be opened: {exc}") from exc
    try:
        return _info(conn, path)
    except sqlite3.DatabaseError as exc:
        raise migrate.SchemaError(f"{path}: not an smsd backup ({exc})") from exc
    finally:
        conn.close()


def _info(conn: sqlite3.Connection, path: str) -> BackupInfo:
    app = int(conn.execute("PRAGMA application_id").fetchone()[0])
    schema = migrate.user_version(conn)
    if app != APPLICATION_ID:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app != 0 or not {"tasks", "messages", "users"} <= names:
            raise migrate.SchemaError(f"{path}: not an smsd backup or database")
        return BackupInfo(0, schema, "", None)
    values = dict(conn.execute(f"SELECT key, value FROM {INFO_TABLE}").fetchall())
    fmt = int(values.get("format", "0"))
    if fmt > FORMAT:
        raise migrate.SchemaError(f"{path}: backup format {fmt} is newer than this smsd "
                                  f"{__version__} reads (format {FORMAT})")
    created = values.get("created")
    return BackupInfo(fmt, schema, values.get("smsd", ""),
                      float(created) if created not in (None, "None") else None)


def restore(src: str, db_path: str,
            migrations: list[migrate.Migration] | None = None) -> BackupInfo:
    """Replace the database at `db_path` with the backup `src`, migrated to this code's schema.

    The backup is copied and migrated aside first, so a backup that cannot be used (too new, a
    migration failing) leaves the database as it was."""
    info = read_info(src)
    steps = migrations if migrations is not None else migrate.load()
    if info.schema > len(steps):
        raise migrate.SchemaError(
            f"{src}: the backup has schema version {info.schema}, newer than this smsd "
            f"{__version__} knows (schema version {len(steps)}); restore it with that smsd")
    tmp = db_path + ".restore.tmp"
    staged = _stage(src, tmp, steps)
    try:
        if os.path.exists(db_path):
            with sqlite3.connect(db_path) as current:
                migrate.copy_database(current, db_path + PRE_RESTORE_SUFFIX)
        dest = sqlite3.connect(db_path)
        try:
            staged.backup(dest)      # page by page, honouring the live file's WAL and locks
        finally:
            dest.close()
    finally:
        staged.close()
        _unlink(tmp)
    return info


def _stage(src: str, tmp: str, steps: list[migrate.Migration]) -> sqlite3.Connection:
    """`src` copied to `tmp`, without the backup's own marks, migrated to the latest version."""
    _unlink(tmp)
    staged = sqlite3.connect(tmp, isolation_level=None)
    try:
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        try:
            source.backup(staged)
        finally:
            source.close()
        staged.execute(f"DROP TABLE IF EXISTS {INFO_TABLE}")
        staged.execute("PRAGMA application_id = 0")
        migrate.upgrade(staged, src, steps, backup=False)
    except BaseException:
        staged.close()
        _unlink(tmp)
        raise
    return staged


def _unlink(path: str) -> None:
    for p in (path, path + "-journal", path + "-wal", path + "-shm"):
        if os.path.exists(p):
            os.unlink(p)
