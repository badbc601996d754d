"""Send priority: the scheduler with the real store on a temp SQLite file and real modem workers
on the simulated board; the simulated network's journal is the order messages went out in."""
from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Iterator

import pytest

from smsd.model import Recipient, SendRequest
from smsd.modem.worker import ModemWorker
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.sim import SimBoard
from smsd.store import Store, migrate
from smsd.store.outbox import TaskExtra

from fakes import wait_for

LOW, NORMAL, HIGH = -1, 0, 1          # what the iSMS priorities 1, 2, 3 become


class Box:
    """One simulated port, its worker, the scheduler and the service, wired like the daemon."""

    def __init__(self, tmp: Path, latency: float) -> None:
        self.journal = tmp / "journal.jsonl"
        self.board = SimBoard(ports=1, latency=latency, journal=str(self.journal))
        self.board.start()
        self.store = Store(str(tmp / "smsd.db"))
        self.sched = Scheduler(self.store)
        settings = self.sched.port_config.worker_settings
        self.worker = ModemWorker(port=0, device=self.board.device(0),
                                  sink=ModemEventSink(self.store, self.sched),
                                  settings=functools.partial(settings, 0))
        self.sched.attach({0: self.worker})
        self.svc = Service(self.store, self.sched, {0: self.worker})
        self.sched.start()

    def start_port(self) -> None:
        self.worker.start()
        assert wait_for(lambda: self.worker.info.can_send, 30)

    def queue(self, numbers: list[str], priority: int) -> None:
        """Accept messages straight into the store (the service refuses while no port can send)."""
        self.store.outbox.intake(user="admin", text="queued", encoding="auto", srr=False, ports=None,
                                 rows=[(n, None, None, 1) for n in numbers], now=time.time(),
                                 extra=TaskExtra(priority=priority))
        self.sched.kick()

    def send(self, numbers: list[str], priority: int) -> None:
        self.svc.sending.send_sms(SendRequest("sent", tuple(Recipient(n) for n in numbers),
                                              request_status_report=False, priority=priority))

    def sent_to(self) -> list[str]:
        if not self.journal.exists():
            return []
        lines = self.journal.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["to"] for line in lines]

    def close(self) -> None:
        self.sched.stop()
        self.worker.stop()
        self.board.stop()
        self.store.close()


@pytest.fixture()
def make_box(tmp_path: Path) -> Iterator[object]:
    boxes: list[Box] = []

    def make(latency: float = 0.05) -> Box:
        boxes.append(Box(tmp_path, latency))
        return boxes[-1]

    yield make
    for box in boxes:
        box.close()


def numbers(prefix: str, n: int) -> list[str]:
    return [f"+44770{prefix}{i:04d}" for i in range(n)]


def test_higher_priority_waiting_messages_go_first_fifo_within_one(make_box) -> None:
    box = make_box()
    low, normal, high = numbers("1", 4), numbers("2", 4), numbers("3", 3)
    # The port is not running yet: everything waits, the oldest (low) first.
    box.queue(low[:2], LOW)
    box.queue(normal, NORMAL)
    box.queue(low[2:], LOW)
    box.queue(high, HIGH)
    box.start_port()
    assert wait_for(lambda: box.store.outbox.in_queue() == 0, 30)
    assert box.sent_to() == high + normal + low


def test_high_priority_overtakes_low_ones_already_read_ahead(make_box) -> None:
    box = make_box(latency=0.1)
    box.start_port()
    low, high = numbers("1", 20), numbers("3", 3)
    box.send(low, LOW)
    # The scheduler has read every low message into its look-ahead buffer by now.
    assert wait_for(lambda: len(box.sent_to()) >= 1, 20)
    box.send(high, HIGH)
    before = len(box.sent_to())          # at least what had gone out when they were accepted
    assert wait_for(lambda: box.store.outbox.in_queue() == 0, 30)
    order = box.sent_to()
    assert sorted(order) == sorted(low + high) and len(order) == len(set(order))
    assert [n for n in order if n in low] == low                  # FIFO within a priority
    # Only what the port already held (depth 2, plus one handed in a pass that had started)
    # may go before the high ones.
    last_high = max(order.index(n) for n in high)
    assert last_high < before + box.sched.depth + 1 + len(high)
    assert [n for n in order if n in high] == high


def test_normal_is_the_default_priority(make_box) -> None:
    box = make_box(latency=0.3)      # the high ones are still on the air when it comes
    box.queue(numbers("1", 2), LOW)
    box.queue(numbers("3", 2), HIGH)
    box.start_port()
    box.svc.sending.send_sms(SendRequest("default", (Recipient("+447702000001"),),
                                         request_status_report=False))
    assert wait_for(lambda: box.store.outbox.in_queue() == 0, 30)
    order = box.sent_to()
    assert order.index("+447702000001") < min(order.index(n) for n in numbers("1", 2))


def test_upgrade_gives_waiting_messages_their_task_priority(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    store = Store(path, migrations=migrate.load()[:1])      # v0.1.0's tables, not later ones
    store.outbox.intake(user="admin", text="x", encoding="auto", srr=False, ports=None,
                        rows=[("+447701000001", None, None, 1)], now=time.time())
    store.outbox.intake(user="admin", text="y", encoding="auto", srr=False, ports=None,
                        rows=[("+447703000001", None, None, 1)], now=time.time(),
                        extra=TaskExtra(priority=HIGH))
    with store.db.write() as conn:     # as a pre-release database: no priority column, version 0
        conn.execute("DROP INDEX messages_waiting_rank")
        conn.execute("ALTER TABLE messages DROP COLUMN priority")
    store.db.conn().execute("PRAGMA user_version = 0")
    store.close()
    store = Store(path)
    try:
        assert [w.number for w in store.outbox.waiting(0, 10)] == ["+447703000001", "+447701000001"]
        plan = store.db.conn().execute(
            "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE stage = 0 "
            "ORDER BY priority DESC, id").fetchall()
        assert "messages_waiting_rank" in str(plan)
    finally:
        store.close()
