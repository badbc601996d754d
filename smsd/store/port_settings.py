"""Per-port settings and per-dialect hidden flags.

Settings are plain text by smsd's own lower-case key (validation and meaning live in
`smsd.portcfg`; vendor names are mapped at the dialect's edge); a key that is absent has its
default. Hidden flags let a dialect's client "delete" a message from its
own folders while the row stays for the other dialects, the delivery reports and the push worker.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from smsd.model import InboundSms
from smsd.store.outbox import in_list
from smsd.store.users import inbound_visible_term
from smsd.store.sqlite import Database


class PortSettings:
    """Settings of each port by neutral key (meanings in smsd.portcfg)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- settings -------------------------------------------------------------------------------
    def all(self) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {}
        for port, key, value in self.db.conn().execute(
                "SELECT port, key, value FROM port_settings ORDER BY port, key"):
            out.setdefault(int(port), {})[str(key)] = str(value)
        return out

    def put(self, port: int, values: Mapping[str, str | None]) -> None:
        """Set (or, for None, remove) keys of one port in one transaction."""
        with self.db.write() as conn:
            for key, value in values.items():
                if value is None:
                    conn.execute("DELETE FROM port_settings WHERE port = ? AND key = ?",
                                 (port, key))
                else:
                    conn.execute("INSERT INTO port_settings(port, key, value) VALUES (?, ?, ?) "
                                 "ON CONFLICT(port, key) DO UPDATE SET value = excluded.value",
                                 (port, key, value))

    def clear(self, port: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM port_settings WHERE port = ?", (port,))

    def parts_sent_since(self, port: int, since: float) -> int:
        """Parts `port` sent (or holds on the air) since `since`: where a daily or monthly
        limit's count starts after a restart."""
        row = self.db.conn().execute(
            "SELECT count(*) FROM parts WHERE port = ? AND (sent >= ? OR status IN "
            "('leased', 'on_air'))", (port, since)).fetchone()
        return int(row[0])


class DialectViews:
    """What each dialect's client has "deleted" from its own folders (hidden flags)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def hide(self, dialect: str, kind: str, ids: Iterable[int]) -> int:
        with self.db.write() as conn:
            return sum(conn.execute("INSERT OR IGNORE INTO dialect_hidden(dialect, kind, id) "
                                    "VALUES (?, ?, ?)", (dialect, kind, i)).rowcount
                       for i in ids)

    def hidden(self, dialect: str, kind: str, ids: Iterable[int]) -> set[int]:
        wanted = list(ids)
        where, args = ["dialect = ?", "kind = ?"], [dialect, kind]
        in_list("id", wanted, where, args)
        sql = f"SELECT id FROM dialect_hidden WHERE {' AND '.join(where)}"
        return {int(r[0]) for r in self.db.conn().execute(sql, args)} if wanted else set()

    def inbox_visible(self, dialect: str, *, unread_only: bool, limit: int,
                      mark_read: bool, viewer: str | None = None) -> list[tuple[InboundSms, bool]]:
        """Inbound messages `dialect` has not hidden (and `viewer` may see), oldest first, with
        their read flag."""
        cond = "AND i.read = 0" if unread_only else ""
        seen, seen_args = inbound_visible_term("i", viewer)
        with self.db.write() as conn:
            rows = conn.execute(
                "SELECT i.id, i.port, i.number, i.smsc, i.timestamp, i.text, i.slot, i.read "
                "FROM inbound i WHERE NOT EXISTS (SELECT 1 FROM dialect_hidden h WHERE "
                f"h.dialect = ? AND h.kind = 'in' AND h.id = i.id) {cond} AND {seen} "
                "ORDER BY i.id LIMIT ?", (dialect, *seen_args, limit)).fetchall()
            if mark_read:
                conn.executemany("UPDATE inbound SET read = 1 WHERE id = ?",
                                 [(r[0],) for r in rows if not r[7]])
        return [(InboundSms(*r[:7]), bool(r[7])) for r in rows]

    def inbound_one(self, dialect: str, inbound_id: int,
                    viewer: str | None = None) -> tuple[InboundSms, bool] | None:
        """One inbound message `dialect` has not hidden (and `viewer` may see), with its read
        flag."""
        seen, seen_args = inbound_visible_term("i", viewer)
        row = self.db.conn().execute(
            "SELECT i.id, i.port, i.number, i.smsc, i.timestamp, i.text, i.slot, i.read "
            "FROM inbound i WHERE i.id = ? AND NOT EXISTS (SELECT 1 FROM dialect_hidden h "
            f"WHERE h.dialect = ? AND h.kind = 'in' AND h.id = i.id) AND {seen}",
            (inbound_id, dialect, *seen_args)).fetchone()
        return None if row is None else (InboundSms(*row[:7]), bool(row[7]))

    def messages_visible(self, dialect: str, statuses: Iterable[str], user: str | None,
                         limit: int) -> list[int]:
        """Ids of sent messages in `statuses` (of `user`, None: anyone's), newest first."""
        wanted = list(statuses)
        where, args = ["NOT EXISTS (SELECT 1 FROM dialect_hidden h WHERE h.dialect = ? AND "
                       "h.kind = 'out' AND h.id = m.id)"], [dialect]
        in_list("m.status", wanted, where, args)
        if user is not None:
            where.append("t.user = ?")
            args.append(user)
        sql = (f"SELECT m.id FROM messages m JOIN tasks t ON t.id = m.task_id "
               f"WHERE {' AND '.join(where)} ORDER BY m.id DESC LIMIT ?")
        return [int(r[0]) for r in self.db.conn().execute(sql, (*args, limit))]
