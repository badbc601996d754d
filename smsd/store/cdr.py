"""Call detail records: one row per call a modem port saw (migration 0009), and its `cdr` event.

The row and its event are written in one transaction, so a push target hears of exactly the calls
on record. The event's payload is already in the JSON API's words (section 12 / 17): the vendor's
VoIP-only fields (`ip`, `codec`, `bcch`) are empty strings on a GSM-only box.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from smsd.store.events import Events
from smsd.store.outbox import between, in_list
from smsd.store.sqlite import Database
from smsd.store.times import fmt_time

MAX_TEXT = 64                     # numbers and words as the modem gave them, capped


@dataclass(frozen=True)
class CallDetail:
    """One CDR in the JSON API's shape (get_cdr's array element, the `cdr` push's item)."""

    id: int
    port: int
    slot: int
    imsi: str
    start_date: str
    answer_date: str
    duration: int
    source_number: str
    destination_number: str
    direction: str
    hangup: str
    gsm_code: int
    policy: str

    def vendor_item(self) -> dict[str, Any]:
        return {"port": self.port, "start_date": self.start_date,
                "answer_date": self.answer_date, "duration": self.duration,
                "source_number": self.source_number,
                "destination_number": self.destination_number, "direction": self.direction,
                "ip": "", "codec": "", "hangup": self.hangup, "gsm_code": self.gsm_code,
                "bcch": ""}


_COLUMNS = ("id, port, slot, imsi, started, answered, duration, source_number, "
            "destination_number, direction, hangup, gsm_code, policy")


def _detail(row: Sequence[Any]) -> CallDetail:
    return CallDetail(id=row[0], port=row[1], slot=row[2], imsi=row[3],
                      start_date=fmt_time(row[4]), answer_date=fmt_time(row[5]),
                      duration=row[6], source_number=row[7], destination_number=row[8],
                      direction=row[9], hangup=row[10], gsm_code=row[11], policy=row[12])


class CallRecords:
    def __init__(self, db: Database, events: Events) -> None:
        self.db = db
        self.events = events

    def add(self, *, port: int, slot: int, imsi: str, source_number: str,
            destination_number: str, started: float, answered: float | None, ended: float,
            duration: int, direction: str, hangup: str, gsm_code: int, policy: str,
            now: float) -> CallDetail:
        """Store one finished call and its `cdr` event; returns it as get_cdr shows it."""
        values = (port, slot, imsi[:MAX_TEXT], source_number[:MAX_TEXT],
                  destination_number[:MAX_TEXT], started, answered, ended, duration,
                  direction[:MAX_TEXT], hangup[:MAX_TEXT], gsm_code, policy[:MAX_TEXT])
        with self.db.write() as conn:
            cur = conn.execute(
                "INSERT INTO cdr(port, slot, imsi, source_number, destination_number, started, "
                "answered, ended, duration, direction, hangup, gsm_code, policy) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            row = conn.execute(f"SELECT {_COLUMNS} FROM cdr WHERE id = ?",
                               (cur.lastrowid,)).fetchone()
            detail = _detail(row)
            self.events.emit(conn, "cdr", detail.vendor_item(), now)
        return detail

    def query(self, *, ports: Sequence[int] | None = None, time_after: float | None = None,
              time_before: float | None = None, limit: int = 10_000) -> list[CallDetail]:
        """The newest `limit` calls that started within the bounds, oldest first."""
        where: list[str] = []
        args: list[Any] = []
        in_list("port", ports, where, args)
        between("started", time_after, time_before, where, args)
        sql = (f"SELECT * FROM (SELECT {_COLUMNS} FROM cdr "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id DESC LIMIT ?) "
               "ORDER BY id")
        return [_detail(r) for r in self.db.conn().execute(sql, (*args, limit))]
