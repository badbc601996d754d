"""The audit log: one row per administrative action, appended, never changed."""
from __future__ import annotations

from dataclasses import dataclass

from smsd.store.sqlite import Database

MAX_KEPT = 100_000          # the oldest rows go past this many (flash is small, the log is long)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    created: float
    user: str
    action: str
    detail: str


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, user: str, action: str, detail: str, now: float) -> int:
        with self.db.write() as conn:
            cur = conn.execute("INSERT INTO audit_log(created, user, action, detail) "
                               "VALUES (?, ?, ?, ?)", (now, user, action, detail))
            ident = int(cur.lastrowid or 0)
            if ident > MAX_KEPT and ident % 1000 == 0:    # trim now and then, not every write
                conn.execute("DELETE FROM audit_log WHERE id <= ?", (ident - MAX_KEPT,))
        return ident

    def entries(self, *, limit: int = 100, before_id: int | None = None, user: str | None = None,
                action_prefix: str | None = None) -> list[AuditEntry]:
        """Newest first; `before_id` pages back; `action_prefix` "user." matches user.*."""
        where: list[str] = []
        args: list[int | str] = []
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        if user is not None:
            where.append("user = ?")
            args.append(user)
        if action_prefix:
            where.append("substr(action, 1, ?) = ?")
            args += [len(action_prefix), action_prefix]
        sql = "SELECT id, created, user, action, detail FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.conn().execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [AuditEntry(int(r[0]), float(r[1]), r[2], r[3], r[4]) for r in rows]
