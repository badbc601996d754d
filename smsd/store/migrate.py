"""Schema versions: `PRAGMA user_version` says which migrations a database has had.

Version 1 is the schema of smsd v0.1.0 (migrations/0001_v0_1_0.sql); each later version is one
small file, migrations/NNNN_what.sql (statements) or NNNN_what.py (a `migrate(conn)` function),
applied in order. Why versions rather than `CREATE ... IF NOT EXISTS` at every open: a column
renamed, a table split or data rewritten cannot be expressed idempotently, and a database written
by a newer smsd must be refused rather than half understood.

Opening a database that is behind: first an online copy with SQLite's backup API next to it
(`smsd.db.pre-v<N>.bak`, only the latest kept), then every pending migration and the new
user_version in ONE transaction, so a failure leaves the file exactly as it was. v0.1.0 wrote
user_version 0 and made one index lazily; such a file is adopted as version 1 after checking
that its tables are v0.1.0's (`adopt_v0`).
"""
from __future__ import annotations

import glob
import importlib.util
import os
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Callable, Iterable, Iterator

from smsd import __version__
from smsd.errors import SmsdError

BACKUP_SUFFIX = ".pre-v{version}.bak"
LEGACY_INDEXES = ("parts_open", "messages_waiting")      # dropped by v0.1.0 at open
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sql|py)$")


class SchemaError(SmsdError):
    """The database cannot be used by this code (too new, not smsd's, or a migration failed).
    The message is one line meant for the operator."""


@dataclass(frozen=True)
class Migration:
    version: int                  # the user_version the database has after it
    name: str                     # file name, for messages
    run: Callable[[sqlite3.Connection], None]


# --- loading ----------------------------------------------------------------------------------
def load(directory: Traversable | Path | None = None) -> list[Migration]:
    """The migrations in `directory` (default: the package's), checked to be 1, 2, ... N."""
    folder = directory if directory is not None else resources.files("smsd.store") / "migrations"
    found = sorted((match.group(1), entry) for entry in folder.iterdir()
                   if (match := _NAME.match(entry.name)))
    migrations = [_migration(int(number), entry) for number, entry in found]
    for expected, m in enumerate(migrations, start=1):
        if m.version != expected:
            raise SchemaError(f"migration {m.name}: expected number {expected:04d} (gap or twin)")
    return migrations


def _migration(version: int, entry: Traversable | Path) -> Migration:
    if entry.name.endswith(".sql"):
        script = entry.read_text(encoding="utf-8")
        return Migration(version, entry.name, lambda conn: run_script(conn, script))
    spec = importlib.util.spec_from_file_location(f"smsd_migration_{version:04d}", str(entry))
    if spec is None or spec.loader is None:
        raise SchemaError(f"migration {entry.name}: cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    step: Callable[[sqlite3.Connection], None] = module.migrate
    return Migration(version, entry.name, step)


def statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, one by one. (`executescript` would COMMIT first, and
    a migration must run inside the caller's transaction.)"""
    start = 0
    for i, ch in enumerate(script):
        if ch == ";" and sqlite3.complete_statement(script[start:i + 1]):
            yield script[start:i + 1].strip()
            start = i + 1
    rest = "\n".join(line for line in script[start:].splitlines()
                     if line.strip() and not line.strip().startswith("--"))
    if rest:
        raise SchemaError(f"SQL script ends inside a statement: {rest[:60]!r}")


def run_script(conn: sqlite3.Connection, script: str) -> None:
    for statement in statements(script):
        conn.execute(statement)


def latest(migrations: list[Migration] | None = None) -> int:
    return len(migrations if migrations is not None else load())


# --- inspecting ---------------------------------------------------------------------------------
def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def is_empty(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def shape(conn: sqlite3.Connection, only: Iterable[str] | None = None) -> dict[str, object]:
    """Tables (their columns in order) and indexes (their normalised SQL) by name: two
    databases with equal shapes have the same schema whatever path built them."""
    keep = set(only) if only is not None else None
    out: dict[str, object] = {}
    for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "AND type IN ('table', 'index', 'view', 'trigger') ORDER BY name"):
        if keep is not None and name not in keep:
            continue
        if kind == "table":
            out[name] = [tuple(r[1:]) for r in conn.execute(f'PRAGMA table_info("{name}")')]
        else:
            out[name] = (kind, _normal_sql(sql or ""))
    return out


def _normal_sql(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r"\s+", " ", sql).strip()
    return re.sub(r"(?i)^CREATE (UNIQUE )?(INDEX|TABLE|VIEW|TRIGGER) IF NOT EXISTS ",
                  lambda m: f"CREATE {m.group(1) or ''}{m.group(2)} ", sql)


def reference(migrations: list[Migration], version: int) -> sqlite3.Connection:
    """An in-memory database built by migrations 1..version: what that version looks like."""
    ref = sqlite3.connect(":memory:", isolation_level=None)
    for m in migrations[:version]:
        m.run(ref)
    return ref


# --- adopting a v0.1.0 database -----------------------------------------------------------------
def adopt_v0(conn: sqlite3.Connection, migrations: list[Migration]) -> None:
    """Bring a user_version 0 database written by v0.1.0 to exactly version 1, or refuse.

    v0.1.0 created its tables at open, added the columns that earlier builds lacked, and made
    one index (tasks_usercontext) only when first needed; what may be missing is made here from
    the version 1 script. Anything else that differs means the file is not what v0.1.0 wrote,
    and migrating it blindly could lose data: refused."""
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not have & {"tasks", "messages", "users"}:
        raise SchemaError("it has user_version 0 and is not an smsd database")
    ref = reference(migrations, 1)
    try:
        for kind, name, sql in ref.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, rowid"):
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone():
                conn.execute(sql)
            elif kind == "table":
                _add_columns(conn, ref, name)
        for name in LEGACY_INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        wanted = shape(ref)
        got = shape(conn, only=wanted)
        differ = sorted(k for k in wanted if got.get(k) != wanted[k])
        if differ:
            raise SchemaError(f"it has user_version 0 but is not the schema of smsd v0.1.0 "
                              f"({', '.join(differ)} differ)")
    finally:
        ref.close()


def _add_columns(conn: sqlite3.Connection, ref: sqlite3.Connection, table: str) -> None:
    """Columns that builds before v0.1.0 lacked; v0.1.0 added them at open, as here."""
    have = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
    for _, column, decl, notnull, default, _ in ref.execute(f'PRAGMA table_info("{table}")'):
        if column in have:
            continue
        conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {decl}'
                     f'{" NOT NULL" if notnull else ""}'
                     f'{f" DEFAULT {default}" if default is not None else ""}')
        if (table, column) == ("messages", "priority"):     # waiting ones take their task's
            conn.execute("UPDATE messages SET priority = (SELECT t.priority FROM tasks t "
                         "WHERE t.id = messages.task_id) WHERE stage = 0")


# --- upgrading ----------------------------------------------------------------------------------
def backup_path(db_path: str, version: int) -> str:
    return db_path + BACKUP_SUFFIX.format(version=version)


def copy_database(conn: sqlite3.Connection, dest: str) -> None:
    """A consistent copy of `conn`'s database in `dest` (written aside, then renamed)."""
    tmp = f"{dest}.{os.getpid()}.tmp"      # per process: the daemon and a command may race
    if os.path.exists(tmp):
        os.unlink(tmp)
    out = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")    # one self-contained file, no -wal beside
    finally:
        out.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, dest)


def take_backup(conn: sqlite3.Connection, db_path: str, version: int) -> str:
    """The pre-migration copy; older ones go (each is a full copy and the box's card is small)."""
    dest = backup_path(db_path, version)
    copy_database(conn, dest)
    for old in glob.glob(glob.escape(db_path) + BACKUP_SUFFIX.format(version="*")):
        if old != dest:
            os.unlink(old)
    return dest


def upgrade(conn: sqlite3.Connection, db_path: str,
            migrations: list[Migration] | None = None, *, backup: bool = True) -> int:
    """Bring the database to the latest version; its version afterwards. Raises SchemaError
    (the database untouched) when it is newer than this code or a migration fails."""
    steps = migrations if migrations is not None else load()
    target = len(steps)
    found = user_version(conn)
    if found > target:
        raise SchemaError(f"{db_path}: the database has schema version {found}, newer than "
                          f"this smsd {__version__} knows (schema version {target}); install "
                          f"the newer smsd, or restore a backup made by this version")
    if found == target:
        return found
    saved = None
    if backup and not is_empty(conn) and db_path not in ("", ":memory:"):
        saved = take_backup(conn, db_path, target)
    conn.execute("BEGIN IMMEDIATE")
    try:
        _migrate(conn, steps, db_path, saved)
        conn.execute(f"PRAGMA user_version = {target}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return target


def _migrate(conn: sqlite3.Connection, steps: list[Migration], db_path: str,
             saved: str | None) -> None:
    found = user_version(conn)          # again, under the lock: another process may have won
    start = found
    if found == 0 and not is_empty(conn):
        _step(conn, lambda c: adopt_v0(c, steps), "adopting it as version 1", db_path, 0, saved)
        start = 1
    for m in steps[start:]:
        _step(conn, m.run, f"migration {m.name}", db_path, found, saved)


def _step(conn: sqlite3.Connection, run: Callable[[sqlite3.Connection], None], what: str,
          db_path: str, found: int, saved: str | None) -> None:
    try:
        run(conn)
    except SchemaError as exc:
        raise SchemaError(f"{db_path}: {exc}; the database is unchanged") from exc
    except Exception as exc:    # noqa: BLE001 - any failure: roll back, say so in one line
        where = f" (a copy is in {saved})" if saved else ""
        detail = " ".join(str(exc).split())
        raise SchemaError(f"{db_path}: upgrading from schema version {found} failed at "
                          f"{what}: {detail}; the database is unchanged{where}") from exc
