"""IntelliSoftware forwarding forms (smsd.push.intelli_format) and the push worker's fixed retry."""
from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from typing import Any

import pytest

from smsd.model import EventRow
from smsd.push import intelli_format as fmt
from smsd.push.worker import FORMATTERS, PushTarget, PushWorker

W3CDTF = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d").fullmatch


def form(kind: str, payload: dict[str, Any]) -> dict[str, str]:
    body, ctype = fmt.render("SN", kind, [payload])
    assert ctype.startswith("application/x-www-form-urlencoded")
    return dict(urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True))


SMS = {"incoming_sms_id": 17, "port": 0, "slot": 255, "number": "+447700900001", "smsc": "",
       "timestamp": "2010-02-03 13:50:05", "text": "a+b & c=d é", "imsi": ""}


def test_received_sms_form() -> None:
    got = form("sms", SMS)
    assert list(got) == ["from", "text", "msgid", "sent"]
    assert got["from"] == "447700900001" and got["text"] == "a+b & c=d é" and got["msgid"] == "17"
    assert W3CDTF(got["sent"]) and got["sent"].startswith("2010-02-03T13:50:05")
    assert form("sms", {**SMS, "usercontext": "order-42"})["usercontext"] == "order-42"


def test_w3cdtf_offsets() -> None:
    utc = dt.datetime(2010, 2, 3, 13, 50, 5, tzinfo=dt.timezone.utc)
    bst = dt.datetime(2010, 6, 10, 14, 45, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert fmt.w3cdtf(utc) == "2010-02-03T13:50:05-00:00"       # the spec's GMT example
    assert fmt.w3cdtf(bst) == "2010-06-10T14:45:12+01:00"


@pytest.mark.parametrize("kind,payload,status", [
    ("sms_result", {"status": "SENT_OK"}, 3),
    ("sms_result", {"status": "FAILED"}, 6),
    ("sms_result", {"status": "DELIVERED"}, 4),
    ("sms_deliver_status", {"status_code": 0x20}, 2),
    ("sms_deliver_status", {"status_code": 0x46}, 8),
    ("sms_deliver_status", {"status_code": 0x41}, 6),
])
def test_status_codes(kind: str, payload: dict[str, Any], status: int) -> None:
    full = {"message_id": 12, "task_id": 5, "number": "+447700900002", **payload}
    assert fmt.accepts(kind, full)
    # msgid is the submission's ID (its task), the same for all its recipients
    assert form(kind, full) == {"msgid": "5", "status": str(status), "toaddr": "447700900002"}


def test_a_status_event_from_before_task_ids_keeps_its_message_id() -> None:
    old = {"message_id": 12, "number": "+447700900002", "status_code": 0x41}
    assert form("sms_deliver_status", old)["msgid"] == "12"


def test_events_not_forwarded() -> None:
    assert not fmt.accepts("sms_deliver_status", {"message_id": 3, "status_code": 0})  # result
    assert not fmt.accepts("sms_result", {"message_id": 3, "status": "SENDING"})
    assert not fmt.accepts("sms_deliver_status", {"message_id": None, "status_code": 0})
    assert not fmt.accepts("ussd", {"port": 0, "text": "x"})


def test_subscription_form() -> None:
    got = form("subscription", {"sublistname": "news", "sublisttype": 2, "msisdn": "4477009",
                                "action": 2, "source": 1, "time": 1_265_205_005.0})
    assert {k: v for k, v in got.items() if k != "timestamp"} == {
        "sublistname": "news", "sublisttype": "2", "msisdn": "4477009", "action": "2",
        "source": "1"}
    assert W3CDTF(got["timestamp"])


def test_one_event_per_post() -> None:
    with pytest.raises(ValueError):
        fmt.render("SN", "sms", [SMS, SMS])
    with pytest.raises(ValueError):
        fmt.render("SN", "ussd", [{"port": 0, "text": "x"}])


def test_protocols_are_registered_with_their_kinds() -> None:
    assert FORMATTERS["intelli-sms"].KINDS == {"sms"}
    assert FORMATTERS["intelli-status"].KINDS == {"sms_result", "sms_deliver_status"}
    assert FORMATTERS["intelli-subscription"].KINDS == {"subscription"}
    assert FORMATTERS["intelli"].KINDS == fmt.KINDS and FORMATTERS["intelli"].RETRY == 300.0


# --- the worker's fixed retry -------------------------------------------------------------------
class Events:
    """An in-memory event source (the Store's push side)."""

    def __init__(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        self.rows = [EventRow(i + 1, kind, payload, 0.0) for i, (kind, payload) in enumerate(rows)]
        self.cursors: dict[str, int] = {}

    def events_after(self, event_id: int, limit: int) -> list[EventRow]:
        return [r for r in self.rows if r.id > event_id][:limit]

    def push_cursor(self, target: str) -> int | None:
        return self.cursors.get(target)

    def set_push_cursor(self, target: str, event_id: int) -> None:
        self.cursors[target] = event_id

    def last_event_id(self) -> int:
        return 0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def worker(target: PushTarget, rows: list[tuple[str, dict[str, Any]]],
           answers: list[int]) -> tuple[PushWorker, Clock, list[bytes]]:
    clock, posted = Clock(), []

    def post(url: str, data: bytes, ctype: str, timeout: float) -> int:
        posted.append(data)
        return answers.pop(0) if answers else 200
    w = PushWorker(Events(rows), [target], "SN", clock=clock, post=post)
    return w, clock, posted


def test_intelli_targets_retry_at_a_fixed_interval() -> None:
    target = PushTarget("http://r/", dialect="intelli-sms")
    w, clock, posted = worker(target, [("sms", SMS)], [503, 503, 500])
    for _ in range(3):
        assert not w._service(target)
        assert target.next_try - clock.now == 300.0          # never backs off further
        tried = len(posted)
        clock.now += 299.0
        assert not w._service(target) and len(posted) == tried   # not due yet: no POST
        clock.now += 1.0
    assert w._service(target) and len(posted) == 4 and len(set(posted)) == 1
    assert target.delivered == 1


def test_retry_override_and_exponential_default() -> None:
    fixed = PushTarget("http://r/", dialect="intelli-sms", retry=0.5)
    w, clock, _ = worker(fixed, [("sms", SMS)], [503])
    w._service(fixed)
    assert fixed.next_try - clock.now == 0.5
    plain = PushTarget("http://r/", dialect="json")
    w, clock, _ = worker(plain, [("sms", SMS)], [503, 503, 503])
    waits = []
    for _ in range(3):
        w._service(plain)
        waits.append(plain.next_try - clock.now)
        clock.now = plain.next_try
    assert waits == [1.0, 2.0, 4.0]


def test_skipped_events_move_the_cursor_without_a_post() -> None:
    target = PushTarget("http://r/", dialect="intelli-status")
    delivered = {"message_id": 5, "number": "+1", "status_code": 0}
    w, _, posted = worker(target, [("sms_deliver_status", delivered), ("sms", SMS)], [])
    assert w._service(target) and w._service(target)
    assert posted == [] and w._store.push_cursor(target.key) == 2
