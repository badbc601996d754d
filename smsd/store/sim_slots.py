"""Per-SIM-slot settings, message usage, credit, own number and the block flag (migration 0010).

A slot's settings override its port's (store/port_settings.py) key by key; the meanings are in
smsd/budgets.py. Usage is counted per local day so the day's and the month's counts both come
from one table. Call time is not counted here: it is read from the call detail records (`cdr`,
migration 0009), which the call code writes when a call ends.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Mapping

from smsd.store.sqlite import Database


class SimSlots:
    """Settings and state of each SIM, by (port, slot); slot 255 is a single-slot port's SIM."""

    def __init__(self, db: Database, events: Any = None) -> None:
        self.db = db
        self._events = events           # store.events: exception_info rows with a state change

    # --- settings ---------------------------------------------------------------------------
    def all_settings(self) -> dict[tuple[int, int], dict[str, str]]:
        out: dict[tuple[int, int], dict[str, str]] = {}
        for port, slot, key, value in self.db.conn().execute(
                "SELECT port, slot, key, value FROM slot_settings ORDER BY port, slot, key"):
            out.setdefault((int(port), int(slot)), {})[str(key)] = str(value)
        return out

    def put_settings(self, port: int, slot: int, values: Mapping[str, str | None]) -> None:
        """Set (or, for None, remove) keys of one slot in one transaction."""
        with self.db.write() as conn:
            for key, value in values.items():
                if value is None:
                    conn.execute("DELETE FROM slot_settings WHERE port = ? AND slot = ? AND "
                                 "key = ?", (port, slot, key))
                else:
                    conn.execute("INSERT INTO slot_settings(port, slot, key, value) "
                                 "VALUES (?, ?, ?, ?) ON CONFLICT(port, slot, key) "
                                 "DO UPDATE SET value = excluded.value", (port, slot, key, value))

    # --- usage ------------------------------------------------------------------------------
    def add_parts(self, port: int, slot: int, day: str, count: int = 1) -> float | None:
        """Count parts handed to a SIM on `day` and take them off its credit; the credit left
        (None: no credit counter)."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO sim_usage(port, slot, day, parts) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT(port, slot, day) DO UPDATE SET parts = parts + ?",
                         (port, slot, day, count, count))
            conn.execute("UPDATE sim_state SET credit_left = credit_left - ? WHERE port = ? "
                         "AND slot = ? AND credit_left IS NOT NULL", (count, port, slot))
            return _credit(conn, port, slot)

    def parts_between(self, port: int, slot: int, first_day: str, last_day: str) -> int:
        row = self.db.conn().execute(
            "SELECT coalesce(sum(parts), 0) FROM sim_usage WHERE port = ? AND slot = ? AND "
            "day >= ? AND day <= ?", (port, slot, first_day, last_day)).fetchone()
        return int(row[0])

    def call_use(self, port: int, slot: int, since: float) -> tuple[int, int]:
        """(seconds talked, calls answered) on this SIM since `since`, from the CDR rows."""
        row = self.db.conn().execute(
            "SELECT coalesce(sum(duration), 0), count(answered) FROM cdr WHERE port = ? AND "
            "slot = ? AND started >= ?", (port, slot, since)).fetchone()
        return int(row[0]), int(row[1])

    # --- state ------------------------------------------------------------------------------
    def state(self) -> dict[tuple[int, int], tuple[float | None, str, bool]]:
        """(credit left, own number, blocked) of every SIM that has any."""
        return {(int(p), int(s)): (None if c is None else float(c), str(n), bool(b))
                for p, s, c, n, b in self.db.conn().execute(
                    "SELECT port, slot, credit_left, number, blocked FROM sim_state")}

    def set_credit(self, port: int, slot: int, credit: float | None) -> None:
        self._upsert(port, slot, "credit_left", credit)

    def set_number(self, port: int, slot: int, number: str) -> None:
        self._upsert(port, slot, "number", number)

    def set_blocked(self, port: int, slot: int, blocked: bool) -> None:
        self._upsert(port, slot, "blocked", int(blocked))

    def _upsert(self, port: int, slot: int, column: str, value: object) -> None:
        assert column in ("credit_left", "number", "blocked")      # never a caller's text
        with self.db.write() as conn:
            conn.execute("INSERT INTO sim_state(port, slot) VALUES (?, ?) "
                         "ON CONFLICT(port, slot) DO NOTHING", (port, slot))
            conn.execute(f"UPDATE sim_state SET {column} = ? WHERE port = ? AND slot = ?",
                         (value, port, slot))

    # --- events -----------------------------------------------------------------------------
    def emit(self, kind: str, payload: dict[str, Any], now: float) -> None:
        """Append one push event (device, exception_info) in its own transaction."""
        with self.db.write() as conn:
            self._events.emit(conn, kind, payload, now)


def _credit(conn: sqlite3.Connection, port: int, slot: int) -> float | None:
    row = conn.execute("SELECT credit_left FROM sim_state WHERE port = ? AND slot = ?",
                       (port, slot)).fetchone()
    return None if row is None or row[0] is None else float(row[0])
