"""Versioned schema: adoption of a v0.1.0 file, ordered migrations in one transaction, the
pre-migration backup, refusal of a newer database, and the daemon's one-line refusal."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from smsd.store import migrate
from smsd.store.db import Store
from smsd.store.migrate import Migration, SchemaError

VECTORS = Path(__file__).parent / "vectors"
PACKAGE_MIGRATIONS = migrate.load()
LATEST = len(PACKAGE_MIGRATIONS)


def dump(path: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump()) + [f"user_version={migrate.user_version(conn)}"]
    finally:
        conn.close()


def version_of(path: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return migrate.user_version(conn)
    finally:
        conn.close()


def v010_database(path: Path) -> str:
    """A database as smsd v0.1.0 wrote it (user_version 0, columns added by ALTER TABLE)."""
    conn = sqlite3.connect(path)
    conn.executescript((VECTORS / "db_v0_1_0.sql").read_text(encoding="utf-8"))
    conn.close()
    return str(path)


def shape_of(path: str) -> dict[str, object]:
    conn = sqlite3.connect(path)
    try:
        return migrate.shape(conn)
    finally:
        conn.close()


def with_steps(tmp_path: Path, extra: dict[str, str]) -> list[Migration]:
    """The package's migrations plus `extra` (file name -> text), as a directory of files."""
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    for entry in (resources.files("smsd.store") / "migrations").iterdir():
        if entry.name.endswith((".sql", ".py")):
            (folder / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    number = LATEST
    for name, text in extra.items():
        number += 1
        (folder / f"{number:04d}_{name}").write_text(text, encoding="utf-8")
    return migrate.load(folder)


# --- fresh and v0.1.0 databases ---------------------------------------------------------------
def test_a_fresh_database_has_the_latest_version_and_no_backup(tmp_path: Path) -> None:
    path = str(tmp_path / "smsd.db")
    Store(path).close()
    assert version_of(path) == LATEST
    assert sorted(os.listdir(tmp_path)) == ["smsd.db"]
    ref = migrate.reference(PACKAGE_MIGRATIONS, LATEST)
    assert shape_of(path) == migrate.shape(ref)


def test_a_v010_database_is_adopted_as_version_1_with_its_data(tmp_path: Path) -> None:
    path = v010_database(tmp_path / "smsd.db")
    before = dump(path)
    store = Store(path)
    try:
        assert store.users.info("alice").credits == 7  # type: ignore[union-attr]
        assert store.users.check("alice", "secret")
        assert store.settings.get("example") == "1"
    finally:
        store.close()
    assert version_of(path) == LATEST
    fresh = str(tmp_path / "fresh.db")
    Store(fresh).close()
    assert shape_of(path) == shape_of(fresh)      # same schema whichever way it was built
    backup = path + f".pre-v{LATEST}.bak"
    assert dump(backup) == before                 # the copy is the file as v0.1.0 left it


def test_the_version_1_script_is_the_v010_schema(tmp_path: Path) -> None:
    """The frozen script makes exactly the tables and indexes v0.1.0 made (v0.1.0 made the
    tasks_usercontext index only when first needed)."""
    old = shape_of(v010_database(tmp_path / "old.db"))
    ref = migrate.shape(migrate.reference(PACKAGE_MIGRATIONS, 1))
    assert {k: v for k, v in ref.items() if k != "tasks_usercontext"} == old


def test_a_foreign_database_is_refused_untouched(tmp_path: Path) -> None:
    path = str(tmp_path / "smsd.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x TEXT)")
    conn.commit()
    conn.close()
    before = dump(path)
    with pytest.raises(SchemaError, match="not an smsd database"):
        Store(path)
    assert dump(path) == before


def test_a_v0_file_whose_tables_differ_from_v010_is_refused_untouched(tmp_path: Path) -> None:
    path = str(tmp_path / "smsd.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, body BLOB)")
    conn.commit()
    conn.close()
    before = dump(path)
    with pytest.raises(SchemaError, match=r"not the schema of smsd v0\.1\.0 \(messages") as err:
        Store(path)
    assert "\n" not in str(err.value) and "unchanged" in str(err.value)
    assert dump(path) == before


# --- migrations -------------------------------------------------------------------------------
@pytest.mark.parametrize("step", PACKAGE_MIGRATIONS[1:], ids=lambda m: m.name)
def test_each_package_migration_applies_on_the_previous_version(step: Migration,
                                                                tmp_path: Path) -> None:
    """Migration N on a database at N-1 (from a v0.1.0 file with data) gives the schema of
    version N, and the v0.1.0 rows are still there."""
    path = v010_database(tmp_path / "smsd.db")
    conn = sqlite3.connect(path, isolation_level=None)
    migrate.upgrade(conn, path, PACKAGE_MIGRATIONS[:step.version - 1], backup=False)
    migrate.upgrade(conn, path, PACKAGE_MIGRATIONS[:step.version], backup=False)
    assert migrate.shape(conn) == migrate.shape(migrate.reference(PACKAGE_MIGRATIONS, step.version))
    assert conn.execute("SELECT credits FROM users WHERE name = 'alice'").fetchone() == (7,)
    conn.close()


def test_pending_migrations_run_in_order_after_a_backup(tmp_path: Path) -> None:
    steps = with_steps(tmp_path, {
        "add_note.sql": "-- a column; a statement with a ';' inside a string\n"
                        "ALTER TABLE users ADD COLUMN note TEXT NOT NULL DEFAULT '';\n"
                        "UPDATE users SET note = 'a;b';\n",
        "copy_note.py": "def migrate(conn):\n"
                        "    conn.execute(\"UPDATE users SET note = note || '!'\")\n",
    })
    path = str(tmp_path / "smsd.db")
    Store(path).close()                          # at the package's version
    store = Store(path)
    store.users.create("bob", "pw", credits=3)
    store.close()
    before = dump(path)
    Path(path + ".pre-v1.bak").write_text("an older copy")      # only the latest copy stays
    store = Store(path, migrations=steps)
    try:
        row = store.db.conn().execute("SELECT note, credits FROM users WHERE name = 'bob'")
        assert row.fetchone() == ("a;b!", 3)
    finally:
        store.close()
    assert version_of(path) == LATEST + 2
    backup = path + f".pre-v{LATEST + 2}.bak"
    assert dump(backup) == before
    assert not os.path.exists(path + ".pre-v1.bak")
    Store(path, migrations=steps).close()        # up to date: nothing runs, no new copy
    assert sorted(os.listdir(tmp_path)) == ["migrations", "smsd.db", os.path.basename(backup)]


def test_a_failing_migration_leaves_the_database_untouched(tmp_path: Path) -> None:
    steps = with_steps(tmp_path, {
        "good.sql": "ALTER TABLE users ADD COLUMN note TEXT;\n",
        "bad.sql": "UPDATE users SET note = 'x';\nINSERT INTO no_such_table VALUES (1);\n",
    })
    path = str(tmp_path / "smsd.db")
    store = Store(path)
    store.users.create("bob", "pw", credits=3)
    store.close()
    before = dump(path)
    with pytest.raises(SchemaError) as err:
        Store(path, migrations=steps)
    message = str(err.value)
    assert "\n" not in message
    assert f"{LATEST + 2:04d}_bad.sql" in message and "no such table: no_such_table" in message
    assert "the database is unchanged" in message
    assert f"from schema version {LATEST}" in message
    assert dump(path) == before                  # the good step before it was rolled back too
    assert dump(path + f".pre-v{LATEST + 2}.bak") == before
    store = Store(path)                          # the current code still opens it
    try:
        assert store.users.info("bob").credits == 3  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_database_newer_than_the_code_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = str(tmp_path / "smsd.db")
    steps = with_steps(tmp_path, {"later.sql": "CREATE TABLE later (x INTEGER);\n"})
    Store(path, migrations=steps).close()
    before = dump(path)
    with pytest.raises(SchemaError) as err:
        Store(path)
    message = str(err.value)
    assert f"schema version {LATEST + 1}, newer than" in message
    assert f"(schema version {LATEST})" in message
    assert dump(path) == before
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".bak")]


def test_misnumbered_migrations_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("CREATE TABLE a (x);")
    (folder / "0003_c.sql").write_text("CREATE TABLE c (x);")
    with pytest.raises(SchemaError, match="0003_c.sql: expected number 0002"):
        migrate.load(folder)


def test_statements_split_scripts_the_way_sqlite_parses_them() -> None:
    script = ("-- comment; not a statement\nCREATE TABLE t (x TEXT);\n"
              "INSERT INTO t VALUES ('a;b'); INSERT INTO t VALUES ('c');\n"
              "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;\n-- end\n")
    got = list(migrate.statements(script))
    assert len(got) == 4
    assert got[1] == "INSERT INTO t VALUES ('a;b');"
    assert got[3].startswith("CREATE TRIGGER") and got[3].endswith("END;")
    with pytest.raises(SchemaError, match="ends inside a statement"):
        list(migrate.statements("CREATE TABLE t (x);\nINSERT INTO t VALUES (1)"))


def test_user_version_is_rolled_back_with_the_transaction(tmp_path: Path) -> None:
    """The one transaction covers the version number too (it lives in the file's header)."""
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("PRAGMA user_version = 5")
    conn.execute("ROLLBACK")
    assert migrate.user_version(conn) == 0
    conn.close()


# --- the daemon -------------------------------------------------------------------------------
def run_daemon(state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMSD_PDU_BACKEND": "python"}    # the codec plays no part here
    return subprocess.run([sys.executable, "-m", "smsd", "run", "--simulate", "1",
                           "--state-dir", str(state_dir), "--listen", "127.0.0.1:1",
                           "--log-level", "error"],
                          capture_output=True, text=True, timeout=60, env=env)


def test_the_daemon_refuses_a_newer_database_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    path = str(state / "smsd.db")
    Store(path, migrations=with_steps(tmp_path, {"later.sql": "CREATE TABLE later (x);\n"})).close()
    before = dump(path)
    done = run_daemon(state)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"smsd: {path}: the database has schema version {LATEST + 1}")
    assert f"(schema version {LATEST})" in lines[0]
    assert dump(path) == before


def test_the_daemon_refuses_a_database_it_cannot_migrate_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    path = str(state / "smsd.db")
    shutil.copy(v010_database(tmp_path / "v010.db"), path)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE routes")
    conn.execute("CREATE VIEW routes AS SELECT 1 AS id")   # version 1's table cannot be made
    conn.commit()
    conn.close()
    before = dump(path)
    done = run_daemon(state)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "upgrading from schema version 0 failed" in lines[0]
    assert "the database is unchanged" in lines[0] and ".pre-v" in lines[0]
    assert dump(path) == before
