"""Connections to service providers (migration 0013, docs/connections.md): their stored
settings, and the messages routed to them from claim to a final result.

A message routed to a connection is an ordinary message of the outbox whose ports (the routing
tiers of migration 0011) name the connection's number. The connection's dispatcher claims it in
one transaction (stage 1, a `connection_sends` row `on_air`), so the scheduler never sees it
again; the connection's answer makes it final (SENT_OK or FAILED, with its `sms_result` event),
a receipt later makes it DELIVERED. A claim still `on_air` at start-up may have gone out: it
becomes UNKNOWN (outcome unknown), never resent, as a part on the air does (docs/durability.md).

Plain rows: the typed settings and the connection numbers are the service's.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import NamedTuple, Sequence

from smsd.store.events import Events
from smsd.store.outbox import RESULT_COLUMNS, UNKNOWN, Outbox, result_from_row
from smsd.store.sqlite import Database
from smsd.store.times import fmt_time

REASON_UNKNOWN = "unknown: the box stopped while a connection was sending it"
ST_DELIVERED = 0            # TP-ST values written for receipts, as a modem's report would say
ST_FAILED = 64


class ConnectionRow(NamedTuple):
    id: int
    name: str
    kind: str
    settings: dict[str, str]
    running: bool


class Routed(NamedTuple):
    """A waiting message routed to a connection, with what a provider needs of it."""

    id: int
    task_id: int
    number: str
    text: str
    encoding: str              # the task's: auto | gsm7 | ucs2 | 8bit
    srr: bool
    sender: str
    ports: str                 # its routing tiers as stored ("10001;0,1")
    data: bytes | None         # 8-bit user data (`text` is then a label)
    udh: bytes
    user: str


def connection_ids(db: Database) -> set[int]:
    """The ids of the connections that exist (a request naming one by its number is checked)."""
    return {int(r[0]) for r in db.conn().execute("SELECT id FROM connections").fetchall()}


def _row(r: Sequence[object]) -> ConnectionRow:
    return ConnectionRow(int(str(r[0])), str(r[1]), str(r[2]), dict(json.loads(str(r[3]))),
                         bool(r[4]))


class Connections:
    def __init__(self, db: Database, events: Events, outbox: Outbox) -> None:
        self.db = db
        self.events = events
        self.outbox = outbox

    # --- settings ---------------------------------------------------------------------------
    def all(self) -> list[ConnectionRow]:
        rows = self.db.conn().execute("SELECT id, name, kind, settings, running FROM connections "
                                      "ORDER BY id").fetchall()
        return [_row(r) for r in rows]

    def get(self, name: str) -> ConnectionRow | None:
        r = self.db.conn().execute("SELECT id, name, kind, settings, running FROM connections "
                                   "WHERE name = ?", (name,)).fetchone()
        return None if r is None else _row(r)

    def add(self, name: str, kind: str, settings: dict[str, str], now: float) -> int:
        with self.db.write() as conn:
            cur = conn.execute("INSERT INTO connections(name, kind, settings, running, created) "
                               "VALUES (?, ?, ?, 1, ?)", (name, kind, json.dumps(settings), now))
            return int(cur.lastrowid or 0)

    def put_settings(self, name: str, settings: dict[str, str]) -> bool:
        with self.db.write() as conn:
            return conn.execute("UPDATE connections SET settings = ? WHERE name = ?",
                                (json.dumps(settings), name)).rowcount == 1

    def set_running(self, name: str, running: bool) -> bool:
        with self.db.write() as conn:
            return conn.execute("UPDATE connections SET running = ? WHERE name = ?",
                                (int(running), name)).rowcount == 1

    def delete(self, name: str) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM connections WHERE name = ?", (name,)).rowcount == 1

    # --- messages routed to a connection ---------------------------------------------------
    def waiting_for(self, number: int, limit: int = 50) -> list[Routed]:
        """Waiting messages whose routing tiers (or, with no rule, the task's ports) name
        connection `number`, in rank order."""
        rows = self.db.conn().execute(
            "SELECT m.id, m.task_id, m.number, coalesce(m.text, t.text), t.encoding, t.srr, "
            "t.sender, coalesce(m.ports, t.ports), t.data, t.udh, t.user FROM messages m "
            "JOIN tasks t ON t.id = m.task_id WHERE m.stage = 0 AND "
            "(',' || replace(coalesce(m.ports, t.ports), ';', ',') || ',') LIKE ? "
            "ORDER BY m.priority DESC, m.id LIMIT ?", (f"%,{number},%", limit)).fetchall()
        return [Routed(r[0], r[1], r[2], r[3] or "", r[4], bool(r[5]), r[6] or "", r[7],
                       None if r[8] is None else bytes(r[8]),
                       b"" if r[9] is None else bytes(r[9]), r[10]) for r in rows]

    def forget(self, number: int, reason: str, now: float) -> tuple[int, int]:
        """A deleted connection: its tier leaves the waiting messages that name it; those left
        with no tier fail with `reason`. (messages re-routed, messages failed)"""
        moved = failed = 0
        for msg in self.waiting_for(number, limit=1 << 30):
            tiers = [t for t in msg.ports.split(";")
                     if t and str(number) not in t.split(",")]
            with self.db.write() as conn:
                if tiers:
                    moved += conn.execute("UPDATE messages SET ports = ? WHERE id = ? AND "
                                          "stage = 0", (";".join(tiers), msg.id)).rowcount
                elif conn.execute("UPDATE messages SET stage = 1, reason = ? WHERE id = ? AND "
                                  "stage = 0", (reason, msg.id)).rowcount:
                    self._final(conn, msg.id, "FAILED", reason, now)
                    failed += 1
        return moved, failed

    def claim(self, message_id: int, connection_id: int, number: int, now: float) -> bool:
        """Take a waiting message for a connection (False: it is no longer waiting)."""
        with self.db.write() as conn:
            if conn.execute("UPDATE messages SET stage = 1, port = ? WHERE id = ? AND stage = 0",
                            (number, message_id)).rowcount != 1:
                return False
            conn.execute("INSERT OR REPLACE INTO connection_sends(message_id, connection, "
                         "remote_id, state, detail, updated) VALUES (?, ?, '', 'on_air', '', ?)",
                         (message_id, connection_id, now))
        return True

    def give_back(self, message_id: int) -> None:
        """A claimed message that never reached the provider (the connection went down first):
        waiting again, for the connection or the rule's next tier."""
        with self.db.write() as conn:
            if conn.execute("DELETE FROM connection_sends WHERE message_id = ? AND "
                            "state = 'on_air'", (message_id,)).rowcount:
                conn.execute("UPDATE messages SET stage = 0, port = NULL WHERE id = ? AND "
                             "stage = 1", (message_id,))

    def sent(self, message_id: int, remote_id: str, now: float) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE connection_sends SET state = 'sent', remote_id = ?, updated = ? "
                         "WHERE message_id = ?", (remote_id, now, message_id))
            self._final(conn, message_id, "SENT_OK", "", now)

    def failed(self, message_id: int, reason: str, now: float, status: str = "FAILED") -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE connection_sends SET state = 'failed', detail = ?, updated = ? "
                         "WHERE message_id = ?", (reason, now, message_id))
            self._final(conn, message_id, status, reason, now)

    def _final(self, conn: sqlite3.Connection, message_id: int, status: str, reason: str,
               now: float) -> None:
        if not conn.execute("UPDATE messages SET status = ?, stage = 2, done = ?, reason = ?, "
                            "succ_count = CASE WHEN ? = 'SENT_OK' THEN count ELSE 0 END, "
                            "time = ? WHERE id = ? AND stage = 1",
                            (status, now, reason, status, now, message_id)).rowcount:
            return
        self._result_event(conn, message_id, now)
        # The outbox counts messages not yet final; this one became final outside it.
        self.db.after_commit(lambda: self.outbox._queue_add(-1))

    def _result_event(self, conn: sqlite3.Connection, message_id: int, now: float) -> None:
        row = conn.execute(f"SELECT {RESULT_COLUMNS} FROM messages m WHERE m.id = ?",
                           (message_id,)).fetchone()
        self.events.emit(conn, "sms_result", asdict(result_from_row(row)), now)

    def receipt(self, connection_id: int, number: int, remote_id: str, delivered: bool,
                now: float) -> int | None:
        """A provider's delivery receipt for `remote_id`: stored as a delivery report of the
        connection's number, the message DELIVERED when it says so. The message id, if known."""
        with self.db.write() as conn:
            row = conn.execute("SELECT s.message_id, m.number, m.task_id FROM connection_sends s "
                               "JOIN messages m ON m.id = s.message_id WHERE s.connection = ? "
                               "AND s.remote_id = ? AND s.remote_id != ''",
                               (connection_id, remote_id)).fetchone()
            if row is None:
                return None
            message_id, recipient, task_id = row
            st = ST_DELIVERED if delivered else ST_FAILED
            conn.execute("UPDATE connection_sends SET state = ?, updated = ? WHERE message_id = ?",
                         ("delivered" if delivered else "undelivered", now, message_id))
            conn.execute("INSERT INTO delivery_reports(port, slot, imsi, mr, number, st, scts, "
                         "discharge, received, time, part_id, message_id) "
                         "VALUES (?, 0, '', 0, ?, ?, NULL, ?, ?, ?, NULL, ?)",
                         (number, recipient, st, now, now, now, message_id))
            self.events.emit(conn, "sms_deliver_status", {
                "port": number, "number": recipient, "time": fmt_time(now), "ref_id": 0,
                "status_code": st, "imsi": "", "message_id": message_id, "task_id": task_id},
                now)
            if delivered and conn.execute(
                    "UPDATE messages SET status = 'DELIVERED', done = ? WHERE id = ? AND "
                    "status = 'SENT_OK'", (now, message_id)).rowcount:
                self._result_event(conn, message_id, now)
        return int(message_id)

    def state(self, message_id: int) -> tuple[str, str, str] | None:
        """(state, remote id, detail) of a message a connection handled."""
        row = self.db.conn().execute("SELECT state, remote_id, detail FROM connection_sends "
                                     "WHERE message_id = ?", (message_id,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def recover_after_restart(self, now: float) -> int:
        """Claims still on the air when the box stopped: UNKNOWN, outcome unknown."""
        ids = [r[0] for r in self.db.conn().execute(
            "SELECT message_id FROM connection_sends WHERE state = 'on_air'").fetchall()]
        for message_id in ids:
            self.failed(message_id, REASON_UNKNOWN, now, status=UNKNOWN)
        return len(ids)
