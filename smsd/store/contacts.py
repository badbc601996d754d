"""Address book (contacts, groups of contacts) and routing rules for received SMS.

Group members are contact names, kept in the order given; deleting a contact drops it from its
groups in the same transaction. Creating a route sets its push cursor ("route:<id>") to the last
event id in the same transaction, so the route forwards what arrives from then on, not history.
"""
from __future__ import annotations

import sqlite3
import time
from typing import Sequence

from smsd.model import Contact, Group, Route
from smsd.store.sqlite import Database

ROUTE_COLUMNS = "id, url, protocol, port, sender_prefix, text_prefix"


def route_cursor_key(route_id: int) -> str:
    return f"route:{route_id}"


class Contacts:
    """Contacts and groups of contacts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- contacts -------------------------------------------------------------------------------
    def all(self) -> list[Contact]:
        return [Contact(r[0], r[1]) for r in
                self.db.conn().execute("SELECT name, number FROM contacts ORDER BY name")]

    def set_many(self, contacts: Sequence[Contact]) -> None:
        with self.db.write() as conn:
            conn.executemany("INSERT INTO contacts(name, number) VALUES (?, ?) ON CONFLICT(name) "
                             "DO UPDATE SET number = excluded.number",
                             [(c.name, c.number) for c in contacts])

    def delete(self, name: str) -> bool:
        with self.db.write() as conn:
            gone = conn.execute("DELETE FROM contacts WHERE name = ?", (name,)).rowcount == 1
            for (group,) in conn.execute("SELECT DISTINCT group_name FROM group_members "
                                         "WHERE contact = ?", (name,)).fetchall():
                members = [m for m in self._members(conn, group) if m != name]
                self._put_members(conn, group, members)
        return gone

    def lookup_names(self, names: Sequence[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
        """({contact: number}, {group: member numbers}) for those of `names` that exist."""
        with self.db.snapshot() as conn:
            numbers = {n: self._number(conn, n) for n in names}
            found = {n: v for n, v in numbers.items() if v is not None}
            groups = {n: self._group_numbers(conn, n) for n in names if n not in found}
        return found, {n: v for n, v in groups.items() if v is not None}

    @staticmethod
    def _number(conn: sqlite3.Connection, name: str) -> str | None:
        row = conn.execute("SELECT number FROM contacts WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _group_numbers(conn: sqlite3.Connection, name: str) -> list[str] | None:
        if conn.execute("SELECT 1 FROM contact_groups WHERE name = ?", (name,)).fetchone() is None:
            return None
        return [r[0] for r in conn.execute(
            "SELECT c.number FROM group_members g JOIN contacts c ON c.name = g.contact "
            "WHERE g.group_name = ? ORDER BY g.pos", (name,))]

    # --- groups ---------------------------------------------------------------------------------
    def groups(self) -> list[Group]:
        with self.db.snapshot() as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM contact_groups ORDER BY name")]
            return [Group(n, tuple(self._members(conn, n))) for n in names]

    def group_set_many(self, groups: Sequence[Group]) -> list[str]:
        """Create or replace groups; the member names that are not contacts (nothing written
        then)."""
        with self.db.write() as conn:
            missing = [m for g in groups for m in g.members if self._number(conn, m) is None]
            if missing:
                return missing
            for g in groups:
                conn.execute("INSERT OR IGNORE INTO contact_groups(name) VALUES (?)", (g.name,))
                self._put_members(conn, g.name, g.members)
        return []

    def group_delete(self, name: str) -> bool:
        with self.db.write() as conn:
            conn.execute("DELETE FROM group_members WHERE group_name = ?", (name,))
            return conn.execute("DELETE FROM contact_groups WHERE name = ?",
                                (name,)).rowcount == 1

    @staticmethod
    def _members(conn: sqlite3.Connection, group: str) -> list[str]:
        return [r[0] for r in conn.execute("SELECT contact FROM group_members WHERE "
                                           "group_name = ? ORDER BY pos", (group,))]

    @staticmethod
    def _put_members(conn: sqlite3.Connection, group: str, members: Sequence[str]) -> None:
        conn.execute("DELETE FROM group_members WHERE group_name = ?", (group,))
        unique = list(dict.fromkeys(members))
        conn.executemany("INSERT INTO group_members(group_name, pos, contact) VALUES (?, ?, ?)",
                         [(group, i, m) for i, m in enumerate(unique)])


class Routes:
    """Rules that forward received SMS to URLs (each with its push cursor)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> list[Route]:
        return [Route(*r) for r in
                self.db.conn().execute(f"SELECT {ROUTE_COLUMNS} FROM routes ORDER BY id")]

    def add(self, url: str, protocol: str, port: int | None, sender_prefix: str,
                  text_prefix: str) -> int:
        with self.db.write() as conn:
            cur = conn.execute("INSERT INTO routes(url, protocol, port, sender_prefix, "
                               "text_prefix, created) VALUES (?, ?, ?, ?, ?, ?)",
                               (url, protocol, port, sender_prefix, text_prefix, time.time()))
            route_id = int(cur.lastrowid or 0)
            last = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
            conn.execute("INSERT INTO push_cursors(target, event_id) VALUES (?, ?) "
                         "ON CONFLICT(target) DO UPDATE SET event_id = excluded.event_id",
                         (route_cursor_key(route_id), int(last)))
        return route_id

    def delete(self, route_id: int) -> bool:
        with self.db.write() as conn:
            conn.execute("DELETE FROM push_cursors WHERE target = ?", (route_cursor_key(route_id),))
            conn.execute("DELETE FROM push_failed WHERE target = ?",
                         (route_cursor_key(route_id),))
            return conn.execute("DELETE FROM routes WHERE id = ?", (route_id,)).rowcount == 1
