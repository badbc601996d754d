"""The call detail records repository over a temp SQLite file (migration 0009)."""
from __future__ import annotations


import pytest

from smsd.store import Store
from smsd.store.times import fmt_time, parse_time

T0 = parse_time("2026-03-01 12:00:00")


def add(store: Store, port: int, started: float, answered: float | None = None,
        source: str = "+447700900123") -> None:
    store.cdr.add(port=port, slot=255, imsi="234100000000001", source_number=source,
                  destination_number="+447900000011", started=started, answered=answered,
                  ended=started + 8, duration=0 if answered is None else 3,
                  direction="gsm->ip", hangup="gateway", gsm_code=21, policy="reject",
                  now=started + 8)


def test_a_record_and_its_cdr_event_are_written_together(store: Store) -> None:
    add(store, 2, T0, answered=T0 + 5)
    [row] = store.cdr.query()
    item = row.vendor_item()
    assert item == {"port": 2, "start_date": fmt_time(T0), "answer_date": fmt_time(T0 + 5),
                    "duration": 3, "source_number": "+447700900123",
                    "destination_number": "+447900000011", "direction": "gsm->ip", "ip": "",
                    "codec": "", "hangup": "gateway", "gsm_code": 21, "bcch": ""}
    [event] = [e for e in store.events.events_after(0, 100) if e.kind == "cdr"]
    assert event.payload == item
    assert (row.slot, row.imsi, row.policy) == (255, "234100000000001", "reject")


def test_query_filters_by_port_and_start_time_oldest_first(store: Store) -> None:
    for i in range(4):
        add(store, i % 2, T0 + 60 * i)
    assert [r.port for r in store.cdr.query(ports=[1])] == [1, 1]
    assert [r.start_date for r in store.cdr.query(time_after=T0 + 60, time_before=T0 + 120)] \
        == [fmt_time(T0 + 60), fmt_time(T0 + 120)]
    assert store.cdr.query(ports=[]) == []
    assert [r.start_date for r in store.cdr.query(limit=2)] == [fmt_time(T0 + 120),
                                                                fmt_time(T0 + 180)]


def test_text_from_the_modem_is_capped(store: Store) -> None:
    add(store, 0, T0, source="9" * 500)
    assert len(store.cdr.query()[0].source_number) == 64
