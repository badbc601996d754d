"""Pushes that failed for good: events a push target gave up on (smsd/push/worker.py parks them
and moves on), kept for the Routing page to list and replay. The events stay in `events`."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Sequence

from smsd.model import EventRow
from smsd.store.sqlite import Database

MAX_ERROR = 300


@dataclass(frozen=True)
class FailedPush:
    id: int
    target: str
    event: EventRow
    error: str
    attempts: int
    failed: float


class PushFailures:
    def __init__(self, db: Database) -> None:
        self.db = db

    def park(self, target: str, event_ids: Sequence[int], error: str, attempts: int,
             now: float | None = None) -> None:
        when = time.time() if now is None else now
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO push_failed(target, event_id, error, attempts, failed) "
                "VALUES (?, ?, ?, ?, ?)",
                [(target, int(e), error[:MAX_ERROR], attempts, when) for e in event_ids])

    def list(self, targets: Sequence[str] | None = None, limit: int = 200) -> list[FailedPush]:
        """Newest first; only those of `targets` when given."""
        where, args = "", []  # type: str, list[Any]
        if targets is not None:
            if not targets:
                return []
            where = f"WHERE f.target IN ({','.join('?' * len(targets))})"
            args.extend(targets)
        rows = self.db.conn().execute(
            "SELECT f.id, f.target, e.id, e.kind, e.payload, e.created, f.error, f.attempts, "
            f"f.failed FROM push_failed f JOIN events e ON e.id = f.event_id {where} "
            "ORDER BY f.id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_row(r) for r in rows]

    def get(self, failed_id: int) -> FailedPush | None:
        row = self.db.conn().execute(
            "SELECT f.id, f.target, e.id, e.kind, e.payload, e.created, f.error, f.attempts, "
            "f.failed FROM push_failed f JOIN events e ON e.id = f.event_id WHERE f.id = ?",
            (failed_id,)).fetchone()
        return None if row is None else _row(row)

    def forget(self, failed_id: int) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM push_failed WHERE id = ?",
                                (failed_id,)).rowcount == 1

    def retried(self, failed_id: int, error: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE push_failed SET error = ?, attempts = attempts + 1 WHERE id = ?",
                         (error[:MAX_ERROR], failed_id))

    def forget_target(self, target: str) -> int:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM push_failed WHERE target = ?", (target,)).rowcount


def _row(r: Sequence[Any]) -> FailedPush:
    return FailedPush(int(r[0]), str(r[1]), EventRow(int(r[2]), str(r[3]), json.loads(r[4]),
                                                      float(r[5])),
                      str(r[6]), int(r[7]), float(r[8]))
