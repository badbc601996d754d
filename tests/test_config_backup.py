"""The configuration-only backup (smsd/store/backup.py): it carries users, permissions, the
address book, routes and port settings but no message, event or log of the box (not even in its
free pages), and restoring it on another box replaces that box's configuration while its
messages and its serial stay; `smsd backup --config-only` and `smsd restore` do the same."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from smsd.model import Contact, Group
from smsd.store import backup
from smsd.store.db import Store
from smsd.store.migrate import SchemaError

SECRET = "history-text-that-must-not-leave-the-box"


def configured(path: Path) -> Store:
    """Box A: a setup, and history that a configuration backup must leave behind."""
    store = Store(str(path))
    store.users.create("carol", "pw-carol", credits=7)
    store.contacts.set_many([Contact("Ann", "+447700900001"), Contact("Bob", "07700900002")])
    store.contacts.group_set_many([Group("team", ("Ann", "Bob"))])
    store.routes.add("http://example.test/in", "json", 1, "+44", "")
    store.port_settings.put(0, {"max_parts_per_day": "500"})
    store.settings.set("example", "from-a")
    with store.db.write() as conn:
        task = conn.execute("INSERT INTO tasks(user, text, created) VALUES ('carol', ?, 1)",
                            (SECRET,)).lastrowid
        conn.execute("INSERT INTO messages(task_id, number, count, time) VALUES (?, ?, 1, 1)",
                     (task, "+447700900001"))
        conn.execute("INSERT INTO inbound(port, slot, imsi, number, smsc, timestamp, text, "
                     "received) VALUES (0, 0, '', '+447700900001', '', '', ?, 1)", (SECRET,))
    store.audit.append("admin", "user.create", SECRET, 1.0)
    return store


def other_box(path: Path) -> Store:
    """Box B: its own users, a route, and a message of its own."""
    store = Store(str(path))
    store.users.create("dave", "pw-dave")
    store.routes.add("http://b.test/old", "isms", None, "", "")
    with store.db.write() as conn:
        task = conn.execute("INSERT INTO tasks(user, text, created) VALUES ('dave', 'b-own', 1)"
                            ).lastrowid
        conn.execute("INSERT INTO messages(task_id, number, count, time) VALUES (?, '+1', 1, 1)",
                     (task,))
        conn.execute("INSERT INTO events(kind, payload, created) VALUES ('sms', '{}', 1)")
    return store


def config_backup(tmp_path: Path, name: str) -> Path:
    """Box A's configuration backup, at tmp_path/name."""
    store = configured(tmp_path / "a.db")
    try:
        store.backup(str(tmp_path / name), config_only=True)
    finally:
        store.close()
    return tmp_path / name


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_a_configuration_backup_holds_the_setup_and_no_history(tmp_path: Path) -> None:
    store = configured(tmp_path / "a.db")
    dest = tmp_path / "config.smsdbak"
    try:
        info = store.backup(str(dest), config_only=True, certificate="CN=box; SHA-256 AB")
    finally:
        store.close()
    assert (info.kind, info.format, info.certificate) == ("config", backup.CONFIG_FORMAT,
                                                          "CN=box; SHA-256 AB")
    assert backup.read_info(str(dest)) == info
    assert SECRET.encode() not in dest.read_bytes()          # vacuumed: not in free pages
    for table in ("tasks", "messages", "inbound", "events", "audit_log"):
        assert rows(dest, f"SELECT count(*) FROM {table}") == [(0,)], table
    assert rows(dest, "SELECT name FROM contacts ORDER BY name") == [("Ann",), ("Bob",)]
    assert ("carol",) in rows(dest, "SELECT name FROM users")
    assert rows(dest, "SELECT value FROM settings WHERE key = 'sn'") == []


def test_restoring_it_on_another_box_keeps_that_boxs_messages(tmp_path: Path) -> None:
    config_backup(tmp_path, "config.smsdbak")
    b = other_box(tmp_path / "b.db")
    b_serial = b.sn
    b.close()
    info = backup.restore(str(tmp_path / "config.smsdbak"), str(tmp_path / "b.db"))
    assert info.kind == "config"
    b = Store(str(tmp_path / "b.db"))
    try:
        assert b.sn == b_serial                                    # the box keeps its identity
        assert b.users.info("carol").credits == 7                  # type: ignore[union-attr]
        assert b.users.info("dave") is None                        # the setup is replaced
        assert [c.name for c in b.contacts.all()] == ["Ann", "Bob"]
        assert b.contacts.groups() == [Group("team", ("Ann", "Bob"))]
        assert [(r.url, r.port, r.sender_prefix) for r in b.routes.all()] == [
            ("http://example.test/in", 1, "+44")]
        assert b.port_settings.all()[0]["max_parts_per_day"] == "500"
        assert b.settings.get("example") == "from-a"
    finally:
        b.close()
    path = tmp_path / "b.db"
    assert rows(path, "SELECT text FROM tasks") == [("b-own",)]      # its history stays
    last_event = rows(path, "SELECT max(id) FROM events")[0][0]
    assert rows(path, "SELECT target, event_id FROM push_cursors WHERE target LIKE 'route:%'") \
        == [(f"route:{rows(path, 'SELECT id FROM routes')[0][0]}", last_event)]
    assert (tmp_path / ("b.db" + backup.PRE_RESTORE_SUFFIX)).exists()


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(config_backup(tmp_path, "c.smsdbak")) as conn:
        conn.execute("UPDATE smsd_backup SET value = 'partial' WHERE key = 'kind'")
    with pytest.raises(SchemaError, match="unknown kind 'partial'"):
        backup.restore(str(tmp_path / "c.smsdbak"), str(tmp_path / "target.db"))
    assert not (tmp_path / "target.db").exists()


def smsd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMSD_PDU_BACKEND": "python"}    # the codec plays no part here
    return subprocess.run([sys.executable, "-m", "smsd", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_the_backup_config_and_restore_commands(tmp_path: Path) -> None:
    state, other = tmp_path / "a", tmp_path / "b"
    state.mkdir()
    other.mkdir()
    configured(state / "smsd.db").close()
    other_box(other / "smsd.db").close()
    done = smsd("backup", "--config-only", str(tmp_path / "c.smsdbak"), "--state-dir", str(state))
    assert done.returncode == 0 and done.stdout.startswith("configuration backup of "), done
    done = smsd("restore", str(tmp_path / "c.smsdbak"), "--state-dir", str(other))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"restored the configuration of {tmp_path / 'c.smsdbak'}")
    assert rows(other / "smsd.db", "SELECT text FROM tasks") == [("b-own",)]
    assert ("carol",) in rows(other / "smsd.db", "SELECT name FROM users")
