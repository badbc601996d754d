"""Received SMS as the JSON and iSMS dialects page through them."""
from __future__ import annotations

import re
from typing import Sequence

from smsd.errors import BadRequest
from smsd.model import InboxFilter, InboxPage
from smsd.service.access import AccessPolicy
from smsd.store.db import Store
from smsd.store.inbox import INBOX_PAGE

FLAGS = ("unread", "read", "all")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
_CLOCK = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}").fullmatch


class Inbox:
    def __init__(self, store: Store, access: AccessPolicy) -> None:
        self._store = store
        self._access = access

    def query(self, after_id: int = 0, flag: str = "unread",
                       ports: Sequence[int] | None = None, limit: int | None = None,
                       match: InboxFilter | None = None, user: str | None = None) -> InboxPage:
        """Received messages `user` may see, oldest first; the unread ones returned become read.

        `limit` caps the page (the store's own page size otherwise) and `match` filters it:
        messages beyond the limit or not matching stay unread for the next call."""
        if flag not in FLAGS:
            raise BadRequest(f"flag must be one of {', '.join(FLAGS)}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise BadRequest("limit must be a positive integer")
        if match is not None:
            self._check_inbox_filter(match)
        page = INBOX_PAGE if limit is None else min(limit, INBOX_PAGE)
        return self._store.inbox.query_incoming(after_id=after_id, flag=flag, ports=ports,
                                                limit=page, match=match,
                                                viewer=self._access.owner(user))

    @staticmethod
    def _check_inbox_filter(match: InboxFilter) -> None:
        for day in (match.day_from, match.day_to):
            if day is not None and not _DAY(day):
                raise BadRequest(f"day {day!r} is not YYYY-MM-DD")
        for clock in (match.time_from, match.time_to):
            if clock is not None and not _CLOCK(clock):
                raise BadRequest(f"time {clock!r} is not HH:MM:SS")
