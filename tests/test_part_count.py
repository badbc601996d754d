"""A message never goes out in more parts than it was counted and charged at intake (issue 11):
intake counts each text as the eligible port that needs the most parts would send it (national
language tables, UCS2 preference), and the scheduler keeps to that count when port settings
change in between. Store, scheduler, service and fake modem workers, wired like the daemon."""
from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

from smsd import pdu
from smsd.model import Recipient, SendRequest
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store

from fakes import FakeWorker, stop_all, wait_for
from pdu_backends import codec  # noqa: F401  (the fixture: each backend in turn)

TURKISH = "\u015eu an \u0130zmir'deyim, ak\u015fam g\u00f6r\u00fc\u015f\u00fcr\u00fcz \u00e7ocuklar"
TEXT = TURKISH + " " + TURKISH           # 87 characters: 2 UCS2 parts, 1 with the Turkish table
PLAIN = "plain text " * 10              # 110 characters: 1 GSM-7 part, 2 UCS2 parts
NATIONAL_IEIS = {0x24, 0x25}


class Box:
    def __init__(self, path: str, codec: ModuleType, ports: int = 3) -> None:
        self.store = Store(path)
        self.sched = Scheduler(self.store, codec=codec)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(ports)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers, codec=codec)
        self.store.users.create("bob", "secret-pw-1", credits=100)

    def send(self, text: str, numbers: int = 1, **kw: object) -> list[int]:
        recipients = tuple(Recipient(f"+4477009{i:05d}") for i in range(numbers))
        request = SendRequest(text, recipients, **kw)  # type: ignore[arg-type]
        return list(self.svc.sending.send_sms(request, user="bob").message_ids)

    def charged(self) -> int:
        info = self.store.users.info("bob")
        assert info is not None and info.credits is not None
        return 100 - info.credits

    def run(self) -> None:
        for w in self.workers.values():
            w.start()
        self.sched.start()
        assert wait_for(lambda: self.store.outbox.in_queue() == 0, 15), "messages still queued"

    def on_air(self) -> list[tuple[int, pdu.Decoded]]:
        """(port, decoded SMS-SUBMIT) of every part a worker put on the air."""
        return [(w.port, pdu.decode(j.pdu_hex, smsc=True)) for w in self.workers.values()
                for j in w.transmitted]

    def counts(self) -> list[int]:
        return [r.count for r in self.store.outbox.query_sms_result()]

    def close(self) -> None:
        stop_all(self.sched, self.workers, self.store)


@pytest.fixture()
def box(tmp_path: Path, codec: ModuleType) -> Iterator[Box]:
    b = Box(str(tmp_path / "count.db"), codec)
    yield b
    b.close()


def national(decoded: pdu.Decoded) -> bool:
    return any(iei in NATIONAL_IEIS for iei, _ in decoded.udh)


def test_a_request_for_a_turkish_port_is_charged_the_national_count(box: Box) -> None:
    box.svc.ports.set_settings(1, national_languages="turkish")
    box.send(TEXT, ports=(1,))
    assert box.counts() == [1] and box.charged() == 1
    box.send(TEXT, ports=(1,), encoding="gsm7")           # the preference, kept by that port
    assert box.counts() == [1, 1] and box.charged() == 2
    box.run()
    sent = box.on_air()
    assert [(port, d.encoding, national(d), d.text) for port, d in sent] == \
        [(1, "gsm7", True, TEXT)] * 2
    assert {r.encoding for r in box.store.outbox.query_sms_result()} == {"gsm7"}


def test_an_unrestricted_request_is_charged_no_less_than_it_sends(box: Box) -> None:
    box.svc.ports.set_settings(1, national_languages="turkish")
    ids = box.send(TEXT, numbers=6)                       # ports 0 and 2 have no Turkish table
    assert box.counts() == [2] * 6 and box.charged() == 12
    box.run()
    sent = box.on_air()
    results = box.store.outbox.query_sms_result()
    # Each message's count is now what went out on its port, never above what was charged.
    assert len(sent) == sum(r.count for r in results) <= box.charged()
    for r in results:
        assert r.status in ("SENT_OK", "DELIVERED")
        assert (r.encoding, r.count) == (("gsm7", 1) if r.port == 1 else ("ucs2", 2))
    assert {port for port, _ in sent} >= {0, 1}


def test_a_port_preferring_ucs2_is_counted_so(box: Box) -> None:
    box.svc.ports.set_settings(2, charset="UCS2")
    box.send(PLAIN, ports=(0,))
    box.send(PLAIN, ports=(2,))
    box.send(PLAIN)                                       # port 2 may send it
    assert box.counts() == [1, 2, 2] and box.charged() == 5


def test_a_ucs2_preference_set_after_intake_yields_to_the_count(box: Box) -> None:
    box.send(PLAIN, ports=(2,))
    assert box.charged() == 1
    box.svc.ports.set_settings(2, charset="UCS2")
    box.run()
    (port, decoded), = box.on_air()
    assert (port, decoded.encoding, decoded.text) == (2, "gsm7", PLAIN)


def test_a_port_that_lost_its_table_leaves_the_message_to_one_that_has_it(box: Box) -> None:
    for port in (1, 2):
        box.svc.ports.set_settings(port, national_languages="turkish")
    box.send(TEXT, numbers=4, ports=(1, 2))
    assert box.charged() == 4
    box.svc.ports.set_settings(1, national_languages="none")
    box.run()
    sent = box.on_air()
    assert [(port, national(d)) for port, d in sent] == [(2, True)] * 4
    assert {r.status for r in box.store.outbox.query_sms_result()} <= {"SENT_OK", "DELIVERED"}


def test_a_message_no_port_can_send_within_its_count_fails_unsent(box: Box) -> None:
    box.svc.ports.set_settings(1, national_languages="turkish")
    (message_id,) = box.send(TEXT, ports=(1,))
    box.svc.ports.set_settings(1, national_languages="none")
    box.send("after it", ports=(1,))                       # the port still sends the next one
    box.run()
    assert [d.text for _, d in box.on_air()] == ["after it"]
    state = box.svc.sending.message(message_id)
    assert state is not None and state.status == "FAILED"
    assert "1 part(s)" in state.reason and state.encoding == ""
