"""Service methods for issue 5: payload kinds at intake, subscription lists, list expansion.

Mixed into `smsd.service.Service`. `send_sms` calls `_payload_rows` (binary part counts, UDH
checks) and `_payload_extra` (what is stored on the task); the scheduler applies the payload when
it builds the PDUs. Subscription lists are named sets of numbers that opt in or out; a list name
used as a recipient sends to its opted-in numbers, and a group of the same name loses the
numbers that opted out of that list.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from smsd.errors import BadRequest, CodecError, UnknownRecipient
from smsd.model import SendRequest
from smsd.pdu import binary
from smsd.store import subscriptions as intelli
from smsd.service_book import BookService

ACTIONS = (intelli.ACTION_IN, intelli.ACTION_OUT, intelli.ACTION_DELETE)
LIST_NAME_MAX = 64
Row = tuple[str, "str | None", "int | None", int]


class IntelliService(BookService):
    # --- payload kinds (called by send_sms) -----------------------------------------------------
    @staticmethod
    def _payload_rows(request: SendRequest, rows: list[Row]) -> list[Row]:
        """Part counts of a binary payload replace the text's (the text is only a label)."""
        if request.data is None:
            if request.udh:
                raise BadRequest("udh needs binary data")
            return rows
        if not isinstance(request.data, bytes) or not request.data:
            raise BadRequest("binary data must be non-empty bytes")
        try:
            count = binary.count_parts(request.data, request.udh)
        except CodecError as exc:
            raise BadRequest(f"udh: {exc}") from exc
        return [(number, None, user_id, count) for number, _, user_id, _ in rows]

    @staticmethod
    def _payload_extra(request: SendRequest) -> dict[str, Any]:
        if len(request.usercontext) > 255:
            raise BadRequest("usercontext: at most 255 characters")
        return {"flash": bool(request.flash), "data": request.data, "udh": bytes(request.udh),
                "usercontext": request.usercontext}

    # --- subscription lists ---------------------------------------------------------------------
    def subscription_update(self, list_name: str, number: str, action: int,
                            source: int = intelli.SOURCE_API) -> None:
        """Opt a number in (1) or out (2) of a list, or delete it (3); a `subscription` event."""
        name = list_name.strip()
        if not name or len(name) > LIST_NAME_MAX or not name.isprintable():
            raise BadRequest(f"list name: 1 to {LIST_NAME_MAX} printable characters")
        if action not in ACTIONS:
            raise BadRequest("action must be 1 (opt-in), 2 (opt-out) or 3 (delete)")
        digits = intelli.msisdn(number)
        if not 5 <= len(digits) <= 20:
            raise BadRequest(f"bad number {number!r}")
        self._store.subscriptions.update(name, digits, action,
                                    source, self._now())

    def subscription_lists(self) -> list[str]:
        return self._store.subscriptions.lists()

    def subscribers(self, list_name: str, opted_in: bool = True) -> list[str]:
        state = intelli.STATE_IN if opted_in else intelli.STATE_OUT
        return self._store.subscriptions.subscribers(list_name, state)

    def expand_with_lists(self, items: Sequence[str]) -> list[str]:
        """expand_recipients, plus subscription list names; opted-out numbers are left out."""
        lists = set(self.subscription_lists())
        out: list[str] = []
        for item in items:
            out += self._expand_one(item, lists)
        return list(dict.fromkeys(out))

    def _expand_one(self, item: str, lists: set[str]) -> list[str]:
        if item not in lists:
            return self.expand_recipients([item])
        try:
            numbers = self.expand_recipients([item])      # a group of the same name
        except UnknownRecipient:
            return self.subscribers(item)
        gone = self._store.subscriptions.opted_out(item, numbers)
        return [n for n in numbers if n not in gone]

    def _now(self) -> float:
        clock = getattr(self, "_clock", None)      # Service's clock; the admin CLI has none
        return float(clock()) if clock is not None else time.time()
