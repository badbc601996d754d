"""A status report stored before its part's 'sent' commit is matched when the part is committed
(smsd/store/outbox.py `_match_early_report`; found by bench/soak.py: on a fast network the
report's URC path can win the race against the part's result)."""
from __future__ import annotations


import pytest

from smsd.model import SendResult
from smsd.store import Store

NOW = 1_700_000_000.0


def queue(store: Store, number: str, parts: int) -> list[int]:
    store.outbox.intake(user="admin", text="hi", encoding="auto", srr=True, ports=None,
                        rows=[(number, None, 1, parts)], now=NOW)
    msg = store.outbox.waiting(0, 1)[0]
    ids = store.outbox.materialize(msg.id, 0, [(i + 1, parts, "00", 1) for i in range(parts)],
                                   NOW)
    assert ids is not None
    return ids


def sent(store: Store, part: int, mr: int, now: float) -> None:
    store.outbox.lease(part, 0, now)            # the first part is leased by materialize
    assert store.outbox.part_starting(0, part, now)
    store.outbox.part_result(0, SendResult(part, ok=True, mr=mr), imsi="I", now=now,
                             max_attempts=3, backoff=1.0)


def report(store: Store, mr: int, number: str, now: float, st: int = 0) -> int | None:
    return store.inbox.record_status_report(
        port=0, slot=0, imsi="I", recipient=number, mr=mr, st=st,
        category="delivered" if st < 0x20 else "failed", scts=None, discharge=None, now=now,
        window=3600)


def status(store: Store) -> str:
    return store.outbox.query_sms_result()[0].status


def test_a_report_that_came_before_the_sent_commit_delivers_the_message(store: Store) -> None:
    first, second = queue(store, "+447911123456", parts=2)
    sent(store, first, 10, NOW)
    assert report(store, 10, "+447911123456", NOW + 0.1) == 1
    # the second part's report is stored before its result is committed: unmatched then
    assert report(store, 11, "447911123456", NOW + 0.2) is None
    sent(store, second, 11, NOW + 0.3)
    assert status(store) == "DELIVERED"
    rows = store.db.conn().execute("SELECT part_id, message_id FROM delivery_reports "
                                   "ORDER BY id").fetchall()
    assert rows == [(first, 1), (second, 1)]


def test_an_old_unmatched_report_or_another_number_is_not_taken(store: Store) -> None:
    (part,) = queue(store, "+447911123456", parts=1)
    assert report(store, 20, "+447911123456", NOW - 60) is None      # long before: another send
    assert report(store, 20, "+447911999999", NOW) is None           # another recipient
    sent(store, part, 20, NOW + 0.1)
    assert status(store) == "SENT_OK"


def test_a_failed_early_report_records_its_status_without_delivering(store: Store) -> None:
    (part,) = queue(store, "+447911123456", parts=1)
    assert report(store, 30, "+447911123456", NOW, st=0x41) is None
    sent(store, part, 30, NOW + 0.1)
    assert status(store) == "SENT_OK"
    assert store.db.conn().execute("SELECT dr_status FROM parts").fetchone()[0] == 0x41
