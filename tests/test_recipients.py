"""Recipient resolution (smsd/service/recipients.py) per dialect policy, over a real address book,
and a submission's messages (svc.sending.submission)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from smsd.model import Limits, Recipient, SendRequest
from smsd.modem_events import ModemEventSink
from smsd.numbers import POLICIES, NumberPolicy, looks_like_number, normalise_number
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.service.book import AddressBook
from smsd.service.recipients import Recipients, Resolution
from smsd.service.subscriptions import Subscriptions
from smsd.store import Store

from fakes import FakeWorker

ISMS, OZEKI, INTELLI, GATEWAY = (POLICIES[d] for d in ("isms", "ozeki", "intelli", "gateway_php"))


class Book:
    """The address book, subscription lists and the resolver over a temporary store."""

    def __init__(self, path: str, limits: Limits = Limits()) -> None:
        self.store = Store(path)
        self.book = AddressBook(self.store)
        self.lists = Subscriptions(self.store, self.book, lambda: 0.0)
        self.recipients = Recipients(self.book.expand, self.lists.expand, limits)

    def resolve(self, items: list[str], policy: NumberPolicy) -> Resolution:
        return self.recipients.resolve_recipients(items, policy)


@pytest.fixture()
def book(tmp_path: Path) -> Iterator[Book]:
    b = Book(str(tmp_path / "r.db"))
    b.book.contact_set("ann", "+447700900001")
    b.book.contact_set("bob", "07700900002")            # national
    b.book.contact_set("cid", "447700900003")           # bare digits
    b.book.group_set("team", ["ann", "bob", "cid"])
    b.book.group_set("empty", [])
    yield b
    b.store.close()


def outline(res: Resolution) -> list[tuple[int, str | None, str | None]]:
    return [(o.item, o.number, o.reject) for o in res.outcomes]


# --- the one normaliser, per policy -------------------------------------------------------------
@pytest.mark.parametrize("policy, given, want", [
    (ISMS, "+44 7700-900.001", "+447700900001"), (ISMS, "0044 7700", "00447700"),
    (ISMS, "07700 900", "07700900"), (ISMS, "1" * 24, "1" * 24), (ISMS, "1" * 25, None),
    (ISMS, "++1", None), (ISMS, "12a", None), (ISMS, "+", None),
    (OZEKI, "(+44) 7700", "+447700"), (OZEKI, "bob", None),
    (INTELLI, "00447700900001", "+447700900001"), (INTELLI, "447700900001", "+447700900001"),
    (INTELLI, "07700900001", "07700900001"), (INTELLI, "+0770", "+0770"),
    (INTELLI, " 447700900001", "+447700900001"), (INTELLI, '"07700900001"', "07700900001"),
    (INTELLI, " 07700900001", "+07700900001"),     # a `+` that came as a space
    (ISMS, " 447700900001", "447700900001"),       # iSMS restores it while parsing (legacy)
    (INTELLI, "123", None), (INTELLI, "0012345", "+12345"), (INTELLI, "00123", None),
    (INTELLI, "00" + "1" * 19, None), (INTELLI, "+" + "1" * 20, "+" + "1" * 20),
    (GATEWAY, "(44) 7700 900001", "+447700900001"), (GATEWAY, "07700900001", None),
    (GATEWAY, "-447700900001", None), (GATEWAY, "+0447700900", None),
    (GATEWAY, "00" + "1" * 15, "+" + "1" * 15), (GATEWAY, "123456", None),
    (POLICIES["book"], "+44 (0)20-7946 0000", "+4402079460000"),
])
def test_normalise_per_policy(policy: NumberPolicy, given: str, want: str | None) -> None:
    assert normalise_number(given, policy) == want


def test_number_or_name_per_policy() -> None:
    # gateway.php: made of number characters is a number (refused if it does not normalise).
    assert looks_like_number("-4477", GATEWAY) and not looks_like_number("bob 2", GATEWAY)
    # iSMS names: only +digits as written are numbers, "12-34" is looked up as a name.
    assert looks_like_number("+1234", ISMS) and not looks_like_number("12-34", ISMS)
    # the others: a number when it normalises.
    assert looks_like_number("12-34", OZEKI) and not looks_like_number("12", INTELLI)


# --- resolution ---------------------------------------------------------------------------------
def test_groups_expand_in_order_and_duplicates_drop(book: Book) -> None:
    res = book.resolve(["+447700900003", "team", "ann"], ISMS)
    assert res.numbers == ["+447700900003", "+447700900001", "07700900002", "447700900003"]
    assert res.rejects == [] and not res.too_many
    assert [o.item for o in res.outcomes] == [0, 1, 1, 1]


def test_intelli_duplicates_are_the_same_digits(book: Book) -> None:
    res = book.resolve(["447700900003", "team", "+447700900001"], INTELLI)
    # cid's bare 447700900003 is the first item again; ann once; bob stays national.
    assert res.numbers == ["+447700900003", "+447700900001", "07700900002"]


def test_ozeki_keeps_duplicates(book: Book) -> None:
    assert book.resolve(["ann", "+447700900001", "ann"], OZEKI).numbers == \
        ["+447700900001"] * 3


def test_rejects_per_item_with_why(book: Book) -> None:
    res = book.resolve(["zed", "team", "12-34x", "+447700900009"], GATEWAY)
    assert outline(res) == [(0, None, "unknown"),
                            (1, "+447700900001", None),
                            (1, None, "number"),                # bob: national, not for gateway
                            (1, "+447700900003", None),
                            (2, None, "unknown"),               # not number characters: a name
                            (3, "+447700900009", None)]
    bob = res.rejects[1]
    assert bob.text == "07700900002" and "not a phone number" in bob.detail
    assert "unknown recipient 'zed'" in res.rejects[0].detail


def test_intelli_names_are_looked_up_as_written(book: Book) -> None:
    # A name in quotes is no name (only numbers lose their quotes); a too short number the book
    # keeps as written is the item itself failing.
    res = book.resolve([' "ann"', " 12", "ann"], INTELLI)
    assert outline(res) == [(0, None, "unknown"), (1, None, "number"), (2, "+447700900001", None)]
    assert res.rejects[1].text is None


def test_an_empty_group_gives_nothing(book: Book) -> None:
    assert book.resolve(["empty"], OZEKI).outcomes == ()


def test_isms_names_over_50_bytes_are_refused(book: Book) -> None:
    res = book.resolve(["x" * 51, "ann"], ISMS)
    assert outline(res) == [(0, None, "name"), (1, "+447700900001", None)]


def test_lists_expand_for_intelli_only(book: Book) -> None:
    book.lists.update("news", "447700900007", 1)
    book.lists.update("news", "447700900008", 2)        # opted out
    assert book.resolve(["news"], INTELLI).numbers == ["+447700900007"]
    assert outline(book.resolve(["news"], ISMS)) == [(0, None, "unknown")]


def test_limits(tmp_path: Path) -> None:
    b = Book(str(tmp_path / "l.db"), Limits(max_numbers=2, max_expanded=3))
    try:
        assert not b.resolve(["1", "2"], ISMS).too_many
        assert b.resolve(["1", "2", "3"], ISMS).too_many
        assert b.resolve(["1", "2", "1"], ISMS).numbers == ["1", "2"]     # counted once
        assert not b.resolve(["1111", "2222", "3333"], INTELLI).too_many  # max_expanded
        assert b.resolve(["1111", "2222", "3333", "4444"], INTELLI).too_many
        many = b.resolve(["1111"] * 101, INTELLI)
        assert many.too_many_items and many.outcomes == ()
        assert not b.resolve(["1111"] * 100, INTELLI).too_many_items
    finally:
        b.store.close()


# --- a submission's messages ----------------------------------------------------------------------
def test_submission_is_the_task_from_the_message_on(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s.db"))
    sched = Scheduler(store)
    sched.attach({0: FakeWorker(0, ModemEventSink(store, sched))})
    svc = Service(store, sched)
    try:
        svc.users.add("ann", "pw-ann-123456")
        first = svc.sending.send_sms(SendRequest("a", (Recipient("1"), Recipient("2"),
                                                       Recipient("3"))), user="ann")
        other = svc.sending.send_sms(SendRequest("b", (Recipient("4"),)))
        ids = list(first.message_ids)
        assert [m.message_id for m in svc.sending.submission(ids[0], "ann")] == ids
        assert [m.number for m in svc.sending.submission(ids[1], "ann")] == ["2", "3"]
        assert [m.number for m in svc.sending.submission(ids[0], "ann", limit=2)] == ["1", "2"]
        assert [m.message_id for m in svc.sending.submission(ids[0])] == ids   # an admin
        assert svc.sending.submission(other.message_ids[0], "ann") == []    # somebody else's
        assert svc.sending.submission(10 ** 9, "ann") == []
    finally:
        sched.stop()
        store.close()
