"""Scheduler + store with fake modem workers (threads that call the sink like real workers)."""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Iterator

import pytest

from smsd import pdu
from smsd.model import REG_OK, Recipient, SendRequest, SendResult
from smsd.modem.jobs import SendPart
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store

from fakes import FakeWorker, stop_all, wait_for

UTC = dt.timezone.utc
LONG = "This message is long enough to need two parts. " * 4


class Rig:
    """A store, a scheduler, fake workers and the service, wired like the daemon does."""

    def __init__(self, path: str, ports: int, latency: float = 0.0, **sched: object) -> None:
        self.store = Store(path)
        self.sched = Scheduler(self.store, **sched)  # type: ignore[arg-type]
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink, latency=latency) for p in range(ports)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers)

    def start(self, *ports: int) -> "Rig":
        for p in ports or self.workers:
            self.workers[p].start()
        self.sched.start()
        return self

    def send(self, numbers: list[str], text: str = "hello", **kw: object) -> list[int]:
        req = SendRequest(text, tuple(Recipient(n) for n in numbers), **kw)  # type: ignore[arg-type]
        return list(self.svc.sending.send_sms(req).message_ids)

    def drained(self, timeout: float = 15.0) -> bool:
        return wait_for(lambda: self.store.outbox.in_queue() == 0, timeout)

    def transmitted(self) -> list[int]:
        return [j.part_id for w in self.workers.values() for j in w.transmitted]

    def statuses(self) -> dict[int, str]:
        return {r.message_id: r.status for r in self.store.outbox.query_sms_result()}

    def part_ports(self, message_id: int) -> set[int]:
        rows = self.store.db.conn().execute("SELECT port FROM parts WHERE message_id = ?",
                                            (message_id,))
        return {r[0] for r in rows}

    def close(self) -> None:
        stop_all(self.sched, self.workers, self.store)


@pytest.fixture()
def rig_factory(tmp_path: Path) -> Iterator[object]:
    rigs: list[Rig] = []

    def make(ports: int = 2, latency: float = 0.0, **sched: object) -> Rig:
        rig = Rig(str(tmp_path / f"s{len(rigs)}.db"), ports, latency, **sched)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def test_every_part_sent_exactly_once_spread_over_ports(rig_factory) -> None:
    rig = rig_factory(ports=4, latency=0.002).start()
    ids = rig.send([f"+4479111{i:05d}" for i in range(40)])
    ids += rig.send([f"+4479222{i:05d}" for i in range(10)], text=LONG)
    assert rig.drained()
    sent = rig.transmitted()
    assert len(sent) == len(set(sent)) == 40 + 2 * 10
    assert set(rig.statuses().values()) == {"SENT_OK"}
    assert all(len(w.transmitted) >= 5 for w in rig.workers.values())
    for message_id in ids[40:]:
        assert len(rig.part_ports(message_id)) == 1        # one SIM per multipart message


def test_each_ready_port_holds_one_on_air_and_one_queued(rig_factory) -> None:
    rig = rig_factory(ports=2)
    gate = threading.Event()
    for w in rig.workers.values():
        w.outcome = lambda w, job: None if gate.wait(10) else None   # hold the part on the air
    rig.start()
    rig.send([str(1000 + i) for i in range(8)])
    assert wait_for(lambda: all(rig.sched.held(p) == 2 and rig.workers[p]._jobs.qsize() == 1
                                for p in (0, 1)))
    gate.set()
    assert rig.drained()


def test_port_list_of_a_task_is_honoured(rig_factory) -> None:
    rig = rig_factory(ports=3, latency=0.001).start()
    ids = rig.send([str(5000 + i) for i in range(12)], ports=(2,))
    assert rig.drained()
    assert all(rig.part_ports(m) == {2} for m in ids)
    assert not rig.workers[0].transmitted and not rig.workers[1].transmitted


def test_temporary_failure_is_retried_on_another_port(rig_factory) -> None:
    rig = rig_factory(ports=2, backoff=0.0)
    rig.workers[0].outcome = lambda w, job: SendResult(job.part_id, ok=False, cms=500,
                                                       error="unknown error")
    rig.start()
    (mid,) = rig.send(["+447911123456"])
    assert rig.drained()
    assert rig.statuses()[mid] == "SENT_OK"
    failed, ok = rig.workers[0].transmitted, rig.workers[1].transmitted
    assert len(failed) == len(ok) == 1 and failed[0].part_id == ok[0].part_id
    row = rig.store.db.conn().execute("SELECT attempts, port, status FROM parts").fetchone()
    assert row == (1, 1, "sent")


def test_temporary_failures_give_up_after_the_attempt_limit(rig_factory) -> None:
    rig = rig_factory(ports=1, backoff=0.0, max_attempts=3)
    calls: list[int] = []

    def failing(worker: FakeWorker, job: SendPart) -> SendResult:
        calls.append(job.part_id)
        return SendResult(job.part_id, ok=False, cms=500)

    rig.workers[0].outcome = failing
    rig.start()
    (mid,) = rig.send(["123"])
    assert rig.drained()
    assert rig.statuses()[mid] == "FAILED" and len(calls) == 3


def test_permanent_failure_is_not_retried(rig_factory) -> None:
    rig = rig_factory(ports=2, backoff=0.0)
    for w in rig.workers.values():
        w.outcome = lambda w, job: SendResult(job.part_id, ok=False, cms=21, permanent=True)
    rig.start()
    (mid,) = rig.send(["123"])
    assert rig.drained()
    assert rig.statuses()[mid] == "FAILED" and len(rig.transmitted()) == 1


def test_stop_task_skips_queued_parts_but_lets_the_one_on_air_finish(rig_factory) -> None:
    rig = rig_factory(ports=1)
    w = rig.workers[0]
    gate, on_air = threading.Event(), threading.Event()

    def hold(worker: FakeWorker, job: SendPart) -> None:
        on_air.set()
        gate.wait(10)

    w.outcome = hold
    rig.start()
    task = rig.svc.sending.send_sms(SendRequest("x", tuple(Recipient(str(100 + i)) for i in range(5))))
    assert on_air.wait(5) and wait_for(lambda: rig.sched.held(0) == 2)
    rig.svc.sending.stop_task(task.task_id)
    gate.set()
    assert rig.drained()
    assert wait_for(lambda: w.skipped != [])
    statuses = rig.statuses()
    assert len(w.transmitted) == 1 and statuses[task.message_ids[0]] == "SENT_OK"
    assert [statuses[m] for m in task.message_ids[1:]] == ["FAILED"] * 4


def test_parts_of_a_port_that_goes_down_move_to_another(rig_factory) -> None:
    rig = rig_factory(ports=2, latency=0.01)
    w0 = rig.workers[0]
    gate = threading.Event()
    w0.outcome = lambda w, job: None if gate.wait(10) else None   # port 0 stuck on one part
    rig.start()
    rig.send([str(700 + i) for i in range(6)])
    assert wait_for(lambda: rig.sched.held(0) == 2)
    w0.change(reg="UNREGISTER")
    gate.set()
    assert rig.drained()
    sent = rig.transmitted()
    assert len(sent) == len(set(sent)) == 6
    assert len(w0.transmitted) == 1             # the one on the air; its queued part moved
    kinds = [(e.kind, e.payload["status"]) for e in rig.store.events.events_after(0, 100)
             if e.kind == "register"]
    assert kinds == [("register", "down")]


def test_lease_of_a_hung_worker_expires_and_nothing_is_sent_twice(rig_factory) -> None:
    rig = rig_factory(ports=2, latency=0.01, lease_timeout=0.2).start(1)   # worker 0 hangs
    rig.send([str(900 + i) for i in range(6)])
    assert rig.drained()
    rig.workers[0].start()                      # wakes up with stale jobs in its queue
    assert wait_for(lambda: rig.workers[0]._jobs.qsize() == 0)
    rig.workers[0].stop()
    assert rig.workers[0].transmitted == []
    assert len(rig.workers[1].transmitted) == 6


def test_status_reports_make_messages_delivered(rig_factory) -> None:
    rig = rig_factory(ports=1).start()
    (m1,) = rig.send(["+447911123456"], text=LONG)
    assert rig.drained()
    w = rig.workers[0]
    now = dt.datetime.now(UTC)
    for job in w.transmitted:
        mr = rig.store.db.conn().execute("SELECT mr FROM parts WHERE id = ?",
                                         (job.part_id,)).fetchone()[0]
        assert rig.statuses()[m1] == "SENT_OK"
        w.receive(pdu.encode_status_report("+447911123456", mr, 0, scts=now, discharge=now),
                  kind="status_report")
    assert rig.statuses()[m1] == "DELIVERED"
    kinds = [e.kind for e in rig.store.events.events_after(0, 100)]
    assert kinds == ["sms_result", "sms_deliver_status", "sms_deliver_status", "sms_result"]
    ds = rig.svc.sending.query_reports(numbers=["+447911123456"])
    assert [d.status_code for d in ds] == [0, 0]


def test_inbound_concatenated_message_out_of_order(rig_factory) -> None:
    rig = rig_factory(ports=1).start()
    text = "Bonjour, voici un long message. " * 8
    scts = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    pdus = pdu.encode_deliver("+33612345678", text, scts=scts, concat_ref=42)
    assert len(pdus) > 1
    for hex_pdu in reversed(pdus):
        rig.workers[0].receive(hex_pdu)
    page = rig.svc.inbox.query(flag="all")
    assert [s.text for s in page.sms] == [text] and page.sms[0].number == "+33612345678"
    (ev,) = [e.payload for e in rig.store.events.events_after(0, 10) if e.kind == "sms"]
    assert ev["text"] == text and ev["imsi"] == rig.workers[0].info.imsi


def test_undecodable_pdu_is_kept_not_lost(rig_factory) -> None:
    rig = rig_factory(ports=1).start()
    rig.workers[0].receive("07XYZ")
    rows = rig.store.db.conn().execute("SELECT pdu FROM bad_pdus").fetchall()
    assert rows == [("07XYZ",)]


def test_register_up_down_events_with_sequence(rig_factory) -> None:
    rig = rig_factory(ports=1)
    w = rig.workers[0]
    w.change(signal=20)                          # ready from the start: no transition
    w.change(reg="SEARCHING_NETWORK")
    w.change(reg="SEARCHING_NETWORK", signal=3)
    w.change(reg=REG_OK)
    evs = [e.payload for e in rig.store.events.events_after(0, 10) if e.kind == "register"]
    assert [(e["status"], e["sequence"]) for e in evs] == [("down", 1), ("up", 2)]
    assert evs[1]["imsi"] == w.info.imsi and evs[1]["slot"] == 0


def test_ussd_reply_is_stored_and_announced(rig_factory) -> None:
    rig = rig_factory(ports=2).start()
    assert rig.svc.ussd.send([1], "*100#") == [(1, 200)]
    assert wait_for(lambda: rig.svc.ussd.replies([1]) == [(1, "reply to *100#")])
    (ev,) = [e.payload for e in rig.store.events.events_after(0, 10) if e.kind == "ussd"]
    assert ev == {"port": 1, "text": "reply to *100#"}


def test_mr_wraps_after_255_and_reports_match_the_latest_send(rig_factory) -> None:
    rig = rig_factory(ports=1)
    rig.workers[0].mr = 253
    rig.start()
    ids = rig.send(["+447911000001"] * 5)           # MRs 253, 254, 255, 0, 1
    assert rig.drained()
    refs = [r.ref_id for r in rig.store.outbox.query_sms_result()]
    assert refs == [253, 254, 255, 0, 1]
    rig.workers[0].mr = 0                            # the counter wraps again: MR 0 reused
    (again,) = rig.send(["+447911000001"])
    assert rig.drained()
    now = dt.datetime.now(UTC)
    rig.workers[0].receive(pdu.encode_status_report("+447911000001", 0, 0, scts=now,
                                                    discharge=now), kind="status_report")
    statuses = rig.statuses()
    assert statuses[again] == "DELIVERED" and statuses[ids[3]] == "SENT_OK"
    rig.workers[0].receive(pdu.encode_status_report("+447911000001", 255, 0, scts=now,
                                                    discharge=now), kind="status_report")
    assert rig.statuses()[ids[2]] == "DELIVERED"


def test_register_down_names_the_sim_that_went_away(rig_factory) -> None:
    rig = rig_factory(ports=1)
    w = rig.workers[0]
    imsi = w.info.imsi
    w.change(reg="NO_SIM", imsi="", iccid="", number="")
    (ev,) = [e.payload for e in rig.store.events.events_after(0, 10) if e.kind == "register"]
    assert ev["status"] == "down" and ev["imsi"] == imsi and ev["iccid"] != ""
    assert rig.svc.ports.info([0])[0].imsi == ""         # port info shows the new state


def hold_on_air(rig: Rig) -> tuple[threading.Event, list[int]]:
    """Each worker keeps its part on the air until the gate opens; the list names those parts."""
    gate, on_air = threading.Event(), []

    def hold(_: FakeWorker, job: SendPart) -> None:
        on_air.append(job.part_id)
        gate.wait(10)
    for w in rig.workers.values():
        w.outcome = hold
    return gate, on_air


def test_drain_lets_the_parts_on_the_air_finish_and_starts_no_other(rig_factory) -> None:
    rig = rig_factory(ports=2)
    gate, on_air = hold_on_air(rig)
    rig.start()
    ids = rig.send([str(1000 + i) for i in range(8)])
    assert wait_for(lambda: len(on_air) == 2 and all(rig.sched.held(p) == 2 for p in (0, 1)))
    assert rig.sched.drain() == 2                       # one on the air per port
    assert not rig.sched.wait_drained(0.2)
    gate.set()
    assert rig.sched.wait_drained(5)
    report = rig.sched.drain_report()
    assert (report.sent, report.refused, report.abandoned) == (2, 0, ())
    assert wait_for(lambda: all(w.skipped for w in rig.workers.values()))   # the waiting ones
    assert len(rig.transmitted()) == 2
    statuses = rig.statuses()
    assert sorted(statuses[m] for m in ids) == ["SENDING"] * 6 + ["SENT_OK"] * 2
    assert rig.store.outbox.left_queued() == 6
    # The parts the workers skipped stay leased; the next start's recovery queues them again.
    assert rig.store.outbox.recover_after_restart().requeued == 2


def test_drain_names_the_parts_still_on_the_air(rig_factory) -> None:
    rig = rig_factory(ports=1)
    gate, on_air = hold_on_air(rig)
    rig.start()
    rig.send(["1000", "1001"])
    assert wait_for(lambda: len(on_air) == 1 and rig.sched.held(0) == 2)
    assert rig.sched.drain() == 1
    assert not rig.sched.wait_drained(0.1)
    assert rig.sched.drain_report().abandoned == ((0, on_air[0]),)
    assert rig.store.outbox.left_queued() == 1      # the message on the air is not counted
    gate.set()
