"""SMPP's durable state (migration 0012): the separate SMPP passwords and the per-user delivery
queue of what waits for a receiver bind (delivery receipts and received SMS).

The queue is filled from the events table by one feeder (svc.smpp.feed): the rows a batch of
events makes and the feeder's cursor (push_cursors "smpp") are written in ONE transaction, so an
event is queued exactly once, crash or not. A row leaves the queue only when the ESME answered
its deliver_sm with ESME_ROK (`ack`); until then every receiver bind of its user gets it again.
"""
from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable

from smsd.store.sqlite import Database
from smsd.store.users import KDF, slow_hash

FEED_CURSOR = "smpp"


@dataclass(frozen=True)
class QueuedDelivery:
    id: int
    user: str
    kind: str                     # "receipt" | "sms"
    payload: dict[str, Any]
    created: float


class SmppQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- SMPP passwords -----------------------------------------------------------------------
    def set_password(self, user: str, password: str) -> None:
        salt = os.urandom(16)
        with self.db.write() as conn:
            conn.execute("INSERT INTO smpp_passwords(user, kdf, salt, hash) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT(user) DO UPDATE SET kdf = excluded.kdf, "
                         "salt = excluded.salt, hash = excluded.hash",
                         (user, KDF, salt, slow_hash(password, salt)))

    def drop_password(self, user: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM smpp_passwords WHERE user = ?", (user,))

    def has_password(self, user: str) -> bool:
        return self.db.conn().execute("SELECT 1 FROM smpp_passwords WHERE user = ?",
                                      (user,)).fetchone() is not None

    def check_password(self, user: str, password: str) -> bool:
        row = self.db.conn().execute("SELECT kdf, salt, hash FROM smpp_passwords WHERE user = ?",
                                     (user,)).fetchone()
        if row is None:
            return False
        return hmac.compare_digest(slow_hash(password, row[1], row[0]), row[2])

    # --- the delivery queue ---------------------------------------------------------------------
    def cursor(self) -> int | None:
        row = self.db.conn().execute("SELECT event_id FROM push_cursors WHERE target = ?",
                                     (FEED_CURSOR,)).fetchone()
        return None if row is None else int(row[0])

    def enqueue(self, rows: Iterable[tuple[str, str, dict[str, Any]]], cursor: int,
                now: float) -> None:
        """Queue (user, kind, payload) rows and move the feeder's cursor, in one transaction."""
        with self.db.write() as conn:
            conn.executemany("INSERT INTO smpp_queue(user, kind, payload, created) "
                             "VALUES (?, ?, ?, ?)",
                             [(user, kind, json.dumps(payload, ensure_ascii=False), now)
                              for user, kind, payload in rows])
            conn.execute("INSERT INTO push_cursors(target, event_id) VALUES (?, ?) "
                         "ON CONFLICT(target) DO UPDATE SET event_id = excluded.event_id",
                         (FEED_CURSOR, cursor))

    def pending(self, user: str, after_id: int = 0, limit: int = 100) -> list[QueuedDelivery]:
        rows = self.db.conn().execute(
            "SELECT id, user, kind, payload, created FROM smpp_queue WHERE user = ? AND id > ? "
            "ORDER BY id LIMIT ?", (user, after_id, limit)).fetchall()
        return [QueuedDelivery(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def ack(self, user: str, delivery_id: int) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM smpp_queue WHERE id = ? AND user = ?",
                                (delivery_id, user)).rowcount == 1

    def waiting(self, user: str | None = None) -> int:
        if user is None:
            return int(self.db.conn().execute("SELECT count(*) FROM smpp_queue").fetchone()[0])
        return int(self.db.conn().execute("SELECT count(*) FROM smpp_queue WHERE user = ?",
                                          (user,)).fetchone()[0])

    def submitted(self, message_id: int) -> tuple[float, str, int, str] | None:
        """(when the task was accepted, its usercontext, its srr flag, its user) of a message
        submitted over SMPP, for its receipt; None for any other message."""
        row = self.db.conn().execute(
            "SELECT t.created, t.usercontext, t.srr, t.user FROM messages m JOIN tasks t "
            "ON t.id = m.task_id WHERE m.id = ? AND t.dialect = 'smpp'", (message_id,)).fetchone()
        return None if row is None else (float(row[0]), str(row[1]), int(row[2]), str(row[3]))
