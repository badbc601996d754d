"""Searching the outbox and the inbox as the web console lists them: filters checked here, the
ownership policy applied (a user who is not an admin finds only their own messages, and the
received messages of the ports and routes assigned to them), pages of PAGE_SIZE.

Also the figures the console's dashboard and bulk-send progress show: messages per port and
status, and one task's messages per status.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from smsd.errors import BadRequest, NotFound
from smsd.numbers import is_normal
from smsd.service.access import AccessPolicy
from smsd.store.db import Store
from smsd.store.search import InboxRow, MessageQuery, OutboxRow

PAGE_SIZE = 50
MAX_PAGE = 10_000
OUTBOX_STATUSES = ("SENDING", "SENT_OK", "DELIVERED", "FAILED", "UNKNOWN")
INBOX_STATUSES = ("unread", "read")
MAX_TERM = 160
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
DAY = 86400.0


@dataclass(frozen=True)
class Found:
    """One page of a search: rows, the page number (1-based) and how many match in all."""

    rows: Sequence[OutboxRow] | Sequence[InboxRow]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class TaskProgress:
    task_id: int
    total: int
    done: int                 # sent, delivered or failed: no longer waiting
    failed: int

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def local_day(text: str, what: str) -> float:
    """Midnight (local time of the box) of "YYYY-MM-DD"; BadRequest otherwise."""
    if not _DAY(text):
        raise BadRequest(f"{what}: a date as YYYY-MM-DD")
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%d"))
    except (ValueError, OverflowError):
        raise BadRequest(f"{what}: {text!r} is not a date") from None


class Search:
    def __init__(self, store: Store, access: AccessPolicy, ports: frozenset[int],
                 clock: Callable[[], float]) -> None:
        self._store = store
        self._access = access
        self._ports = ports
        self._clock = clock

    def query(self, *, number: str = "", text: str = "", status: str = "", port: str = "",
              day_from: str = "", day_to: str = "", page: int = 1,
              statuses: Sequence[str] = OUTBOX_STATUSES) -> MessageQuery:
        """The form's fields checked (each error names its field) into a MessageQuery."""
        number, text = number.strip(), text.strip()
        if number and not is_normal(number, 32):
            raise BadRequest("number: digits, optionally a leading +")
        if len(text) > MAX_TERM:
            raise BadRequest(f"text: at most {MAX_TERM} characters")
        if status and status not in statuses:
            raise BadRequest(f"status: one of {', '.join(statuses)}")
        port_no = None
        if port:
            if not port.isdigit() or int(port) not in self._ports:
                raise BadRequest(f"port: one of {', '.join(str(p + 1) for p in sorted(self._ports))}")
            port_no = int(port)
        start = local_day(day_from, "from") if day_from else None
        end = local_day(day_to, "to") + DAY if day_to else None
        if start is not None and end is not None and end <= start:
            raise BadRequest("to: on or after from")
        if isinstance(page, bool) or not 1 <= page <= MAX_PAGE:
            raise BadRequest(f"page: 1..{MAX_PAGE}")
        return MessageQuery(number or None, text or None, status or None, port_no, start, end,
                            offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)

    def outbox(self, q: MessageQuery, user: str | None) -> Found:
        rows, total = self._store.search.outbox(q, self._access.owner(user))
        return _found(rows, q, total)

    def inbox(self, q: MessageQuery, user: str | None) -> Found:
        rows, total = self._store.search.inbox(q, self._access.owner(user))
        return _found(rows, q, total)

    def export(self, q: MessageQuery, user: str | None, box: str,
               most: int = 100_000) -> Sequence[OutboxRow] | Sequence[InboxRow]:
        """Every match (up to `most`), for a CSV export."""
        whole = replace(q, offset=0, limit=most)
        if box == "outbox":
            return self._store.search.outbox(whole, self._access.owner(user))[0]
        return self._store.search.inbox(whole, self._access.owner(user))[0]

    def mark_read(self, ids: Sequence[int], user: str | None) -> int:
        """Received messages `user` may see become read (the others are left alone)."""
        return self._store.search.mark_read(list(ids), self._access.owner(user))

    def port_counts(self, user: str | None, hours: float = 24.0) -> dict[int, dict[str, int]]:
        """port -> status -> `user`'s messages (an admin's: all) in the last `hours`."""
        return self._store.search.port_counts(self._clock() - hours * 3600,
                                              self._access.owner(user))

    def recent_events(self, user: str | None, limit: int = 10) -> list["Event"]:
        return recent_events(self._store, self._access, user, limit)

    def task_progress(self, task_id: int, user: str | None) -> TaskProgress:
        counts = self._store.search.task_counts(task_id, self._access.owner(user))
        if counts is None:
            raise NotFound(f"no task {task_id}")
        total = sum(counts.values())
        failed = counts.get("FAILED", 0)
        return TaskProgress(task_id, total, total - counts.get("SENDING", 0), failed)


def _found(rows: Sequence[OutboxRow] | Sequence[InboxRow], q: MessageQuery, total: int) -> Found:
    pages = max(1, -(-total // q.limit))
    return Found(rows, q.offset // q.limit + 1, pages, total)


@dataclass(frozen=True)
class Event:
    id: int
    kind: str            # register, sms, sms_result, sms_deliver_status, ussd, subscription
    time: str
    port: int | None
    summary: str


_SUMMARY_KEYS = ("number", "status", "reg", "operator", "message_id", "incoming_sms_id", "text")


def _event(ident: int, kind: str, payload: dict[str, object], created: float) -> Event:
    port = payload.get("port")
    parts = [f"{key}={payload[key]}" for key in _SUMMARY_KEYS if key in payload]
    summary = " ".join(parts)
    return Event(ident, kind, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
                 port if isinstance(port, int) and not isinstance(port, bool) else None,
                 summary[:200])


def recent_events(store: Store, access: AccessPolicy, user: str | None,
                  limit: int = 10) -> list[Event]:
    """The box's newest events for a user who controls ports (they name numbers and texts of
    everybody's messages); [] for anybody else."""
    if not access.may_control_ports(user):
        return []
    return [_event(*row) for row in store.search.recent_events(limit)]


# The row and query types of the searches, for the pages (which never import the store).
__all__ = ["Event", "Found", "InboxRow", "MessageQuery", "OutboxRow", "Search", "TaskProgress"]
