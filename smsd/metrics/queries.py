"""The few counts /metrics needs that no service call gives: read-only queries, each cheap
enough for a scrape every few seconds on a database of millions of rows (each walks an index or
a bounded range, noted per query)."""
from __future__ import annotations

from dataclasses import dataclass

from smsd.store.sqlite import Database

DAY = 24 * 3600.0


@dataclass(frozen=True)
class ReportCounts:
    """Status reports received in a window: matched to a part they report on, or not."""

    matched: int
    unmatched: int

    @property
    def match_ratio(self) -> float | None:
        total = self.matched + self.unmatched
        return self.matched / total if total else None


class OpsQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    def oldest_waiting(self) -> float | None:
        """When the oldest message still waiting for a port was accepted (epoch seconds), None
        when none waits. Walks the waiting messages' partial index (messages_waiting_rank)."""
        row = self._db.conn().execute(
            "SELECT min(time) FROM messages WHERE stage = 0").fetchone()
        return None if row[0] is None else float(row[0])

    def last_sent(self) -> dict[int, float]:
        """port -> when it last had a part accepted (epoch seconds). The parts_mr index holds
        exactly the sent parts (an accepted part has its TP-MR), so this reads the index only;
        run once at start, then kept up to date by the sink (sends.SendTimes)."""
        rows = self._db.conn().execute(
            "SELECT port, max(sent) FROM parts WHERE mr IS NOT NULL GROUP BY port").fetchall()
        return {int(port): float(sent) for port, sent in rows if port is not None and sent}

    def status_reports(self, since: float) -> ReportCounts:
        """Status reports received since `since`, by whether one of our parts matched (range
        scan of delivery_reports_time)."""
        row = self._db.conn().execute(
            "SELECT count(part_id), count(*) - count(part_id) FROM delivery_reports "
            "WHERE time >= ?", (since,)).fetchone()
        return ReportCounts(int(row[0] or 0), int(row[1] or 0))

    def parked_pushes(self) -> int:
        """Push batches given up on and parked for replay (the Routing page's list)."""
        row = self._db.conn().execute("SELECT count(*) FROM push_failed").fetchone()
        return int(row[0])

    def push_cursors(self) -> dict[str, int]:
        """Push target key -> the last event it passed (one row per target)."""
        rows = self._db.conn().execute("SELECT target, event_id FROM push_cursors").fetchall()
        return {str(target): int(event_id) for target, event_id in rows}

    def last_event_id(self) -> int:
        row = self._db.conn().execute("SELECT max(id) FROM events").fetchone()
        return int(row[0] or 0)
