"""Backup files: versioned from the start, restored into this or a newer schema through the same
migrations an upgrade runs; anything else refused with the database left as it was."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from smsd.store import backup, migrate
from smsd.store.db import Store
from smsd.store.migrate import SchemaError
from test_migrations import LATEST, dump, v010_database, version_of, with_steps


def filled(path: str) -> Store:
    store = Store(path)
    store.users.create("bob", "pw", credits=9)
    store.settings.set("example", "kept")
    return store


def test_a_backup_carries_its_format_and_schema_version(tmp_path: Path) -> None:
    store = filled(str(tmp_path / "smsd.db"))
    try:
        info = store.backup(str(tmp_path / "b.smsdbak"))
    finally:
        store.close()
    assert (info.format, info.schema) == (backup.FORMAT, LATEST)
    assert backup.read_info(str(tmp_path / "b.smsdbak")) == info
    conn = sqlite3.connect(tmp_path / "b.smsdbak")
    assert conn.execute("PRAGMA application_id").fetchone() == (backup.APPLICATION_ID,)
    assert conn.execute("PRAGMA user_version").fetchone() == (LATEST,)
    conn.close()


def test_restore_puts_back_the_data_and_keeps_the_replaced_database(tmp_path: Path) -> None:
    path = str(tmp_path / "smsd.db")
    store = filled(path)
    store.backup(str(tmp_path / "b.smsdbak"))
    store.users.create("later", "pw")
    store.close()
    replaced = dump(path)
    backup.restore(str(tmp_path / "b.smsdbak"), path)
    store = Store(path)
    try:
        assert store.users.info("bob").credits == 9      # type: ignore[union-attr]
        assert store.users.check("bob", "pw")
        assert not store.users.exists("later")
        assert store.settings.get("example") == "kept"
    finally:
        store.close()
    assert dump(path + backup.PRE_RESTORE_SUFFIX) == replaced
    conn = sqlite3.connect(path)                 # a live database again: no backup marks
    assert conn.execute("PRAGMA application_id").fetchone() == (0,)
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                            (backup.INFO_TABLE,)).fetchone()
    conn.close()


def test_a_version_1_backup_restores_into_newer_code_through_its_migrations(
        tmp_path: Path) -> None:
    """A backup made at schema version 1 (what v0.1.0's database is) restored by code that has
    one more migration: the migration runs, the data is there."""
    old = str(tmp_path / "old.db")
    store = Store(old, migrations=migrate.load()[:1])
    with store.db.write() as conn:          # a user row as schema version 1 has it
        conn.execute("INSERT INTO users(name, kdf, salt, hash, realm, ha1, created, credits) "
                     "VALUES ('bob', 'scrypt:16384:8:1', x'00', x'00', 'smsd', 'h', 0, 9)")
    store.backup(str(tmp_path / "v1.smsdbak"))
    store.close()
    assert backup.read_info(str(tmp_path / "v1.smsdbak")).schema == 1
    steps = with_steps(tmp_path, {"note.sql": "ALTER TABLE users ADD COLUMN note TEXT "
                                              "NOT NULL DEFAULT 'migrated';\n"})
    path = str(tmp_path / "smsd.db")
    backup.restore(str(tmp_path / "v1.smsdbak"), path, steps)
    assert version_of(path) == len(steps)
    store = Store(path, migrations=steps)
    try:
        row = store.db.conn().execute("SELECT credits, note FROM users WHERE name = 'bob'")
        assert row.fetchone() == (9, "migrated")
    finally:
        store.close()


def test_the_pre_migration_copy_of_a_v010_database_restores(tmp_path: Path) -> None:
    """The bare `smsd.db.pre-vN.bak` an upgrade leaves is a valid restore source."""
    path = v010_database(tmp_path / "smsd.db")
    Store(path).close()
    bak = path + f".pre-v{LATEST}.bak"
    assert backup.read_info(bak).format == 0
    target = str(tmp_path / "other.db")
    backup.restore(bak, target)
    store = Store(target)
    try:
        assert store.users.info("alice").credits == 7    # type: ignore[union-attr]
    finally:
        store.close()


def test_a_backup_newer_than_the_code_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    steps = with_steps(tmp_path, {"later.sql": "CREATE TABLE later (x);\n"})
    store = Store(str(tmp_path / "new.db"), migrations=steps)
    store.backup(str(tmp_path / "new.smsdbak"))
    store.close()
    path = str(tmp_path / "smsd.db")
    filled(path).close()
    before = dump(path)
    with pytest.raises(SchemaError) as err:
        backup.restore(str(tmp_path / "new.smsdbak"), path)
    assert f"schema version {LATEST + 1}, newer than" in str(err.value)
    assert f"(schema version {LATEST})" in str(err.value)
    assert dump(path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("smsd.db")) \
        == ["smsd.db"]


def test_a_backup_whose_migration_fails_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "old.db"))
    store.backup(str(tmp_path / "b.smsdbak"))
    store.close()
    path = str(tmp_path / "smsd.db")
    filled(path).close()
    before = dump(path)
    steps = with_steps(tmp_path, {"bad.sql": "INSERT INTO no_such_table VALUES (1);\n"})
    with pytest.raises(SchemaError, match="no such table"):
        backup.restore(str(tmp_path / "b.smsdbak"), path, steps)
    assert dump(path) == before


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100])
def test_a_file_that_is_not_a_backup_is_refused(tmp_path: Path, content: bytes) -> None:
    bogus = tmp_path / "bogus"
    bogus.write_bytes(content)
    path = str(tmp_path / "smsd.db")
    filled(path).close()
    before = dump(path)
    with pytest.raises(SchemaError, match="not an smsd backup"):
        backup.restore(str(bogus), path)
    assert dump(path) == before


def test_another_sqlite_file_or_a_newer_format_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="not an smsd backup or database"):
        backup.read_info(str(other))
    store = Store(str(tmp_path / "smsd.db"))
    store.backup(str(tmp_path / "b.smsdbak"))
    store.close()
    conn = sqlite3.connect(tmp_path / "b.smsdbak")
    conn.execute(f"UPDATE {backup.INFO_TABLE} SET value = '99' WHERE key = 'format'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match=f"backup format 99 is newer .* \\(format {backup.FORMAT}\\)"):
        backup.read_info(str(tmp_path / "b.smsdbak"))


# --- the command line -------------------------------------------------------------------------
def smsd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMSD_PDU_BACKEND": "python"}    # the codec plays no part here
    return subprocess.run([sys.executable, "-m", "smsd", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_smsd_backup_and_restore_commands(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    filled(str(state / "smsd.db")).close()
    done = smsd("backup", str(tmp_path / "b.smsdbak"), "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    assert f"(schema version {LATEST})" in done.stdout
    other = tmp_path / "other"
    done = smsd("restore", str(tmp_path / "b.smsdbak"), "--state-dir", str(other))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"restored {tmp_path / 'b.smsdbak'} (schema version {LATEST}, "
                                  "written by smsd ")
    store = Store(str(other / "smsd.db"))
    try:
        assert store.users.info("bob").credits == 9      # type: ignore[union-attr]
    finally:
        store.close()
    done = smsd("restore", str(tmp_path / "missing"), "--state-dir", str(other))
    assert done.returncode == 1 and done.stderr.strip().endswith("missing: no such file")
    assert "Traceback" not in done.stderr


def test_admin_commands_refuse_a_newer_database_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    steps = with_steps(tmp_path, {"later.sql": "CREATE TABLE later (x);\n"})
    Store(str(state / "smsd.db"), migrations=steps).close()
    done = smsd("user", "list", "--state-dir", str(state))
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert f"schema version {LATEST + 1}, newer than" in done.stderr
