"""Service: validation before writing, substitution, queries, USSD, port actions, users."""
from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

from smsd.errors import BadRequest, NoPortAvailable, NotFound, TooLarge
from smsd.model import Recipient, SendRequest, UssdReply
from smsd.modem.jobs import Power, Reset, SimLock, SwitchSlot, Ussd
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service, substitute
from smsd.store import Store
from smsd.store.times import fmt_time

from fakes import FakeWorker, wait_for
from pdu_backends import codec  # noqa: F401  (the fixture: each backend in turn)


class Box:
    """Store + scheduler (not running: intake only) + fake workers + service."""

    def __init__(self, path: str, ports: int = 4) -> None:
        self.store = Store(path)
        self.sched = Scheduler(self.store)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(ports)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers)

    def tasks(self) -> int:
        return int(self.store.db.conn().execute("SELECT count(*) FROM tasks").fetchone()[0])


@pytest.fixture()
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(str(tmp_path / "svc.db"))
    yield b
    b.sched.stop()
    b.store.close()


def req(text: str = "hi", numbers: tuple[str, ...] = ("123",), **kw: object) -> SendRequest:
    return SendRequest(text, tuple(Recipient(n) for n in numbers), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("request_, error", [
    (req(""), BadRequest),
    (req("x" * 1501), TooLarge),
    (req("é" * 751), TooLarge),                        # 1502 bytes of UTF-8
    (req(numbers=()), BadRequest),
    (req(numbers=tuple(str(i) for i in range(129))), TooLarge),
    (req(numbers=("12a4",)), BadRequest),
    (req(numbers=("++123",)), BadRequest),
    (req(numbers=("",)), BadRequest),
    (req(numbers=("1" * 25,)), BadRequest),
    (req(numbers=("123", "+")), BadRequest),
    (req(encoding="latin1"), BadRequest),
    (req("lone \ud800 surrogate", encoding="gsm7"), BadRequest),   # no alphabet carries it
    (req(ports=(0, 9)), BadRequest),
    (SendRequest("hi", (Recipient("1", user_id=-1),)), BadRequest),
    (SendRequest("#param#", (Recipient("1", text_param=("",)),)), BadRequest),
])
def test_invalid_requests_write_nothing(box: Box, request_: SendRequest, error: type) -> None:
    with pytest.raises(error):
        box.svc.sending.send_sms(request_)
    assert box.tasks() == 0 and box.svc.sending.in_queue() == 0


def test_accepted_limits(box: Box) -> None:
    numbers = ("+" + "1" * 23, "1" * 24) + tuple(str(i) for i in range(126))
    acc = box.svc.sending.send_sms(req("x" * 1500, numbers))
    assert len(acc.message_ids) == 128 and acc.sms_in_queue == 128
    acc2 = box.svc.sending.send_sms(req("y"))
    assert acc2.task_id == acc.task_id + 1 and acc2.sms_in_queue == 129
    assert box.svc.sending.in_queue() == 129


def test_param_substitution_in_order(box: Box) -> None:
    recipients = (Recipient("1", text_param=("Ann", "42")), Recipient("2", text_param=("Bob",)),
                  Recipient("3", text_param=("C", "1", "extra")))
    acc = box.svc.sending.send_sms(SendRequest("Hi #param#, code #param#.", recipients))
    texts = [m.text for m in box.store.outbox.waiting(0, 10)]
    assert texts == ["Hi Ann, code 42.", "Hi Bob, code #param#.", "Hi C, code 1."]
    assert len(acc.message_ids) == 3
    assert substitute("a#param#b".split("#param#"), ()) == "a#param#b"


def test_part_count_follows_the_text(box: Box) -> None:
    box.svc.sending.send_sms(SendRequest("#param#", (Recipient("1", text_param=("short",)),
                                                     Recipient("2", text_param=("x" * 200,)))))
    box.svc.sending.send_sms(req("é" * 71, encoding="ucs2"))
    counts = [r.count for r in box.svc.sending.query_results()]
    assert counts == [1, 2, 2]


def test_a_requested_gsm7_is_a_preference_never_a_refusal(box: Box, codec: ModuleType) -> None:
    svc = Service(box.store, box.sched, box.workers, codec=codec)

    def stored(task_id: int) -> str:
        return str(box.store.db.conn().execute("SELECT encoding FROM tasks WHERE id = ?",
                                               (task_id,)).fetchone()[0])
    fits = svc.sending.send_sms(req("plain {text}", encoding="gsm7"))
    assert fits.encoding == "gsm7" and stored(fits.task_id) == "gsm7"
    wide = svc.sending.send_sms(req("Ωmega 😀 €" * 8, encoding="gsm7"))   # 80 units: 2 UCS2 parts
    assert wide.encoding == "ucs2" and stored(wide.task_id) == "auto"
    # Only one recipient's text needs UCS2: each text goes in its own alphabet.
    mixed = svc.sending.send_sms(SendRequest("#param#", (Recipient("1", text_param=("x" * 100,)),
                                                         Recipient("2", text_param=("ж" * 100,))),
                                     encoding="gsm7"))
    assert mixed.encoding == "auto" and stored(mixed.task_id) == "auto"
    counts = [r.count for r in svc.sending.query_results()]
    assert counts == [1, 2, 1, 2]
    assert svc.sending.send_sms(req("x", encoding="ucs2")).encoding == "ucs2"
    assert svc.sending.send_sms(req("x")).encoding == "auto"
    # Turkish ş needs the national table: UCS2 unless a port allows Turkish, then that port's
    # choice (never a GSM-7 task that a port without the table could not send).
    assert svc.sending.send_sms(req("şey", encoding="gsm7")).encoding == "ucs2"
    svc.ports.set_settings(1, national_languages="turkish")
    national = svc.sending.send_sms(req("şey", encoding="gsm7"))
    assert national.encoding == "auto" and stored(national.task_id) == "auto"
    assert svc.sending.send_sms(req("şey 😀", encoding="gsm7")).encoding == "ucs2"


def test_no_port_available(box: Box) -> None:
    box.workers[1].change(reg="UNREGISTER")
    with pytest.raises(NoPortAvailable):
        box.svc.sending.send_sms(req(ports=(1,)))
    box.svc.sending.send_sms(req(ports=(1, 2)))
    for w in box.workers.values():
        w.change(state="recovering")
    with pytest.raises(NoPortAvailable):
        box.svc.sending.send_sms(req())
    assert box.tasks() == 1


def test_query_sms_result_filters_and_time_strings(box: Box) -> None:
    box.svc.sending.send_sms(SendRequest("a", (Recipient("111", user_id=7), Recipient("222", user_id=8))))
    now = time.time()
    before, after = fmt_time(now - 60), fmt_time(now + 60)
    assert [r.user_id for r in box.svc.sending.query_results(user_ids=[8])] == [8]
    assert [r.number for r in box.svc.sending.query_results(numbers=["111"])] == ["111"]
    assert len(box.svc.sending.query_results(time_after=before, time_before=after)) == 2
    assert box.svc.sending.query_results(time_after=after) == []
    res = box.svc.sending.query_results()[0]
    assert (res.status, res.count, res.succ_count, res.port, res.ref_id) == \
        ("SENDING", 1, 0, None, None)
    with pytest.raises(BadRequest):
        box.svc.sending.query_results(time_after="yesterday")
    with pytest.raises(TooLarge):
        box.svc.sending.query_results(numbers=[str(i) for i in range(33)])
    with pytest.raises(TooLarge):
        box.svc.sending.query_reports(numbers=[str(i) for i in range(33)])
    assert box.svc.sending.query_reports(time_after=before) == []


def test_stop_task(box: Box) -> None:
    acc = box.svc.sending.send_sms(req(numbers=("1", "2")))
    box.svc.sending.stop_task(acc.task_id)
    assert {r.status for r in box.svc.sending.query_results()} == {"FAILED"}
    assert box.svc.sending.in_queue() == 0
    box.svc.sending.stop_task(acc.task_id)                       # stopping twice is fine
    with pytest.raises(NotFound):
        box.svc.sending.stop_task(acc.task_id + 1)


def test_query_incoming_validates_flag(box: Box) -> None:
    box.store.inbox.add_inbound(port=0, slot=0, imsi="", sender="+1", smsc="", scts=None, text="t",
                                concat=None, now=time.time())
    with pytest.raises(BadRequest):
        box.svc.inbox.query(flag="new")
    page = box.svc.inbox.query()
    assert [s.text for s in page.sms] == ["t"] and (page.read, page.unread) == (1, 0)
    assert box.svc.inbox.query().sms == ()
    assert len(box.svc.inbox.query(flag="read").sms) == 1


def test_send_ussd_statuses(box: Box) -> None:
    box.workers[1].change(reg="UNREGISTER")
    box.workers[2].change(busy=True)
    assert box.svc.ussd.send([0, 1, 2], "*100#") == [(0, 200), (1, 503), (2, 486)]
    assert box.svc.ussd.send([0], "*101#") == [(0, 486)]        # still waiting for the reply
    assert box.svc.ussd.replies([0, 3]) == [(0, ""), (3, "")]
    box.sink.ussd_reply(UssdReply(0, "Bal 5", 0))
    assert box.svc.ussd.replies([0]) == [(0, "Bal 5")]
    assert box.svc.ussd.send([0], "", command="cancel") == [(0, 200)]
    for bad in [("", "send"), ("*1#", "dial"), ("x" * 61, "send")]:
        with pytest.raises(BadRequest):
            box.svc.ussd.send([0], *bad)
    with pytest.raises(BadRequest):
        box.svc.ussd.send([], "*100#")
    with pytest.raises(BadRequest):
        box.svc.ussd.send([7], "*100#")


def test_ussd_jobs_reach_the_worker(box: Box) -> None:
    box.workers[3].start()
    box.svc.ussd.send([3], "*100#")
    assert wait_for(lambda: box.workers[3].other_jobs == [Ussd("*100#")])
    box.workers[3].stop()


@pytest.mark.parametrize("action, param, job", [
    ("slot", "2", SwitchSlot(2)), ("SLOT", "0", SwitchSlot(0)), ("reset", None, Reset()),
    ("power", "off", Power(False)), ("power", "On", Power(True)),
    ("lock", "1234", SimLock("1234", True)), ("unlock", "12345678", SimLock("12345678", False)),
])
def test_set_port_actions(box: Box, action: str, param: str | None, job: object) -> None:
    w = box.workers[1]
    w.start()
    box.svc.ports.control(1, action, param)
    assert wait_for(lambda: w.other_jobs == [job])
    w.stop()


@pytest.mark.parametrize("port, action, param", [
    (1, "slot", "4"), (1, "slot", "x"), (1, "power", "maybe"), (1, "lock", "12"),
    (1, "unlock", None), (1, "imei", "123"), (1, "", None), (9, "reset", None),
])
def test_set_port_rejects(box: Box, port: int, action: str, param: str | None) -> None:
    with pytest.raises(BadRequest):
        box.svc.ports.control(port, action, param)


def test_set_port_slot_beyond_the_ports_slots(tmp_path: Path) -> None:
    b = Box(str(tmp_path / "one.db"), ports=1)
    b.workers[0].change(slots=1, slot=255)
    with pytest.raises(BadRequest):
        b.svc.ports.control(0, "slot", "1")
    b.store.close()


def test_port_info(box: Box) -> None:
    assert [i.port for i in box.svc.ports.info()] == [0, 1, 2, 3]
    box.workers[2].change(signal=17)
    assert box.svc.ports.info([2])[0].signal == 17
    with pytest.raises(NotFound):
        box.svc.ports.info([4])
    assert box.svc.ports.count == 4
    assert box.svc.sn == box.store.sn


def test_user_passthroughs(box: Box) -> None:
    box.store.users.create("admin", "pw", admin=True, digest=True)
    assert box.svc.users.check("admin", "pw") and not box.svc.users.check("admin", "no")
    assert box.svc.users.digest_ha1("admin", "smsd") is not None
    assert box.svc.users.digest_ha1("admin", "smsd", "SHA-256") is not None
    assert box.svc.users.digest_ha1("nobody", "smsd") is None
