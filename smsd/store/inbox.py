"""What the network sends us: inbound SMS (with reassembly), status reports, USSD, registration.

Concatenated inbound SMS are reassembled by (SIM, sender, reference, total): the SIM is its IMSI
when known, else "port/slot". Parts wait in `inbound_parts`; the part that completes a message
inserts the whole message and its `sms` event in the same transaction, so a message is either
fully stored and announced or not at all. Duplicate parts (re-read from the SIM after a crash)
are ignored by the unique key.

Status reports are matched to the part they report on by port, TP-MR and recipient within a time
window. TP-MR is 8 bits and wraps, so the most recent sent part with that port+MR+number wins.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Sequence

from smsd.model import DeliverStatus, InboundSms, InboxFilter, InboxPage, PortInfo
from smsd.numbers import same_subscriber as numbers_match
from smsd.store.events import Events
from smsd.store.inbound_repeats import is_repeat
from smsd.store.outbox import Outbox, between, in_list
from smsd.store.sqlite import Database
from smsd.store.subscriptions import Subscriptions
from smsd.store.times import fmt_time
from smsd.store.users import inbound_visible_term, owned_term

FLAGS = {"unread": "read = 0", "read": "read = 1", "all": "1"}
INBOX_PAGE = 1000               # most messages one query_incoming returns


def _filter_terms(match: InboxFilter, where: list[str], args: list[Any]) -> None:
    """WHERE terms for an InboxFilter; `timestamp` is "YYYY-MM-DD HH:MM:SS"."""
    terms: list[tuple[str, str | None]] = [
        ("same_number(number, ?)", match.sender), ("substr(timestamp, 1, 10) >= ?", match.day_from),
        ("substr(timestamp, 1, 10) <= ?", match.day_to),
        ("substr(timestamp, 12, 8) >= ?", match.time_from),
        ("substr(timestamp, 12, 8) <= ?", match.time_to), ("text = ?", match.text)]
    for term, value in terms:
        if value is not None:
            where.append(term)
            args.append(value)


def _viewer_term(viewer: str | None, where: list[str], args: list[Any]) -> None:
    if viewer is not None:
        term, more = inbound_visible_term("inbound", viewer)
        where.append(term)
        args.extend(more)


class Inbox:
    """What the network sends us; status reports settle messages through the outbox."""

    def __init__(self, db: Database, events: Events, outbox: Outbox,
                 subscriptions: Subscriptions) -> None:
        self.db = db
        self.events = events
        self.outbox = outbox
        self.subscriptions = subscriptions

    # --- inbound SMS ----------------------------------------------------------------------------
    def add_inbound(self, *, port: int, slot: int, imsi: str, sender: str, smsc: str,
                    scts: float | None, text: str, concat: tuple[int, int, int] | None,
                    now: float) -> int | None:
        """Store one received part; the id of the inbound message when it is now complete."""
        with self.db.write() as conn:
            if concat is None or not 1 <= concat[2] <= concat[1] or concat[1] == 1:
                return self._insert_inbound(conn, port, slot, imsi, sender, smsc, scts, text, now)
            ref, total, seq = concat
            key = imsi or f"{port}/{slot}"
            conn.execute("INSERT OR IGNORE INTO inbound_parts(key, sender, ref, total, seq, text, "
                         "port, slot, imsi, smsc, scts, received) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (key, sender, ref, total, seq, text, port, slot, imsi, smsc, scts, now))
            group = (key, sender, ref, total)
            rows = conn.execute("SELECT text, scts, smsc FROM inbound_parts WHERE key = ? AND "
                                "sender = ? AND ref = ? AND total = ? ORDER BY seq",
                                group).fetchall()
            if len(rows) < total:
                return None
            conn.execute("DELETE FROM inbound_parts WHERE key = ? AND sender = ? AND ref = ? "
                         "AND total = ?", group)
            whole = "".join(r[0] for r in rows)
            return self._insert_inbound(conn, port, slot, imsi, sender, rows[0][2], rows[0][1],
                                        whole, now)

    def flush_stale_inbound(self, now: float, max_age: float) -> int:
        """Deliver incomplete concatenated messages whose first part is older than `max_age`.

        A lost part must not hold the others back for ever: what arrived is delivered as it is."""
        with self.db.write() as conn:
            groups = conn.execute("SELECT key, sender, ref, total FROM inbound_parts GROUP BY "
                                  "key, sender, ref, total HAVING min(received) < ?",
                                  (now - max_age,)).fetchall()
            for group in groups:
                rows = conn.execute("SELECT text, scts, smsc, port, slot, imsi FROM inbound_parts "
                                    "WHERE key = ? AND sender = ? AND ref = ? AND total = ? "
                                    "ORDER BY seq", group).fetchall()
                conn.execute("DELETE FROM inbound_parts WHERE key = ? AND sender = ? AND ref = ? "
                             "AND total = ?", group)
                first = rows[0]
                self._insert_inbound(conn, first[3], first[4], first[5], group[1], first[2],
                                     first[1], "".join(r[0] for r in rows), now)
        return len(groups)

    def _insert_inbound(self, conn: sqlite3.Connection, port: int, slot: int, imsi: str,
                        sender: str, smsc: str, scts: float | None, text: str,
                        now: float) -> int | None:
        stamp = fmt_time(scts if scts is not None else now)
        if scts is not None and is_repeat(conn, port, imsi, sender, stamp, text):
            return None                 # the network delivered it twice (inbound_repeats.py)
        cur = conn.execute("INSERT INTO inbound(port, slot, imsi, number, smsc, timestamp, text, "
                           "received) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (port, slot, imsi, sender, smsc, stamp, text, now))
        sms_id = int(cur.lastrowid or 0)
        extras = self.subscriptions.inbound_extras(conn, sender, text, now)
        self.events.emit(conn, "sms", {"incoming_sms_id": sms_id, "port": port, "slot": slot,
                                       "number": sender, "smsc": smsc, "timestamp": stamp,
                                       "text": text, "imsi": imsi, **extras}, now)
        return sms_id

    def add_bad_pdu(self, *, port: int, slot: int, kind: str, pdu: str, error: str,
                    now: float) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO bad_pdus(port, slot, kind, pdu, error, received) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (port, slot, kind, pdu, error, now))

    def query_incoming(self, *, after_id: int = 0, flag: str = "unread",
                       ports: Sequence[int] | None = None, limit: int = INBOX_PAGE,
                       match: InboxFilter | None = None, viewer: str | None = None) -> InboxPage:
        """Inbound messages after `after_id`, oldest first, at most `limit`, those `match`
        accepts (and `viewer` may see, see users.inbound_visible_term); the unread ones returned
        become read (same commit), the others stay unread. The page's read/unread counts are
        those of the ports, filter and viewer asked for."""
        where, args = [f"id > ?", FLAGS[flag]], [after_id]
        in_list("port", ports, where, args)
        _viewer_term(viewer, where, args)
        if match is not None:
            _filter_terms(match, where, args)
        with self.db.write() as conn:
            if match is not None and match.sender is not None:
                conn.create_function("same_number", 2, numbers_match, deterministic=True)
            rows = conn.execute("SELECT id, port, number, smsc, timestamp, text, slot, read "
                                f"FROM inbound WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
                                (*args, limit)).fetchall()
            unread = [r[0] for r in rows if not r[7]]
            for i in range(0, len(unread), 500):
                chunk = unread[i:i + 500]
                conn.execute(f"UPDATE inbound SET read = 1 WHERE id IN "
                             f"({','.join('?' * len(chunk))})", chunk)
            counts = self._read_counts(conn, ports, match, viewer)
        sms = tuple(InboundSms(*r[:7]) for r in rows)
        return InboxPage(sms=sms, read=counts.get(1, 0), unread=counts.get(0, 0))

    @staticmethod
    def _read_counts(conn: sqlite3.Connection, ports: Sequence[int] | None,
                     match: InboxFilter | None, viewer: str | None) -> dict[int, int]:
        """Read and unread messages within the query's ports, filter and viewer."""
        where: list[str] = []
        args: list[Any] = []
        in_list("port", ports, where, args)
        _viewer_term(viewer, where, args)
        if match is not None:
            _filter_terms(match, where, args)
        sql = ("SELECT read, count(*) FROM inbound "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} GROUP BY read")
        return {int(r[0]): int(r[1]) for r in conn.execute(sql, args)}

    # --- status reports -------------------------------------------------------------------------
    def record_status_report(self, *, port: int, slot: int, imsi: str, recipient: str, mr: int,
                             st: int, category: str, scts: float | None,
                             discharge: float | None, now: float, window: float) -> int | None:
        """Store a status report; the id of the message it matched, if any."""
        with self.db.write() as conn:
            match = self._match_report(conn, port, mr, recipient, now - window)
            part_id, message_id, number, ref_id = match or (None, None, recipient, mr)
            conn.execute("INSERT INTO delivery_reports(port, slot, imsi, mr, number, st, scts, "
                         "discharge, received, time, part_id, message_id) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (port, slot, imsi, mr, number, st, scts, discharge, now, now, part_id,
                          message_id))
            task = None if message_id is None else conn.execute(
                "SELECT task_id FROM messages WHERE id = ?", (message_id,)).fetchone()
            self.events.emit(conn, "sms_deliver_status", {
                "port": port, "number": number, "time": fmt_time(now), "ref_id": mr,
                "status_code": st, "imsi": imsi, "message_id": message_id,
                "task_id": None if task is None else task[0]}, now)
            if part_id is not None and message_id is not None:
                conn.execute("UPDATE parts SET dr_status = ?, delivered = max(delivered, ?) "
                             "WHERE id = ?", (st, int(category == "delivered"), part_id))
                self.outbox.maybe_delivered(conn, message_id, now)
        return message_id

    @staticmethod
    def _match_report(conn: sqlite3.Connection, port: int, mr: int, recipient: str,
                      since: float) -> tuple[int, int, str, int | None] | None:
        rows = conn.execute(
            "SELECT p.id, p.message_id, m.number, m.ref_id FROM parts p "
            "JOIN messages m ON m.id = p.message_id WHERE p.port = ? AND p.mr = ? "
            "AND p.sent >= ? AND p.status = 'sent' ORDER BY p.sent DESC, p.id DESC LIMIT 50",
            (port, mr, since)).fetchall()
        for part_id, message_id, number, ref_id in rows:
            if numbers_match(number, recipient):
                return part_id, message_id, number, ref_id
        return None

    def query_deliver_status(self, *, numbers: Sequence[str] | None = None,
                             ports: Sequence[int] | None = None, time_after: float | None = None,
                             time_before: float | None = None,
                             limit: int = 10_000, owner: str | None = None) -> list[DeliverStatus]:
        """Newest `limit` reports matching the filters (on `owner`'s messages, if given)."""
        where: list[str] = []
        args: list[Any] = []
        if owner is not None:
            term, owner_args = owned_term("(SELECT task_id FROM messages m WHERE "
                                          "m.id = delivery_reports.message_id)", owner)
            where.append(term)
            args.extend(owner_args)
        in_list("number", numbers, where, args)
        in_list("port", ports, where, args)
        between("time", time_after, time_before, where, args)
        sql = ("SELECT * FROM (SELECT id, port, number, time, mr, st, imsi FROM delivery_reports "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id DESC LIMIT ?) "
               "ORDER BY id")
        return [DeliverStatus(port=r[1], number=r[2], time=fmt_time(r[3]), ref_id=r[4],
                              status_code=r[5], imsi=r[6])
                for r in self.db.conn().execute(sql, (*args, limit))]

    # --- USSD -----------------------------------------------------------------------------------
    def ussd_sent(self, port: int, text: str, now: float) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO ussd(port, direction, text, created) VALUES (?, 'out', ?, ?)",
                         (port, text, now))

    def add_ussd_reply(self, port: int, text: str, status: int, now: float) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO ussd(port, direction, text, status, created) "
                         "VALUES (?, 'in', ?, ?, ?)", (port, text, status, now))
            self.events.emit(conn, "ussd", {"port": port, "text": text}, now)

    def ussd_last(self, port: int) -> tuple[str, str, float] | None:
        """(direction, text, created) of the latest USSD row of a port."""
        row = self.db.conn().execute("SELECT direction, text, created FROM ussd WHERE port = ? "
                                     "ORDER BY id DESC LIMIT 1", (port,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    # --- registration ---------------------------------------------------------------------------
    def register_event(self, info: PortInfo, up: bool, now: float) -> int:
        """Append a `register` event with the port's next sequence number; return it."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO port_state(port, sequence) VALUES (?, 1) ON CONFLICT(port) "
                         "DO UPDATE SET sequence = sequence + 1", (info.port,))
            seq = int(conn.execute("SELECT sequence FROM port_state WHERE port = ?",
                                   (info.port,)).fetchone()[0])
            self.events.emit(conn, "register", {
                "port": info.port, "iccid": info.iccid, "imsi": info.imsi, "number": info.number,
                "status": "up" if up else "down", "sequence": seq, "slot": info.slot}, now)
        return seq
