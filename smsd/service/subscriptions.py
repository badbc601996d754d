"""Subscription lists: named sets of numbers that opt in or out.

A list name used as a recipient sends to its opted-in numbers, and a group of the same name
loses the numbers that opted out of that list.
"""
from __future__ import annotations

from typing import Callable, Sequence

from smsd.errors import BadRequest, UnknownRecipient
from smsd.numbers import msisdn
from smsd.service.book import AddressBook
from smsd.store import subscriptions as stored
from smsd.store.db import Store

ACTIONS = (stored.ACTION_IN, stored.ACTION_OUT, stored.ACTION_DELETE)
LIST_NAME_MAX = 64


class Subscriptions:
    def __init__(self, store: Store, book: AddressBook, clock: Callable[[], float]) -> None:
        self._store = store
        self._book = book
        self._clock = clock

    def update(self, list_name: str, number: str, action: int,
               source: int = stored.SOURCE_API) -> None:
        """Opt a number in (1) or out (2) of a list, or delete it (3); a `subscription` event."""
        name = list_name.strip()
        if not name or len(name) > LIST_NAME_MAX or not name.isprintable():
            raise BadRequest(f"list name: 1 to {LIST_NAME_MAX} printable characters")
        if action not in ACTIONS:
            raise BadRequest("action must be 1 (opt-in), 2 (opt-out) or 3 (delete)")
        digits = msisdn(number)
        if digits is None or not 5 <= len(digits) <= 20:
            raise BadRequest(f"bad number {number!r}")
        self._store.subscriptions.update(name, digits, action, source, self._clock())

    def lists(self) -> list[str]:
        return self._store.subscriptions.lists()

    def subscribers(self, list_name: str, opted_in: bool = True) -> list[str]:
        state = stored.STATE_IN if opted_in else stored.STATE_OUT
        return self._store.subscriptions.subscribers(list_name, state)

    def expand(self, items: Sequence[str]) -> list[str]:
        """AddressBook.expand, plus subscription list names; opted-out numbers are left out."""
        lists = set(self.lists())
        out: list[str] = []
        for item in items:
            out += self._expand_one(item, lists)
        return list(dict.fromkeys(out))

    def _expand_one(self, item: str, lists: set[str]) -> list[str]:
        if item not in lists:
            return self._book.expand([item])
        try:
            numbers = self._book.expand([item])      # a group of the same name
        except UnknownRecipient:
            return self.subscribers(item)
        gone = self._store.subscriptions.opted_out(item, numbers)
        return [n for n in numbers if n not in gone]
