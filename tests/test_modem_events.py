"""ModemEventSink: what the modems report goes into the store (temp SQLite) and, for the ports'
state and the parts handed out, to a real scheduler (no workers: calls made as a worker would)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest

from smsd import pdu
from smsd.model import REG_OK, InboundPdu, UssdReply
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.store import Store

from fakes import ready_info

SCTS = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[tuple[Store, Scheduler, ModemEventSink]]:
    store = Store(str(tmp_path / "smsd.db"))
    sched = Scheduler(store)
    yield store, sched, ModemEventSink(store, sched, clock=lambda: 1_700_000_000.0)
    store.close()


def kinds(store: Store) -> list[str]:
    return [e.kind for e in store.events.events_after(0, 100)]


def test_inbound_without_imsi_is_filed_under_the_sim_the_port_last_reported(rig) -> None:
    store, _, sink = rig
    sink.port_changed(ready_info(2))
    (hex_pdu,) = pdu.encode_deliver("+447700900123", "hi", scts=SCTS)
    sink.inbound(InboundPdu(port=2, slot=0, pdu_hex=hex_pdu, kind="deliver", imsi=""))
    (ev,) = [e.payload for e in store.events.events_after(0, 10) if e.kind == "sms"]
    assert ev["text"] == "hi" and ev["imsi"] == ready_info(2).imsi


def test_a_submit_in_a_received_slot_is_kept_aside_not_filed(rig) -> None:
    store, _, sink = rig
    (part,) = pdu.encode_submit("+447700900123", "not mine")
    sink.inbound(InboundPdu(port=0, slot=1, pdu_hex=part.hex, kind="deliver"))
    rows = store.db.conn().execute("SELECT port, slot, pdu FROM bad_pdus").fetchall()
    assert rows == [(0, 1, part.hex)] and "sms" not in kinds(store)


def test_ussd_reply_is_stored_with_the_sinks_clock(rig) -> None:
    store, _, sink = rig
    sink.ussd_reply(UssdReply(3, "Balance 5", 0))
    assert store.inbox.ussd_last(3) == ("in", "Balance 5", 1_700_000_000.0)


def test_the_scheduler_sees_each_new_port_state_and_only_transitions_are_events(rig) -> None:
    store, sched, sink = rig
    sink.port_changed(ready_info(0, reg="SEARCHING_NETWORK"))
    assert kinds(store) == []                      # first news of a port that is not up
    sink.port_changed(ready_info(0))
    sink.port_changed(ready_info(0, signal=9))
    assert sched.last_info(0) == ready_info(0, signal=9)
    sink.port_changed(ready_info(0, reg="UNREGISTER"))
    evs = [e.payload for e in store.events.events_after(0, 10)]
    assert [(e["status"], e["sequence"]) for e in evs] == [("up", 1), ("down", 2)]
    last = sched.last_info(0)
    assert last is not None and last.reg != REG_OK
