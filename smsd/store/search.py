"""Read-only searches of the outbox and the inbox for the web console's lists (filtered, paged,
newest first) and the dashboard's counts. Ownership arrives as the same owner / viewer terms the
other queries use (users.owned_term, users.inbound_visible_term)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from smsd.store.sqlite import Database
from smsd.store.times import fmt_time
from smsd.store.users import inbound_visible_term, owned_term


@dataclass(frozen=True)
class MessageQuery:
    number: str | None = None          # a part of the number
    text: str | None = None            # a part of the text, any case
    status: str | None = None          # outbox: FAILED|SENDING|SENT_OK|DELIVERED; inbox: read|unread
    port: int | None = None
    time_from: float | None = None     # seconds since the epoch, inclusive
    time_to: float | None = None       # exclusive
    task_id: int | None = None         # outbox only
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class OutboxRow:
    message_id: int
    task_id: int
    port: int | None
    number: str
    time: str
    status: str
    count: int
    succ_count: int
    user: str
    text: str
    reason: str
    encoding: str


@dataclass(frozen=True)
class InboxRow:
    id: int
    port: int
    slot: int
    number: str
    timestamp: str
    text: str
    read: bool


def _common(q: MessageQuery, where: list[str], args: list[Any], *, number: str, text: str,
            port: str) -> None:
    if q.number:
        where.append(f"instr({number}, ?) > 0")
        args.append(q.number)
    if q.text:
        where.append(f"instr(lower({text}), lower(?)) > 0")
        args.append(q.text)
    if q.port is not None:
        where.append(f"{port} = ?")
        args.append(q.port)


class Search:
    def __init__(self, db: Database) -> None:
        self.db = db

    def outbox(self, q: MessageQuery, owner: str | None) -> tuple[list[OutboxRow], int]:
        """One page of messages, newest first, and how many match in all."""
        term, args = owned_term("m.task_id", owner)
        where = [term]
        _common(q, where, args, number="m.number", text="coalesce(m.text, t.text)", port="m.port")
        for clause, value in (("m.status = ?", q.status), ("m.time >= ?", q.time_from),
                              ("m.time < ?", q.time_to), ("m.task_id = ?", q.task_id)):
            if value is not None:
                where.append(clause)
                args.append(value)
        cond = " AND ".join(where)
        with self.db.snapshot() as conn:
            total = conn.execute(f"SELECT count(*) FROM messages m JOIN tasks t ON t.id = m.task_id "
                                 f"WHERE {cond}", args).fetchone()[0]
            rows = conn.execute(
                "SELECT m.id, m.task_id, m.port, m.number, m.time, m.status, m.count, "
                "m.succ_count, t.user, coalesce(m.text, t.text), m.reason, m.encoding "
                f"FROM messages m JOIN tasks t ON t.id = m.task_id WHERE {cond} "
                "ORDER BY m.id DESC LIMIT ? OFFSET ?", (*args, q.limit, q.offset)).fetchall()
        return [OutboxRow(r[0], r[1], r[2], r[3], fmt_time(r[4]), r[5], r[6], r[7], r[8] or "",
                          r[9] or "", r[10] or "", r[11] or "") for r in rows], int(total)

    def inbox(self, q: MessageQuery, viewer: str | None) -> tuple[list[InboxRow], int]:
        term, args = inbound_visible_term("i", viewer)
        where = [term]
        _common(q, where, args, number="i.number", text="i.text", port="i.port")
        if q.status in ("read", "unread"):
            where.append("i.read = ?")
            args.append(1 if q.status == "read" else 0)
        for clause, value in (("i.received >= ?", q.time_from), ("i.received < ?", q.time_to)):
            if value is not None:
                where.append(clause)
                args.append(value)
        cond = " AND ".join(where)
        with self.db.snapshot() as conn:
            total = conn.execute(f"SELECT count(*) FROM inbound i WHERE {cond}", args).fetchone()[0]
            rows = conn.execute("SELECT i.id, i.port, i.slot, i.number, i.timestamp, i.text, i.read "
                                f"FROM inbound i WHERE {cond} ORDER BY i.id DESC LIMIT ? OFFSET ?",
                                (*args, q.limit, q.offset)).fetchall()
        return [InboxRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows], int(total)

    def mark_read(self, ids: list[int], viewer: str | None) -> int:
        """Mark those of `ids` that `viewer` may see read; how many changed."""
        if not ids:
            return 0
        term, args = inbound_visible_term("inbound", viewer)
        with self.db.write() as conn:
            cur = conn.execute(f"UPDATE inbound SET read = 1 WHERE read = 0 AND {term} AND id IN "
                               f"({','.join('?' * len(ids))})", (*args, *ids))
            return int(cur.rowcount)

    def port_counts(self, since: float, owner: str | None) -> dict[int, dict[str, int]]:
        """port -> status -> messages since `since` (by the time they went out or were taken)."""
        term, args = owned_term("m.task_id", owner)
        rows = self.db.conn().execute(
            f"SELECT m.port, m.status, count(*) FROM messages m WHERE m.port IS NOT NULL "
            f"AND m.time >= ? AND {term} GROUP BY m.port, m.status", (since, *args)).fetchall()
        out: dict[int, dict[str, int]] = {}
        for port, status, count in rows:
            out.setdefault(int(port), {})[status] = int(count)
        return out

    def task_counts(self, task_id: int, owner: str | None) -> dict[str, int] | None:
        """status -> messages of one task; None for an unknown task or somebody else's."""
        mine = "" if owner is None else " AND user = ?"
        with self.db.snapshot() as conn:
            known = conn.execute(f"SELECT 1 FROM tasks WHERE id = ?{mine}",
                                 (task_id,) if owner is None else (task_id, owner)).fetchone()
            if known is None:
                return None
            rows = conn.execute("SELECT status, count(*) FROM messages WHERE task_id = ? "
                                "GROUP BY status", (task_id,)).fetchall()
        return {status: int(count) for status, count in rows}

    def recent_events(self, limit: int) -> list[tuple[int, str, dict[str, Any], float]]:
        """The newest events (what push targets hear of), newest first: (id, kind, payload,
        created)."""
        rows = self.db.conn().execute("SELECT id, kind, payload, created FROM events "
                                      "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [(int(r[0]), str(r[1]), _payload(r[2]), float(r[3])) for r in rows]


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
