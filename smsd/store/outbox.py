"""Outgoing messages: intake, dispatch bookkeeping, results, stop, crash recovery.

Theory of operation. Intake writes one `tasks` row and one `messages` row per recipient
(stage 0, no parts: PDUs are built at dispatch time so that intake stays a single executemany).
The scheduler materialises a message into `parts` rows when a port wants work (stage 1) and
leases parts to ports. A part's life:

    queued -> leased (handed to a worker's queue) -> on_air (committed by part_starting before
    AT+CMGS) -> sent | failed | queued again (temporary failure, another port, backoff)
    queued/leased -> stopped (stop_task, or a sibling failed for good)
    on_air at start-up -> unknown (we cannot know whether it left; never resent), or queued again
    when the task's user chose `resend_unknown` (docs/durability.md)
    on_air -> unknown too when a worker reports a failure with no +CMS verdict after the PDU
    reached the modem (timeout, port lost); a +CMS error means "not sent": retried elsewhere.

A message is final (stage 2) once none of its parts is queued, leased or on_air: SENT_OK when all
parts were sent, UNKNOWN when a part's outcome is unknown and none failed, else FAILED. Status
reports may later lift SENT_OK to DELIVERED (inbox.py calls `maybe_delivered`).
Every final transition appends an `sms_result` event in the same transaction.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence, TypeVar

from smsd.model import MessageState, SendResult, SmsResult
from smsd.numbers import same_subscriber
from smsd.store.events import Events
from smsd.store.sqlite import Database
from smsd.store.times import fmt_time
from smsd.store.users import debit, owned_term

log = logging.getLogger("smsd.outbox")

T = TypeVar("T")
OPEN = ("queued", "leased", "on_air")
UNKNOWN = "UNKNOWN"       # a message's status when a part's outcome is unknown (migration 0014)
REASON_UNKNOWN = "outcome-unknown"
REASON_STOPPED = "stopped"

# (number, text or None for the task's text, user_id, part count)
IntakeRow = tuple[str, "str | None", "int | None", int]

# A message's own ports from a routing rule, tiers in fall-back order: "0,1;2" (migration 0011).
Tiers = tuple[tuple[int, ...], ...]
# Per intake row: (its tiers as stored, or None for the task's ports; why it cannot be sent, or
# "" when it can: such a message is FAILED in the intake's own transaction).
RowRoute = tuple["str | None", str]


@dataclass(frozen=True)
class TaskExtra:
    """Task attributes beyond the JSON API's (issue 4)."""

    sender: str = ""
    priority: int = 0
    dialect: str = ""
    debit: int = 0            # credits to take from the task's user, 0 = none
    flash: bool = False       # issue 5 payload kinds, applied when the PDUs are built
    data: bytes | None = None
    udh: bytes = b""
    usercontext: str = ""


@dataclass(frozen=True)
class WaitingMessage:
    id: int
    task_id: int
    number: str
    text: str
    encoding: str
    srr: bool
    ports: tuple[int, ...] | None
    priority: int = 0         # higher goes first (the task's; issue 4)
    count: int = 1            # parts counted (and charged) at intake: it may not go out in more
    tiers: Tiers = ()         # a routing rule's ports in fall-back order (docs/routing.md)

    @property
    def rank(self) -> tuple[int, int]:
        """(priority, id): the cursor `Store.waiting` continues after."""
        return self.priority, self.id


@dataclass(frozen=True)
class QueuedPart:
    id: int
    message_id: int
    pref_port: int | None
    avoid_port: int | None
    ports: tuple[int, ...] | None
    pdu: str
    tpdu_len: int
    next_try: float
    tiers: Tiers = ()         # as WaitingMessage.tiers


@dataclass(frozen=True)
class Recovery:
    unknown: int          # parts that were on the air: outcome unknown, message UNKNOWN
    requeued: int         # parts leased but never started: back in the queue
    resent: int = 0       # parts on the air queued again by their user's resend_unknown


def ports_text(ports: Sequence[int] | None) -> str | None:
    return None if ports is None else ",".join(str(p) for p in ports)


def ports_tuple(text: str | None) -> tuple[int, ...] | None:
    return None if text is None else tuple(int(p) for p in text.replace(";", ",").split(",") if p)


def tiers_of(text: str | None) -> Tiers:
    """The fall-back tiers of a message's own ports (() for one tier or the task's ports)."""
    if text is None or ";" not in text:
        return ()
    return tuple(tuple(int(p) for p in tier.split(",") if p) for tier in text.split(";") if tier)


def in_list(column: str, values: Sequence[Any] | None, where: list[str], args: list[Any]) -> None:
    """Append `column IN (?, ...)` to a WHERE clause under construction."""
    if values is None:
        return
    where.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
    args.extend(values)


def between(column: str, after: float | None, before: float | None, where: list[str],
            args: list[Any]) -> None:
    """Append the inclusive time bounds a query gives (None: no bound) to a WHERE clause."""
    if after is not None:
        where.append(f"{column} >= ?")
        args.append(after)
    if before is not None:
        where.append(f"{column} <= ?")
        args.append(before)


_INSERT_MESSAGES = "INSERT INTO messages(task_id, number, text, user_id, count, time, priority) "
# A task's messages in one statement: its rows as one JSON array that json_each unrolls inside
# SQLite, in array order (ORDER BY key), each row's (number, text, user_id, count) by position.
_MESSAGES_FROM_JSON = _INSERT_MESSAGES + (
    "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]'), ?, ? FROM json_each(?) ORDER BY key")


def _insert_messages(conn: sqlite3.Connection, task_id: int, rows: Sequence[IntakeRow],
                     now: float, priority: int) -> range:
    """Insert a task's messages; their ids (AUTOINCREMENT: one writer at a time, so the rows of
    one intake get consecutive ids, the last one last_insert_rowid).

    Why one statement: executemany steps once per row, and each step lets go of the GIL and
    takes it back (a thread switch each under load), 128 times for a bulk request, while the
    write lock is held; one INSERT ... SELECT from json_each is one step, and ~1/3 less CPU.
    A text with a NUL character keeps executemany: SQLite's JSON functions end a string at it.
    A single row is one plain INSERT (no JSON, no last_insert_rowid() query after it)."""
    if len(rows) == 1:              # a single recipient: its id is the statement's lastrowid
        number, text, user_id, count = rows[0]
        cur = conn.execute(_INSERT_MESSAGES + "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (task_id, number, text, user_id, count, now, priority))
        last = int(cur.lastrowid or 0)
    elif not any(text is not None and "\x00" in text for _, text, _, _ in rows):
        cur = conn.execute(_MESSAGES_FROM_JSON,
                           (task_id, now, priority, json.dumps(rows, ensure_ascii=False)))
        last = int(cur.lastrowid or 0)
    else:
        conn.executemany(_INSERT_MESSAGES + "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [(task_id, n, t, u, k, now, priority) for n, t, u, k in rows])
        last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
    return range(last - len(rows) + 1, last + 1)


class Outbox:
    """Tasks, messages and parts from intake to a final result (see the module docstring)."""

    def __init__(self, db: Database, events: Events, *, group_commit: bool = True) -> None:
        self.db = db
        self.events = events
        self.group_commit = group_commit
        self._queue_lock = threading.Lock()
        self._in_queue = 0
        self._new_priority: int | None = None
        # Results posted without waiting (part_result_nowait) and not committed yet, per port,
        # and how many of them are failures (on any port): part_starting queues behind them.
        self._unsettled: dict[int, int] = {}
        self._unsettled_failures = 0
        self._unsettled_lock = threading.Lock()
        # The SIM slot a port sends from now, for the log's "sent" line (the daemon sets it
        # to ask the scheduler; the store itself does not know slots).
        self.slot_of: Callable[[int], int | None] = lambda port: None
        self._recount_queue()

    # --- queue counter --------------------------------------------------------------------------
    def _recount_queue(self) -> None:
        row = self.db.conn().execute("SELECT count(*) FROM messages WHERE stage < 2").fetchone()
        with self._queue_lock:
            self._in_queue = int(row[0])

    def _queue_add(self, n: int) -> None:
        with self._queue_lock:
            self._in_queue += n

    def in_queue(self) -> int:
        """Messages accepted and not yet final (waiting or being sent)."""
        return self._in_queue

    def left_queued(self) -> int:
        """Messages not final with no part on the air: what the next start sends (a message with
        a part on the air at start-up becomes FAILED, outcome unknown)."""
        row = self.db.conn().execute(
            "SELECT count(*) FROM messages m WHERE m.stage < 2 AND NOT EXISTS "
            "(SELECT 1 FROM parts p WHERE p.message_id = m.id AND p.status = 'on_air')").fetchone()
        return int(row[0])

    def _note_priority(self, priority: int) -> None:
        with self._queue_lock:
            if self._new_priority is None or priority > self._new_priority:
                self._new_priority = priority

    def take_new_priority(self) -> int | None:
        """The highest priority of the messages accepted since the last call (None: none).

        The scheduler reads `waiting` with a cursor; a message ranking before the cursor (a
        higher priority than the last one it read) would be missed without this hint."""
        with self._queue_lock:
            top, self._new_priority = self._new_priority, None
        return top

    # --- intake ---------------------------------------------------------------------------------
    def _grouped(self, fn: Callable[[], T], *, behind_queued: bool = True) -> T:
        return self.db.grouped(fn, behind_queued=behind_queued) if self.group_commit else fn()

    def intake(self, *, user: str, text: str, encoding: str, srr: bool,
               ports: Sequence[int] | None, rows: Sequence[IntakeRow], now: float,
               extra: TaskExtra = TaskExtra(),
               routes: Sequence[RowRoute] | None = None) -> tuple[int, range]:
        """Commit a task and its messages; return (task_id, message ids) after the commit.

        With `extra.debit` > 0 the user's credits are taken in the same transaction (all or
        nothing: InsufficientCredit leaves no trace). `routes`, one per row, gives messages
        their own ports (a routing rule's) or fails them at once with the reason."""
        return self._grouped(lambda: self._intake(user, text, encoding, srr, ports, rows, now,
                                                  extra, routes))

    def _intake(self, user: str, text: str, encoding: str, srr: bool, ports: Sequence[int] | None,
                rows: Sequence[IntakeRow], now: float, extra: TaskExtra,
                routes: Sequence[RowRoute] | None = None) -> tuple[int, range]:
        with self.db.write() as conn:
            if extra.debit:
                debit(conn, user, extra.debit)
            cur = conn.execute("INSERT INTO tasks(user, text, encoding, srr, ports, created, "
                               "sender, priority, dialect, flash, data, udh, usercontext) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               (user, text, encoding, int(srr), ports_text(ports), now,
                                extra.sender, extra.priority, extra.dialect, int(extra.flash),
                                extra.data, extra.udh, extra.usercontext))
            task_id = int(cur.lastrowid or 0)
            ids = _insert_messages(conn, task_id, rows, now, extra.priority)
            self.db.after_commit(lambda: self._accepted(len(rows), extra.priority))
            if routes is not None:
                self._route_rows(conn, ids, routes, now)
        return task_id, ids

    def _route_rows(self, conn: sqlite3.Connection, ids: range, routes: Sequence[RowRoute],
                    now: float) -> None:
        conn.executemany("UPDATE messages SET ports = ? WHERE id = ?",
                         [(tiers, i) for i, (tiers, _) in zip(ids, routes) if tiers is not None])
        for message_id, (_, reason) in zip(ids, routes):
            if reason:
                conn.execute("UPDATE messages SET stage = 1, reason = ? WHERE id = ?",
                             (reason, message_id))
                self._settle(conn, message_id, now)

    def _accepted(self, messages: int, priority: int) -> None:
        self._queue_add(messages)
        self._note_priority(priority)

    # --- dispatch -------------------------------------------------------------------------------
    def waiting(self, after_id: int, limit: int, *,
                after_priority: int | None = None) -> list[WaitingMessage]:
        """Waiting messages in rank order: higher priority first, oldest first within one.

        With `after_priority` the page continues after the rank (after_priority, after_id) (see
        `WaitingMessage.rank`); without it, it holds the messages with an id above `after_id`."""
        args: tuple[int, ...]
        if after_priority is None:
            where, args = "m.id > ?", (after_id,)
        else:
            where, args = ("(m.priority < ? OR (m.priority = ? AND m.id > ?))",
                           (after_priority, after_priority, after_id))
        rows = self.db.conn().execute(
            "SELECT m.id, m.task_id, m.number, coalesce(m.text, t.text), t.encoding, t.srr, "
            "coalesce(m.ports, t.ports), m.priority, m.count FROM messages m "
            "JOIN tasks t ON t.id = m.task_id "
            f"WHERE m.stage = 0 AND {where} ORDER BY m.priority DESC, m.id LIMIT ?",
            (*args, limit)).fetchall()
        return [WaitingMessage(r[0], r[1], r[2], r[3], r[4], bool(r[5]), ports_tuple(r[6]), r[7],
                               r[8], tiers_of(r[6])) for r in rows]

    def materialize(self, message_id: int, port: int, parts: Sequence[tuple[int, int, str, int]],
                    now: float, encoding: str = "") -> list[int] | None:
        """Create the parts of a waiting message, pinned to `port`, the first one leased to it.

        `parts` are (seq, total, pdu_hex, tpdu_len), `encoding` their alphabet (gsm7 | ucs2 |
        8bit). None when the message is no longer waiting (stopped meanwhile)."""
        with self.db.write() as conn:
            if conn.execute("UPDATE messages SET stage = 1, count = ?, encoding = ? "
                            "WHERE id = ? AND stage = 0",
                            (len(parts), encoding, message_id)).rowcount != 1:
                return None
            ids = [self._insert_part(conn, message_id, port, part, now if i == 0 else None)
                   for i, part in enumerate(parts)]
        return ids

    @staticmethod
    def _insert_part(conn: sqlite3.Connection, message_id: int, port: int,
                     part: tuple[int, int, str, int], leased: float | None) -> int:
        seq, total, pdu, tpdu_len = part
        status, holder = ("leased", port) if leased is not None else ("queued", None)
        cur = conn.execute("INSERT INTO parts(message_id, seq, total, pdu, tpdu_len, status, port, "
                           "pref_port, leased) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (message_id, seq, total, pdu, tpdu_len, status, holder, port, leased))
        return int(cur.lastrowid or 0)

    def queued_parts(self, limit: int = 500) -> list[QueuedPart]:
        rows = self.db.conn().execute(
            "SELECT p.id, p.message_id, p.pref_port, p.avoid_port, coalesce(m.ports, t.ports), "
            "p.pdu, p.tpdu_len, "
            "p.next_try FROM parts p JOIN messages m ON m.id = p.message_id "
            "JOIN tasks t ON t.id = m.task_id WHERE p.status = 'queued' ORDER BY p.id LIMIT ?",
            (limit,)).fetchall()
        return [QueuedPart(r[0], r[1], r[2], r[3], ports_tuple(r[4]), r[5], r[6], r[7],
                           tiers_of(r[4])) for r in rows]

    def lease(self, part_id: int, port: int, now: float) -> bool:
        with self.db.write() as conn:
            return conn.execute("UPDATE parts SET status = 'leased', port = ?, leased = ? "
                                "WHERE id = ? AND status = 'queued'",
                                (port, now, part_id)).rowcount == 1

    def unlease(self, part_ids: Iterable[int]) -> list[int]:
        """Return leased-but-not-started parts to the queue; the ids that were still leased."""
        back: list[int] = []
        with self.db.write() as conn:
            for part_id in part_ids:
                # The holder looks unwell: let any other port take the part.
                if conn.execute("UPDATE parts SET status = 'queued', avoid_port = port, "
                                "port = NULL, pref_port = NULL, leased = NULL "
                                "WHERE id = ? AND status = 'leased'", (part_id,)).rowcount:
                    back.append(part_id)
        return back

    def part_starting(self, port: int, part_id: int, now: float) -> bool:
        """Durably mark a part on the air; False when it is no longer leased to `port`.

        It must commit after any queued result that may fail this part's message: the port's
        own previous result, and a failure on any port (a retried part or a pinned part another
        port took can put one message's parts on two ports, and a final failure on one stops
        the parts leased to the other). With neither queued, nothing in the commit queue
        concerns this part, so it need not wait behind other ports' successes: a worker waits
        for its on_air mark before each part, and queueing behind the group commit was most of
        the ~3 ms a port lost between two parts."""
        with self._unsettled_lock:
            behind = self._unsettled.get(port, 0) > 0 or self._unsettled_failures > 0
        return self._grouped(lambda: self._part_starting(port, part_id, now),
                             behind_queued=behind)

    def _part_starting(self, port: int, part_id: int, now: float) -> bool:
        with self.db.write() as conn:
            return conn.execute("UPDATE parts SET status = 'on_air', leased = ? "
                                "WHERE id = ? AND status = 'leased' AND port = ?",
                                (now, part_id, port)).rowcount == 1

    def part_result(self, port: int, result: SendResult, *, imsi: str, now: float,
                    max_attempts: int, backoff: float) -> bool:
        """Record one send attempt; False when the part was not ours to settle (stale report)."""
        return self._grouped(lambda: self._part_result(port, result, imsi, now, max_attempts,
                                                       backoff))

    def part_result_nowait(self, port: int, result: SendResult, *, imsi: str, now: float,
                           max_attempts: int, backoff: float,
                           then: Callable[[bool | None, BaseException | None], None]) -> None:
        """part_result without waiting for the disk; `then(settled, error)` after the commit.

        Safe because a result lost in a crash leaves the part on_air, which recovery turns into
        `unknown`: the same outcome as a crash a moment before the result came."""
        def run() -> bool:
            return self._part_result(port, result, imsi, now, max_attempts, backoff)
        if self.group_commit:
            failure = int(not result.ok)
            with self._unsettled_lock:
                self._unsettled[port] = self._unsettled.get(port, 0) + 1
                self._unsettled_failures += failure

            def committed(ok: bool | None, error: BaseException | None) -> None:
                with self._unsettled_lock:
                    self._unsettled[port] -= 1
                    self._unsettled_failures -= failure
                then(ok, error)
            self.db.post(run, committed)
            return
        try:
            settled = run()
        except Exception as exc:   # noqa: BLE001 - handed to the callback like the async path
            then(None, exc)
            return
        then(settled, None)

    def _part_result(self, port: int, result: SendResult, imsi: str, now: float,
                     max_attempts: int, backoff: float) -> bool:
        with self.db.write() as conn:
            row = conn.execute("SELECT message_id, seq, status, attempts, port FROM parts "
                               "WHERE id = ?", (result.part_id,)).fetchone()
            if row is None or row[2] not in ("leased", "on_air") or row[4] != port:
                return False
            message_id, seq, _, attempts, _ = row
            if result.ok:
                self._part_sent(conn, port, result, message_id, seq, imsi, now)
            elif not result.on_air:
                self._part_requeue(conn, result, port, attempts, now + min(backoff, 1.0))
            elif result.cms is None and not result.permanent:
                # On the air and no verdict (timeout, port lost): it may have gone out, so it
                # must not be resent.
                self._part_failed(conn, port, result, message_id, "unknown", REASON_UNKNOWN)
            elif result.permanent or attempts + 1 >= max_attempts:
                self._part_failed(conn, port, result, message_id)
            else:
                self._part_requeue(conn, result, port, attempts + 1, now + backoff * (attempts + 1))
            self._settle(conn, message_id, now)
        return True

    def _part_sent(self, conn: sqlite3.Connection, port: int, result: SendResult,
                   message_id: int, seq: int, imsi: str, now: float) -> None:
        if log.isEnabledFor(logging.INFO):
            self.db.after_commit(lambda: log.info(
                "message %d: part %d sent on port %d, slot %s, reference %s", message_id, seq,
                port, self._slot_text(port), result.mr))
        conn.execute("UPDATE parts SET status = 'sent', mr = ?, sent = ?, imsi = ?, port = ? "
                     "WHERE id = ?", (result.mr, now, imsi, port, result.part_id))
        if result.mr is not None:
            _match_early_report(conn, port, result.mr, message_id, result.part_id, now)
        if seq == 1:
            conn.execute("UPDATE messages SET succ_count = succ_count + 1, port = ?, imsi = ?, "
                         "ref_id = ?, time = ? WHERE id = ?",
                         (port, imsi, result.mr, now, message_id))
        else:
            conn.execute("UPDATE messages SET succ_count = succ_count + 1, "
                         "port = coalesce(port, ?), imsi = CASE WHEN port IS NULL THEN ? "
                         "ELSE imsi END WHERE id = ?", (port, imsi, message_id))

    def _slot_text(self, port: int) -> str:
        try:
            slot = self.slot_of(port)
        except Exception:          # noqa: BLE001 - a log line must not break a commit hook
            slot = None
        return "-" if slot is None or slot == 255 else str(slot)

    @staticmethod
    def _part_requeue(conn: sqlite3.Connection, result: SendResult, port: int, attempts: int,
                      next_try: float) -> None:
        # Another port next time: the failure may be this SIM's (credit, barring, network).
        conn.execute("UPDATE parts SET status = 'queued', port = NULL, leased = NULL, "
                     "pref_port = NULL, avoid_port = ?, attempts = ?, next_try = ?, cms = ?, "
                     "error = ? WHERE id = ?",
                     (port, attempts, next_try, result.cms, result.error, result.part_id))

    @staticmethod
    def _part_failed(conn: sqlite3.Connection, port: int, result: SendResult, message_id: int,
                     status: str = "failed", reason: str = "") -> None:
        conn.execute("UPDATE parts SET status = ?, attempts = attempts + 1, cms = ?, "
                     "error = ?, port = ? WHERE id = ?",
                     (status, result.cms, result.error, port, result.part_id))
        reason = reason or result.error or (f"CMS {result.cms}" if result.cms is not None
                                            else "failed")
        conn.execute("UPDATE messages SET reason = ? WHERE id = ?", (reason, message_id))
        # The message has failed; its remaining parts would only confuse the recipient.
        conn.execute("UPDATE parts SET status = 'stopped' WHERE message_id = ? "
                     "AND status IN ('queued', 'leased')", (message_id,))

    def _settle(self, conn: sqlite3.Connection, message_id: int, now: float) -> None:
        """Make the message final if none of its parts is still open."""
        counts = dict(conn.execute("SELECT status, count(*) FROM parts WHERE message_id = ? "
                                   "GROUP BY status", (message_id,)).fetchall())
        if any(counts.get(s) for s in OPEN):
            return
        row = conn.execute("SELECT count FROM messages WHERE id = ? AND stage < 2",
                           (message_id,)).fetchone()
        if row is None:
            return
        status = final_status(counts, row[0])
        conn.execute("UPDATE messages SET status = ?, stage = 2, done = ? WHERE id = ?",
                     (status, now, message_id))
        self._log_final(conn, message_id, status)
        self._result_event(conn, message_id, now)
        self.db.after_commit(lambda: self._queue_add(-1))
        if status == "SENT_OK":
            self.maybe_delivered(conn, message_id, now)   # reports may have come first

    def maybe_delivered(self, conn: sqlite3.Connection, message_id: int, now: float) -> None:
        """SENT_OK -> DELIVERED once every part has a 'delivered' status report."""
        if conn.execute(
                "UPDATE messages SET status = 'DELIVERED', done = ? WHERE id = ? AND "
                "status = 'SENT_OK' AND count = (SELECT count(*) FROM parts WHERE "
                "message_id = ? AND status = 'sent' AND delivered = 1)",
                (now, message_id, message_id)).rowcount:
            self._log_final(conn, message_id, "DELIVERED")
            self._result_event(conn, message_id, now)

    def _log_final(self, conn: sqlite3.Connection, message_id: int, status: str) -> None:
        """A message's final step in the log, once committed (docs/logs.md)."""
        if not log.isEnabledFor(logging.INFO):
            return
        if status == "DELIVERED":
            self.db.after_commit(lambda: log.info(
                "message %d: delivered (every part's status report says so)", message_id))
            return
        if status == "SENT_OK":
            return               # its parts' "sent" lines said it
        row = conn.execute("SELECT reason FROM messages WHERE id = ?", (message_id,)).fetchone()
        cause = (row[0] if row else "") or "no cause recorded"
        word = "failed" if status == "FAILED" else "outcome unknown"
        self.db.after_commit(lambda: log.info("message %d: %s: %s", message_id, word, cause))

    def _result_event(self, conn: sqlite3.Connection, message_id: int, now: float) -> None:
        row = conn.execute(f"SELECT {RESULT_COLUMNS} FROM messages m WHERE m.id = ?",
                           (message_id,)).fetchone()
        payload = asdict(result_from_row(row))
        self.events.emit(conn, "sms_result", payload, now)

    def fail_message(self, message_id: int, reason: str, now: float) -> None:
        """A waiting message that cannot be sent at all (e.g. its text does not encode)."""
        with self.db.write() as conn:
            if conn.execute("UPDATE messages SET stage = 1, reason = ? WHERE id = ? AND stage = 0",
                            (reason, message_id)).rowcount:
                self._settle(conn, message_id, now)

    # --- stop -----------------------------------------------------------------------------------
    def stop_task(self, task_id: int, now: float, owner: str | None = None) -> bool:
        """Stop what has not started; False when there is no such task (of `owner`, if given)."""
        term, args = owned_term("id", owner)
        with self.db.write() as conn:
            if conn.execute(f"UPDATE tasks SET stopped = 1 WHERE id = ? AND {term}",
                            (task_id, *args)).rowcount != 1:
                return False
            open_ids = [r[0] for r in conn.execute(
                "SELECT id FROM messages WHERE task_id = ? AND stage < 2", (task_id,))]
            for message_id in open_ids:
                conn.execute("UPDATE messages SET reason = ? WHERE id = ?",
                             (REASON_STOPPED, message_id))
                conn.execute("UPDATE parts SET status = 'stopped' WHERE message_id = ? "
                             "AND status IN ('queued', 'leased')", (message_id,))
                self._settle(conn, message_id, now)
        return True

    # --- crash recovery -------------------------------------------------------------------------
    def recover_after_restart(self, now: float | None = None) -> Recovery:
        """Settle what a crash left in flight. Call once at start, before any worker runs."""
        now = time.time() if now is None else now
        with self.db.write() as conn:
            resent = self._resend_on_air(conn)
            unknown = [r[0] for r in conn.execute(
                "UPDATE parts SET status = 'unknown', error = ? WHERE status = 'on_air' "
                "RETURNING message_id", (REASON_UNKNOWN,)).fetchall()]
            requeued = conn.execute("UPDATE parts SET status = 'queued', port = NULL, "
                                    "leased = NULL WHERE status = 'leased'").rowcount
            for message_id in sorted(set(unknown)):
                conn.execute("UPDATE messages SET reason = ? WHERE id = ?",
                             (REASON_UNKNOWN, message_id))
                conn.execute("UPDATE parts SET status = 'stopped' WHERE message_id = ? "
                             "AND status = 'queued'", (message_id,))
                self._settle(conn, message_id, now)
        for message_id in sorted(set(unknown)):
            log.warning("message %d: a part was handed to the modem before the stop and never "
                        "answered: outcome unknown, not resent", message_id)
        self._recount_queue()
        return Recovery(unknown=len(unknown), requeued=requeued, resent=len(resent))

    @staticmethod
    def _resend_on_air(conn: sqlite3.Connection) -> list[int]:
        """Queue again the parts on the air whose task's user chose `resend_unknown`: they may
        reach the recipient twice, which that user prefers to not at all."""
        resent = [r[0] for r in conn.execute(
            "UPDATE parts SET status = 'queued', port = NULL, leased = NULL, pref_port = NULL, "
            "avoid_port = port, attempts = attempts + 1, error = ? WHERE status = 'on_air' AND "
            "message_id IN (SELECT m.id FROM messages m JOIN tasks t ON t.id = m.task_id "
            "JOIN users u ON u.name = t.user WHERE u.resend_unknown = 1) RETURNING message_id",
            (REASON_UNKNOWN,)).fetchall()]
        for message_id in sorted(set(resent)):
            log.warning("message %d: a part was handed to the modem before the stop and never "
                        "answered: outcome unknown, resent (its user's resend_unknown)",
                        message_id)
        return resent

    # --- queries --------------------------------------------------------------------------------
    def query_sms_result(self, *, numbers: Sequence[str] | None = None,
                         ports: Sequence[int] | None = None, time_after: float | None = None,
                         time_before: float | None = None, user_ids: Sequence[int] | None = None,
                         limit: int = 10_000, owner: str | None = None) -> list[SmsResult]:
        """Newest `limit` results matching the filters (of `owner`'s tasks, if given)."""
        where: list[str] = []
        args: list[Any] = []
        if owner is not None:
            term, owner_args = owned_term("m.task_id", owner)
            where.append(term)
            args.extend(owner_args)
        in_list("m.number", numbers, where, args)
        in_list("m.port", ports, where, args)
        in_list("m.user_id", user_ids, where, args)
        between("m.time", time_after, time_before, where, args)
        sql = (f"SELECT * FROM (SELECT {RESULT_COLUMNS} FROM messages m "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY m.id DESC LIMIT ?) "
               "ORDER BY message_id")
        rows = self.db.conn().execute(sql, (*args, limit)).fetchall()
        return [result_from_row(r) for r in rows]


    def message_state(self, message_id: int) -> MessageState | None:
        found = self.task_message_states(message_id, 1)
        return found[0] if found else None

    def task_message_states(self, message_id: int, limit: int) -> list[MessageState]:
        """The message and the ones of its task after it, in id order, at most `limit`."""
        with self.db.snapshot() as conn:
            rows = conn.execute(f"SELECT {RESULT_COLUMNS}, m.reason, t.user, "
                                "coalesce(m.text, t.text) FROM messages m JOIN tasks t "
                                "ON t.id = m.task_id WHERE m.task_id = (SELECT task_id FROM "
                                "messages WHERE id = ?) AND m.id >= ? ORDER BY m.id LIMIT ?",
                                (message_id, message_id, limit)).fetchall()
            drs = [conn.execute("SELECT st FROM delivery_reports WHERE message_id = ? "
                                "ORDER BY id DESC LIMIT 1", (row[0],)).fetchone() for row in rows]
        return [MessageState(**asdict(result_from_row(row)),
                             dr_status=None if dr is None else dr[0], reason=row[12],
                             user=row[13], text=row[14])
                for row, dr in zip(rows, drs)]


def final_status(counts: dict[str, int], count: int) -> str:
    """A message's final status from its parts' statuses (status -> how many)."""
    if counts.get("sent", 0) == count:
        return "SENT_OK"
    # A part that may have gone out is no failure (a client would resend it) nor a success.
    if counts.get("unknown") and not counts.get("failed"):
        return UNKNOWN
    return "FAILED"


RESULT_COLUMNS = ("m.id AS message_id, m.task_id, m.port, m.number, m.user_id, m.time, m.status, "
                  "m.count, m.succ_count, m.ref_id, m.imsi, m.encoding")


def result_from_row(r: Sequence[Any]) -> SmsResult:
    return SmsResult(message_id=r[0], task_id=r[1], port=r[2], number=r[3], user_id=r[4],
                     time=fmt_time(r[5]), status=r[6], count=r[7], succ_count=r[8],
                     ref_id=r[9], imsi=r[10], encoding=r[11])


EARLY_REPORT_WINDOW = 5.0   # s: a part's reference comes round again only after 256 sends


def _match_early_report(conn: sqlite3.Connection, port: int, mr: int, message_id: int,
                        part_id: int, now: float) -> None:
    """A status report stored unmatched just before its part's 'sent' commit is the part's.

    The report comes on the modem's URC path while the part's result waits for its commit, so
    on a fast network (the simulator's: reports within 0.1 s; bench/soak.py found hundreds) it
    can be stored first, unmatched (inbox.py), and its message would stay SENT_OK for ever."""
    row = conn.execute("SELECT number FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        return
    for report_id, number, st in conn.execute(
            # `time` is an unmatched report's received time, and indexed: only the last seconds
            "SELECT id, number, st FROM delivery_reports WHERE time >= ? AND message_id IS NULL "
            "AND port = ? AND mr = ? ORDER BY time", (now - EARLY_REPORT_WINDOW, port, mr)
            ).fetchall():
        if same_subscriber(number, row[0]):
            conn.execute("UPDATE delivery_reports SET part_id = ?, message_id = ?, number = ? "
                         "WHERE id = ?", (part_id, message_id, row[0], report_id))
            # TS 23.040 9.2.3.15: TP-ST 0x00-0x1F is delivered (codec.status_category)
            conn.execute("UPDATE parts SET dr_status = ?, delivered = max(delivered, ?) "
                         "WHERE id = ?", (st, int(0 <= st <= 0x1F), part_id))
            return
