"""Backup and restore of the whole database, or of its configuration only, in a versioned format.

A backup is an SQLite file: a consistent online copy (SQLite's backup API) plus a small
`smsd_backup` table saying the backup format, the schema version and the smsd that wrote it,
and `PRAGMA application_id` = "SMSD" so that any other file is refused. Why SQLite rather than a
dump: the copy is taken page by page while the daemon runs, and a restore into a newer smsd is
just an open, i.e. the same migrations an upgrade runs (smsd/store/migrate.py).

Restore also takes a bare database file, e.g. the `smsd.db.pre-v<N>.bak` an upgrade left.
It is meant for a stopped daemon (`systemctl stop smsd`): a running one keeps counters and
caches of the old contents. The database it replaces is kept as `<db>.pre-restore.bak`.

A configuration backup (`kind` "config", format 2, so that an smsd that knows only whole backups
refuses it rather than taking it for one) is the same kind of file holding only CONFIG_TABLES:
users and their permissions, the address book, subscription lists, routing rules, port and SIM
settings, port groups and the installation settings, plus a reference to the HTTPS certificate
in use (its subject and fingerprint: the key never leaves the box). Every other table is emptied
and the file vacuumed, so no message, event or log of the box is in it. Restoring it replaces
those tables of the target database and leaves everything else (queue, inbox, history, the
target's serial number) as it was: it is how a second box, or a new one, gets the first one's
setup. The restored routes start from the target's newest event, as new routes do.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass

from smsd import __version__
from smsd.store import migrate

FORMAT = 1                    # of a whole-database backup; raise it when the layout above changes
CONFIG_FORMAT = 2             # of a configuration backup (an smsd reading only FORMAT refuses it)
APPLICATION_ID = 0x534D5344   # "SMSD"
INFO_TABLE = "smsd_backup"
PRE_RESTORE_SUFFIX = ".pre-restore.bak"
FULL, CONFIG = "full", "config"
# What a configuration backup carries. A table another smsd does not have is skipped.
CONFIG_TABLES = ("users", "user_inbound", "smpp_passwords", "contacts", "contact_groups",
                 "group_members", "subscriptions", "routes", "forward_rules", "outbound_rules",
                 "port_groups", "port_settings", "slot_settings", "settings",
                 "connections")
# Settings of the box itself, never carried to another one.
OWN_SETTINGS = ("sn",)


@dataclass(frozen=True)
class BackupInfo:
    format: int               # 0: a bare database file
    schema: int
    smsd: str                 # the version that wrote it ("" when unknown)
    created: float | None
    kind: str = FULL          # FULL: the whole database; CONFIG: its configuration only
    certificate: str = ""     # a configuration backup: the HTTPS certificate the box served


def write_backup(conn: sqlite3.Connection, dest: str, *, config_only: bool = False,
                 certificate: str = "") -> BackupInfo:
    """Copy `conn`'s database to `dest` as a backup file (written aside, then renamed); with
    `config_only`, its CONFIG_TABLES only, `certificate` naming the certificate in use."""
    tmp = dest + ".part"
    migrate.copy_database(conn, tmp)
    kind = CONFIG if config_only else FULL
    info = BackupInfo(CONFIG_FORMAT if config_only else FORMAT, migrate.user_version(conn),
                      __version__, time.time(), kind, certificate if config_only else "")
    out = sqlite3.connect(tmp, isolation_level=None)
    try:
        if config_only:
            _keep_config_only(out)
        out.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        out.execute(f"CREATE TABLE {INFO_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        out.executemany(f"INSERT INTO {INFO_TABLE} VALUES (?, ?)",
                        [("format", str(info.format)), ("schema", str(info.schema)),
                         ("smsd", info.smsd), ("created", repr(info.created)),
                         ("kind", info.kind), ("certificate", info.certificate)])
    finally:
        out.close()
    os.replace(tmp, dest)
    return info


def _keep_config_only(conn: sqlite3.Connection) -> None:
    """Empty every table but CONFIG_TABLES (and the box's own settings), then VACUUM: deleted
    rows would otherwise stay readable in the file's free pages."""
    for table in _tables(conn):
        if table not in CONFIG_TABLES:
            conn.execute(f'DELETE FROM "{table}"')
    conn.execute(f"DELETE FROM settings WHERE key IN ({_marks(OWN_SETTINGS)})", OWN_SETTINGS)
    conn.execute("VACUUM")


def _tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = "
                                       "'table' AND name NOT LIKE 'sqlite_%'")]


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


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
    if fmt > max(FORMAT, CONFIG_FORMAT):
        raise migrate.SchemaError(f"{path}: backup format {fmt} is newer than this smsd "
                                  f"{__version__} reads (format {FORMAT}); configuration "
                                  f"backups: format {CONFIG_FORMAT}")
    created = values.get("created")
    kind = values.get("kind", FULL)
    if kind not in (FULL, CONFIG):
        raise migrate.SchemaError(f"{path}: a backup of an unknown kind {kind!r}")
    return BackupInfo(fmt, schema, values.get("smsd", ""),
                      float(created) if created not in (None, "None") else None, kind,
                      values.get("certificate", ""))


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
        if info.kind == CONFIG:
            staged.close()
            _apply_config(tmp, db_path, steps)
        else:
            dest = sqlite3.connect(db_path)
            try:
                staged.backup(dest)      # page by page, honouring the live file's WAL and locks
            finally:
                dest.close()
    finally:
        staged.close()
        _unlink(tmp)
    return info


def _apply_config(staged: str, db_path: str, steps: list[migrate.Migration]) -> None:
    """Replace the configuration tables of the database at `db_path` (made or brought to the
    latest schema first) with the staged backup's, in one transaction."""
    dest = sqlite3.connect(db_path, isolation_level=None)
    try:
        migrate.upgrade(dest, db_path, steps, backup=False)
        dest.execute("ATTACH DATABASE ? AS cfg", (staged,))
        dest.execute("BEGIN IMMEDIATE")
        try:
            _copy_config(dest)
            dest.execute("COMMIT")
        except BaseException:
            dest.execute("ROLLBACK")
            raise
        dest.execute("DETACH DATABASE cfg")
    finally:
        dest.close()


def _copy_config(dest: sqlite3.Connection) -> None:
    theirs = set(_tables(dest, "cfg"))
    for table in CONFIG_TABLES:
        if table not in theirs or table not in _tables(dest):
            continue
        keep = f" WHERE key NOT IN ({_marks(OWN_SETTINGS)})" if table == "settings" else ""
        args = OWN_SETTINGS if keep else ()
        cols = ", ".join(f'"{c}"' for c in _columns(dest, "main", table)
                         if c in _columns(dest, "cfg", table))
        dest.execute(f'DELETE FROM main."{table}"{keep}', args)
        dest.execute(f'INSERT INTO main."{table}" ({cols}) SELECT {cols} FROM cfg."{table}"{keep}',
                     args)
    # The routes are new here: each starts from this box's newest event, as a new route does,
    # and the pushes the replaced routes had given up on go with them.
    tables = set(_tables(dest))
    if {"push_cursors", "routes", "events"} <= tables:
        dest.execute("DELETE FROM push_cursors WHERE target LIKE 'route:%'")
        dest.execute("INSERT INTO push_cursors(target, event_id) SELECT 'route:' || id, "
                     "(SELECT coalesce(max(id), 0) FROM events) FROM routes")
    if "push_failed" in tables:
        dest.execute("DELETE FROM push_failed WHERE target LIKE 'route:%'")


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f'PRAGMA {schema}.table_info("{table}")')]


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
