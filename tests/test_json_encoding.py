"""The JSON API's `encoding` extension (issue 11): each send result, queried or pushed, says the
alphabet that went out, in the words of send_sms's own parameter; results from before the
message was encoded, and events stored before the key existed, go without it."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from smsd import pdu
from smsd.api.json_api import sms_result_json
from smsd.model import Recipient, SendRequest, SmsResult
from smsd.push import json_format
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store, migrate

from fakes import FakeWorker, stop_all, wait_for
from pdu_backends import codec  # noqa: F401  (the fixture: each backend in turn)

SPEC_KEYS = ["port", "number", "user_id", "time", "status", "count", "succ_count", "ref_id",
             "imsi"]
WIDE = "\u03a9mega \U0001F600 \u20ac"     # "Ωmega 😀 €": Ω and € are GSM-7, 😀 is not


def result(**kw: Any) -> SmsResult:
    base: dict[str, Any] = dict(message_id=1, task_id=1, port=0, number="+1", user_id=3,
                                time="2026-12-06 10:00:00", status="SENT_OK", count=1,
                                succ_count=1, ref_id=5, imsi="001")
    return SmsResult(**{**base, **kw})


@pytest.mark.parametrize("stored, word", [
    ("gsm7", "gsm-7bit"), ("ucs2", "unicode"), ("8bit", "8bit"), ("", None), (None, None)])
def test_the_extension_key_comes_last_in_the_specs_words(stored: str | None,
                                                         word: str | None) -> None:
    payload = {k: v for k, v in vars(result(encoding=stored or "")).items()}
    if stored is None:
        del payload["encoding"]                           # an event stored by an older smsd
    pushed = json_format.item("sms_result", payload)
    queried = sms_result_json(result(encoding=stored or ""))
    expected = SPEC_KEYS + (["encoding"] if word else [])
    assert list(pushed) == list(queried) == expected
    assert pushed.get("encoding") == queried.get("encoding") == word
    assert pushed == queried


class Box:
    def __init__(self, path: str, codec: ModuleType) -> None:
        self.store = Store(path)
        self.sched = Scheduler(self.store, codec=codec)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(2)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers, codec=codec)

    def send(self, text: str, user_id: int, encoding: str = "auto") -> None:
        self.svc.sending.send_sms(SendRequest(text, (Recipient("+447700900001", user_id=user_id),),
                                              encoding=encoding))

    def close(self) -> None:
        stop_all(self.sched, self.workers, self.store)


@pytest.fixture()
def box(tmp_path: Path, codec: ModuleType) -> Iterator[Box]:
    b = Box(str(tmp_path / "enc.db"), codec)
    yield b
    b.close()


def test_results_and_their_events_say_what_went_out(box: Box) -> None:
    box.send(WIDE, 1, encoding="gsm7")
    box.send("plain", 2, encoding="gsm7")
    box.send("plain", 3, encoding="ucs2")
    assert [r.encoding for r in box.store.outbox.query_sms_result()] == ["", "", ""]   # not built yet
    for w in box.workers.values():
        w.start()
    box.sched.start()
    assert wait_for(lambda: box.store.outbox.in_queue() == 0, 15)
    queried = {r.user_id: sms_result_json(r)["encoding"] for r in box.store.outbox.query_sms_result()}
    assert queried == {1: "unicode", 2: "gsm-7bit", 3: "unicode"}
    events = [e.payload for e in box.store.events.events_after(0, 100) if e.kind == "sms_result"]
    pushed = {p["user_id"]: json_format.item("sms_result", p)["encoding"] for p in events}
    assert pushed == queried
    sent = [pdu.decode(j.pdu_hex, smsc=True) for w in box.workers.values() for j in w.transmitted]
    assert sorted((d.text, d.encoding) for d in sent) == \
        sorted([(WIDE, "ucs2"), ("plain", "gsm7"), ("plain", "ucs2")])
    state = box.svc.sending.message(1)
    assert state is not None and state.encoding == "ucs2"


def test_the_migration_reads_the_alphabet_of_parts_built_before_it(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    steps = migrate.load()
    (index,) = [i for i, m in enumerate(steps) if m.name.endswith("_message_encoding.py")]
    Store(path, migrations=steps[:index]).close()
    ucs2 = pdu.encode_submit("+447700900001", WIDE, encoding="ucs2")[0].hex
    gsm7 = pdu.encode_submit("+447700900002", "plain")[0].hex
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO tasks(id, user, text, encoding, srr, created) "
                     "VALUES (1, 'admin', 'x', 'auto', 0, 0)")
        for mid, stage in ((1, 2), (2, 1), (3, 0), (4, 1)):
            conn.execute("INSERT INTO messages(id, task_id, number, count, time, stage) "
                         "VALUES (?, 1, '+1', 1, 0, ?)", (mid, stage))
        for mid, hexpdu in ((1, ucs2), (2, gsm7), (4, "00FF")):   # 4: a PDU nobody can read
            conn.execute("INSERT INTO parts(message_id, seq, total, pdu, tpdu_len, status) "
                         "VALUES (?, 1, 1, ?, 1, 'sent')", (mid, hexpdu))
    conn.close()
    store = Store(path)
    try:
        got = {r.message_id: r.encoding for r in store.outbox.query_sms_result()}
    finally:
        store.close()
    assert got == {1: "ucs2", 2: "gsm7", 3: "", 4: ""}
