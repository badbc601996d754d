"""The events table (what push targets hear of), push cursors, and installation settings.

Writers call `Events.emit()` inside their own transaction, so an event exists if and only if the
state change it reports was committed. Readers (the push worker) follow with a durable cursor.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from typing import Any

from smsd.model import EventRow
from smsd.store.sqlite import Database


class Events:
    """The events table and the push cursors that follow it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._events_cond = threading.Condition()

    def emit(self, conn: sqlite3.Connection, kind: str, payload: dict[str, Any],
               now: float) -> None:
        conn.execute("INSERT INTO events(kind, payload, created) VALUES (?, ?, ?)",
                     (kind, json.dumps(payload, ensure_ascii=False, separators=(",", ":")), now))
        self.db.after_commit(self._notify_events)

    def _notify_events(self) -> None:
        with self._events_cond:
            self._events_cond.notify_all()

    def events_after(self, event_id: int, limit: int = 100) -> list[EventRow]:
        rows = self.db.conn().execute(
            "SELECT id, kind, payload, created FROM events WHERE id > ? ORDER BY id LIMIT ?",
            (event_id, limit)).fetchall()
        return [EventRow(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def last_event_id(self) -> int:
        row = self.db.conn().execute("SELECT max(id) FROM events").fetchone()
        return int(row[0] or 0)

    def wait_events(self, after_id: int, timeout: float) -> bool:
        """Block until an event newer than `after_id` is committed (True) or `timeout` passes."""
        with self._events_cond:
            if self.last_event_id() > after_id:
                return True
            self._events_cond.wait(timeout)
        return self.last_event_id() > after_id

    def push_cursor(self, target: str) -> int | None:
        row = self.db.conn().execute("SELECT event_id FROM push_cursors WHERE target = ?",
                                     (target,)).fetchone()
        return None if row is None else int(row[0])

    def set_push_cursor(self, target: str, event_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO push_cursors(target, event_id) VALUES (?, ?) "
                         "ON CONFLICT(target) DO UPDATE SET event_id = excluded.event_id",
                         (target, event_id))


class Settings:
    """Installation-wide settings by key (the serial number among them)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        row = self.db.conn().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, key: str, value: str) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO settings(key, value) VALUES (?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def ensure_serial(self) -> str:
        """The installation's serial, "xxxx-xxxx-xxxx-xxxx" hex, made once and kept."""
        with self.db.write() as conn:
            new = "-".join(secrets.token_hex(2) for _ in range(4))
            conn.execute("INSERT OR IGNORE INTO settings(key, value) VALUES ('sn', ?)", (new,))
            return str(conn.execute("SELECT value FROM settings WHERE key = 'sn'").fetchone()[0])
