"""Task payloads (flash, binary, UDH), subscription lists, reply tracking and STOP.

Two repositories over the `Database`: `Payloads` reads a task's payload kind, `Subscriptions`
keeps the lists. Every subscription change appends a `subscription` event in the same transaction as
the change (push targets hear of it if and only if it was committed):

    subscription: sublistname, sublisttype (2 = user list), msisdn, action (1 opt-in,
                  2 opt-out, 3 deleted), source (1 inbound SMS, 7 API), time (epoch seconds)

An inbound SMS whose text is a stop word ("STOP", optionally followed by a list name) opts its
sender out of that list, or of every list the sender is in, in the transaction that stores the
SMS (`inbound_extras`, called by the inbox). The same call finds the `usercontext` of the most
recent message sent to the sender with one, so a reply can be forwarded with its context.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from smsd.numbers import same_subscriber
from smsd.store.events import Events
from smsd.store.sqlite import Database

STATE_IN, STATE_OUT = 1, 2
ACTION_IN, ACTION_OUT, ACTION_DELETE = 1, 2, 3
SOURCE_INBOUND_SMS, SOURCE_API = 1, 7
USER_LIST = 2
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT"})
REPLY_LOOKBACK = 500          # recent messages with a usercontext searched for a reply's sender

Emit = Callable[[sqlite3.Connection, str, dict[str, Any], float], None]


@dataclass(frozen=True)
class TaskPayload:
    flash: bool
    data: bytes | None
    udh: bytes

    @property
    def plain(self) -> bool:
        return not self.flash and self.data is None and not self.udh


class Payloads:
    """The payload kind of each task (what the scheduler needs to build its PDUs)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def of_task(self, task_id: int) -> TaskPayload | None:
        """The task's payload kind, or None for a plain text task (the common case)."""
        return _task_payload(self.db, task_id)


def _task_payload(db: Database, task_id: int) -> TaskPayload | None:
    row = db.conn().execute("SELECT flash, data, udh FROM tasks WHERE id = ?",
                            (task_id,)).fetchone()
    if row is None:
        return None
    payload = TaskPayload(bool(row[0]), None if row[1] is None else bytes(row[1]),
                          bytes(row[2] or b""))
    return None if payload.plain else payload


# --- subscription lists ---------------------------------------------------------------------------
class Subscriptions:
    """Subscription lists; every change emits a `subscription` event in its transaction."""

    def __init__(self, db: Database, events: Events) -> None:
        self.db = db
        self.events = events

    def update(self, list_name: str, digits: str, action: int, source: int, now: float) -> None:
        """`digits`: the subscriber as smsd.numbers.msisdn writes it (the service checked it)."""
        with self.db.write() as conn:
            _apply(conn, self.events.emit, list_name, digits, action, source, now)

    def lists(self) -> list[str]:
        return [r[0] for r in
                self.db.conn().execute("SELECT DISTINCT list FROM subscriptions ORDER BY list")]

    def subscribers(self, list_name: str, state: int = STATE_IN) -> list[str]:
        return [r[0] for r in self.db.conn().execute(
            "SELECT msisdn FROM subscriptions WHERE list = ? AND state = ? "
            "ORDER BY updated, msisdn", (list_name, state))]

    def opted_out(self, list_name: str, numbers: Sequence[str]) -> set[str]:
        """The numbers (as given) that opted out of `list_name`."""
        out = self.subscribers(list_name, STATE_OUT)
        return {n for n in numbers if any(same_subscriber(n, o) for o in out)}

    def inbound_extras(self, conn: sqlite3.Connection, sender: str, text: str,
                       now: float) -> dict[str, Any]:
        """Act on a stop word and find the reply's usercontext (inside the inbox's
        transaction); extra `sms` event fields."""
        _maybe_stop(conn, self.events.emit, sender, text, now)
        context = reply_context(conn, sender)
        return {"usercontext": context} if context else {}


def _apply(conn: sqlite3.Connection, emit: Emit, list_name: str, digits: str, action: int,
           source: int, now: float) -> None:
    if action == ACTION_DELETE:
        conn.execute("DELETE FROM subscriptions WHERE list = ? AND msisdn = ?", (list_name, digits))
    else:
        state = STATE_IN if action == ACTION_IN else STATE_OUT
        conn.execute("INSERT INTO subscriptions(list, msisdn, state, updated) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(list, msisdn) DO UPDATE SET state = excluded.state, "
                     "updated = excluded.updated", (list_name, digits, state, now))
    emit(conn, "subscription", {"sublistname": list_name, "sublisttype": USER_LIST,
                                "msisdn": digits, "action": action, "source": source,
                                "time": now}, now)


# --- inbound hook ---------------------------------------------------------------------------------
def _maybe_stop(conn: sqlite3.Connection, emit: Emit, sender: str, text: str,
                now: float) -> None:
    words = text.strip().split(None, 1)
    if not words or words[0].upper().strip(".!") not in STOP_WORDS:
        return
    wanted = words[1].strip() if len(words) > 1 else None
    rows = conn.execute("SELECT list, msisdn FROM subscriptions WHERE state = ? ORDER BY list",
                        (STATE_IN,)).fetchall()
    for list_name, digits in rows:
        if same_subscriber(digits, sender) and (wanted is None or list_name.lower() ==
                                                 wanted.lower()):
            _apply(conn, emit, list_name, digits, ACTION_OUT, SOURCE_INBOUND_SMS, now)


def reply_context(conn: sqlite3.Connection, sender: str) -> str:
    """usercontext of the most recent message sent to `sender` with one, else ""."""
    rows = conn.execute(
        "SELECT t.usercontext, m.number FROM tasks t JOIN messages m ON m.task_id = t.id "
        "WHERE t.usercontext != '' AND m.stage > 0 ORDER BY t.id DESC, m.id DESC LIMIT ?",
        (REPLY_LOOKBACK,)).fetchall()
    for context, number in rows:
        if same_subscriber(number, sender):
            return str(context)
    return ""
