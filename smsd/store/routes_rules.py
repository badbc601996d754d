"""Routing rules (migration 0011): port groups, ordered outbound rules, inbound forward rules
and what each forward rule did (docs/routing.md).

Plain rows: the service (smsd/service/routes.py) turns them into the typed rules of
smsd/routing.py, which the store may not import.
"""
from __future__ import annotations

import sqlite3
import threading
from typing import NamedTuple

from smsd.store.sqlite import Database

FORWARDED = "forwarded"
QUEUING = "queuing"             # logged before the forward is queued, replaced once it is
FORWARD_DIALECT = "forward"     # the front end name of the tasks a forward queues


class GroupRow(NamedTuple):
    name: str
    ports: tuple[int, ...]


class OutboundRow(NamedTuple):
    id: int
    pos: int
    prefix: str
    user: str
    dialect: str
    targets: tuple[str, ...]          # stored keys ("group:NAME") in fall-back order


class ForwardRow(NamedTuple):
    id: int
    port: int | None
    sender_prefix: str
    keyword: str
    numbers: tuple[str, ...]
    owner: str
    max_per_hour: int
    enabled: bool
    created: float


class ForwardLogRow(NamedTuple):
    id: int
    rule_id: int
    inbox_id: int
    sender: str
    outcome: str
    task_id: int | None
    created: float


def _ports(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(",") if p)


class RoutingRules:
    """The routing tables. One per store (`Store.routing_rules`): the outbound rules, which every
    submission reads, are kept in memory and dropped when this object changes them, which the
    daemon does only through it (the Routing page; a restore replaces the file and restarts)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._outbound: tuple[OutboundRow, ...] | None = None
        self._outbound_changes = 0          # a read from before a change is not kept
        self._outbound_lock = threading.Lock()

    # --- port groups ----------------------------------------------------------------------------
    def groups(self) -> list[GroupRow]:
        return [GroupRow(r[0], _ports(r[1])) for r in self.db.conn().execute(
            "SELECT name, ports FROM port_groups ORDER BY name")]

    def put_group(self, name: str, ports: tuple[int, ...]) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT INTO port_groups(name, ports) VALUES (?, ?) ON CONFLICT(name) "
                         "DO UPDATE SET ports = excluded.ports",
                         (name, ",".join(map(str, ports))))

    def delete_group(self, name: str) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM port_groups WHERE name = ?", (name,)).rowcount == 1

    # --- outbound rules -------------------------------------------------------------------------
    def outbound(self) -> list[OutboundRow]:
        """The outbound rules in order. Read once per change, not per submission: each read is a
        statement, and each statement lets go of the GIL (bench/intake.py: ~5 % of a request)."""
        kept = self._outbound
        if kept is not None:
            return list(kept)
        changes = self._outbound_changes
        rows = tuple(OutboundRow(r[0], r[1], r[2], r[3], r[4],
                                 tuple(t for t in r[5].split(";") if t))
                     for r in self.db.conn().execute(
                         "SELECT id, pos, prefix, user, dialect, targets FROM outbound_rules "
                         "ORDER BY pos, id"))
        with self._outbound_lock:
            if changes == self._outbound_changes:
                self._outbound = rows
        return list(rows)

    def _outbound_changed(self) -> None:
        """After a change of the outbound rules commits (inside its transaction: once it has)."""
        def forget() -> None:
            with self._outbound_lock:
                self._outbound_changes += 1
                self._outbound = None
        self.db.after_commit(forget)

    def add_outbound(self, prefix: str, user: str, dialect: str, targets: tuple[str, ...],
                     now: float) -> int:
        with self.db.write() as conn:
            pos = conn.execute("SELECT coalesce(max(pos), 0) + 1 FROM outbound_rules").fetchone()
            cur = conn.execute("INSERT INTO outbound_rules(pos, prefix, user, dialect, targets, "
                               "created) VALUES (?, ?, ?, ?, ?, ?)",
                               (int(pos[0]), prefix, user, dialect, ";".join(targets), now))
            self._outbound_changed()
            return int(cur.lastrowid or 0)

    def delete_outbound(self, rule_id: int) -> bool:
        with self.db.write() as conn:
            self._outbound_changed()
            return conn.execute("DELETE FROM outbound_rules WHERE id = ?",
                                (rule_id,)).rowcount == 1

    def move_outbound(self, rule_id: int, step: int) -> bool:
        """Swap the rule with its neighbour above (step -1) or below (+1); False: no such rule
        (a rule already first or last stays where it is)."""
        with self.db.write() as conn:
            order = [r[0] for r in conn.execute("SELECT id FROM outbound_rules ORDER BY pos, id")]
            if rule_id not in order:
                return False
            i = order.index(rule_id)
            j = i + step
            if 0 <= j < len(order):
                order[i], order[j] = order[j], order[i]
                self._renumber(conn, order)
                self._outbound_changed()
            return True

    @staticmethod
    def _renumber(conn: sqlite3.Connection, order: list[int]) -> None:
        conn.executemany("UPDATE outbound_rules SET pos = ? WHERE id = ?",
                         [(pos, rule_id) for pos, rule_id in enumerate(order, start=1)])

    # --- inbound forward rules ------------------------------------------------------------------
    def forwards(self) -> list[ForwardRow]:
        return [ForwardRow(r[0], r[1], r[2], r[3], tuple(n for n in r[4].split(",") if n), r[5],
                           r[6], bool(r[7]), r[8])
                for r in self.db.conn().execute(
                    "SELECT id, port, sender_prefix, keyword, numbers, owner, max_per_hour, "
                    "enabled, created FROM forward_rules ORDER BY id")]

    def add_forward(self, port: int | None, sender_prefix: str, keyword: str,
                    numbers: tuple[str, ...], owner: str, max_per_hour: int, now: float) -> int:
        with self.db.write() as conn:
            cur = conn.execute(
                "INSERT INTO forward_rules(port, sender_prefix, keyword, numbers, owner, "
                "max_per_hour, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (port, sender_prefix, keyword, ",".join(numbers), owner, max_per_hour, now))
            return int(cur.lastrowid or 0)

    def delete_forward(self, rule_id: int) -> bool:
        with self.db.write() as conn:
            conn.execute("DELETE FROM forward_log WHERE rule_id = ?", (rule_id,))
            return conn.execute("DELETE FROM forward_rules WHERE id = ?",
                                (rule_id,)).rowcount == 1

    # --- what the forward rules did -------------------------------------------------------------
    def log_state(self, rule_id: int, inbox_id: int) -> tuple[str, float] | None:
        """(outcome, when logged) of a rule's handling of a received SMS; None: not yet."""
        row = self.db.conn().execute(
            "SELECT outcome, created FROM forward_log WHERE rule_id = ? AND inbox_id = ?",
            (rule_id, inbox_id)).fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    def log_forward(self, rule_id: int, inbox_id: int, sender: str, outcome: str,
                    task_id: int | None, now: float) -> None:
        """Write the outcome (replacing a QUEUING row; never another final one)."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO forward_log(rule_id, inbox_id, sender, outcome, task_id, "
                         "created) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(rule_id, inbox_id) DO "
                         "UPDATE SET outcome = excluded.outcome, task_id = excluded.task_id "
                         f"WHERE outcome = '{QUEUING}'",
                         (rule_id, inbox_id, sender, outcome, task_id, now))

    def forwarded_since(self, rule_id: int, sender: str, since: float) -> int:
        row = self.db.conn().execute(
            "SELECT count(*) FROM forward_log WHERE rule_id = ? AND sender = ? AND created >= ? "
            "AND outcome = ?", (rule_id, sender, since, FORWARDED)).fetchone()
        return int(row[0])

    def recent_log(self, limit: int = 50) -> list[ForwardLogRow]:
        return [ForwardLogRow(*r) for r in self.db.conn().execute(
            "SELECT id, rule_id, inbox_id, sender, outcome, task_id, created FROM forward_log "
            "ORDER BY id DESC LIMIT ?", (limit,))]

    def forward_task(self, user: str, text: str, since: float) -> int | None:
        """A forward task of `user` with exactly `text` queued since `since`: a restart between
        queuing a forward and logging it finds it here instead of queuing it again."""
        row = self.db.conn().execute(
            f"SELECT id FROM tasks WHERE dialect = '{FORWARD_DIALECT}' AND created >= ? "
            "AND user = ? AND text = ? ORDER BY id LIMIT 1", (since, user, text)).fetchone()
        return None if row is None else int(row[0])

    def is_forward_copy(self, text: str, since: float) -> bool:
        """Did a forward queued since `since` carry exactly this text? Then a received SMS with
        it is that forward arriving back at the box: it is never forwarded again."""
        row = self.db.conn().execute(
            # The dialect written out, so SQLite uses the partial index of forwards.
            f"SELECT 1 FROM tasks WHERE dialect = '{FORWARD_DIALECT}' AND created >= ? "
            "AND text = ? LIMIT 1", (since, text)).fetchone()
        return row is not None
