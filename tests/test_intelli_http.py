"""IntelliSoftware dialect, payload kinds and subscription lists through the real WSGI app,
Service, store and scheduler (fake modem workers that record the PDUs they transmit)."""
from __future__ import annotations

import datetime as dt
import io
import time
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest

from smsd import pdu
from smsd.api import build_app, intelli
from smsd.api.auth import HttpAuth
from smsd.errors import BadRequest
from smsd.model import Limits, Recipient, SendRequest
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store

from fakes import FakeWorker, start_all, stop_all

PW = "s3cret"


def wait_for(fn: Any, timeout: float = 10.0) -> Any:
    """Poll until `fn()` is truthy; its value (tests may poll, the code under test may not)."""
    deadline = time.monotonic() + timeout
    while not (value := fn()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return value
PORTS_IE = bytes.fromhex("05040B8423F0")


class Box:
    def __init__(self, path: str, limits: Limits = Limits()) -> None:
        self.store = Store(path)
        self.sched = Scheduler(self.store)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(2)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers, limits=limits)
        self.app = build_app(self.svc, HttpAuth(self.svc.users))
        self.svc.users.add("shop", PW, perms=("api:intelli",), credits=10)
        start_all(self.sched, self.workers)

    def close(self) -> None:
        stop_all(self.sched, self.workers, self.store)

    def get(self, path: str, **params: str) -> str:
        return self.call(path, urllib.parse.urlencode({"username": "shop", "password": PW,
                                                       **params}))

    def call(self, path: str, query: str = "", body: bytes = b"", method: str = "GET",
             status: str = "200") -> str:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
            "REQUEST_URI": path + ("?" + query if query else ""), "SERVER_NAME": "box",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "192.0.2.9",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded" if method == "POST" else ""}
        got: dict[str, str] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
            got["status"] = status
        data = b"".join(self.app(environ, start_response))
        assert got["status"].startswith(status)
        return data.decode("utf-8")

    def transmitted(self, count: int) -> list[Any]:
        def parts() -> list[Any]:
            sent = [p for w in self.workers.values() for p in w.transmitted]
            return sent if len(sent) >= count else []
        return [pdu.decode(p.pdu_hex) for p in wait_for(parts, 10)]

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.store.events.events_after(0, 1000) if e.kind == kind]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(str(tmp_path / "smsd.db"))
    yield b
    b.close()


def deliver_pdu(sender: str, text: str) -> str:
    return pdu.encode_deliver(sender, text, scts=dt.datetime.now(dt.timezone.utc))[0]


# --- payload kinds at the Service -----------------------------------------------------------------
def test_flash_text_goes_out_as_class_0(box: Box) -> None:
    box.svc.sending.send_sms(SendRequest("now!", (Recipient("+447700900001"),), flash=True), user="shop")
    got = box.transmitted(1)[0]
    assert got.text == "now!" and got.message_class == 0 and got.encoding == "gsm7"


def test_binary_payload_parts_are_counted_debited_and_sent(box: Box) -> None:
    data = bytes(range(256)) + bytes(44)
    accepted = box.svc.sending.send_sms(SendRequest("label", (Recipient("+447700900002"),), data=data,
                                                    udh=PORTS_IE), user="shop")
    assert box.svc.users.credits("shop") == 7                          # 300 octets: 3 parts
    parts = box.transmitted(3)
    assert sorted(p.concat[2] for p in parts) == [1, 2, 3]
    assert all(p.ports == (2948, 9200) and p.encoding == "8bit" for p in parts)
    assert b"".join(p.data for p in sorted(parts, key=lambda p: p.concat[2])) == data
    wait_for(lambda: box.svc.sending.message(accepted.message_ids[0]).status == "SENT_OK", 10)
    assert box.svc.sending.message(accepted.message_ids[0]).count == 3


def test_payload_checks(box: Box) -> None:
    with pytest.raises(BadRequest):
        box.svc.sending.send_sms(SendRequest("x", (Recipient("1234567"),), udh=PORTS_IE), user="shop")
    with pytest.raises(BadRequest):
        box.svc.sending.send_sms(SendRequest("x", (Recipient("1234567"),), data=b"1",
                                             udh=bytes.fromhex("0504AB")), user="shop")
    with pytest.raises(BadRequest):
        box.svc.sending.send_sms(SendRequest("x", (Recipient("1234567"),), usercontext="u" * 256),
                                 user="shop")
    assert box.svc.users.credits("shop") == 10


# --- reply tracking and STOP in the inbox ---------------------------------------------------------
def test_reply_carries_the_usercontext_of_the_latest_message_to_the_sender(box: Box) -> None:
    for context in ("first", "second"):
        box.svc.sending.send_sms(SendRequest("q?", (Recipient("07700900003"),), usercontext=context),
                                 user="shop")
    box.svc.sending.send_sms(SendRequest("no context", (Recipient("+447700900003"),)), user="shop")
    box.transmitted(3)
    box.workers[0].receive(deliver_pdu("+447700900003", "yes"))
    box.workers[0].receive(deliver_pdu("+447700900099", "who?"))
    sms = wait_for(lambda: box.events("sms") if len(box.events("sms")) == 2 else None, 10)
    assert sms[0]["usercontext"] == "second"                 # national sent, international reply
    assert "usercontext" not in sms[1]


def test_stop_opts_out_of_every_list_or_the_named_one(box: Box) -> None:
    for name in ("news", "deals", "club"):
        box.svc.subscriptions.update(name, "447700900004", 1)
    box.workers[0].receive(deliver_pdu("+447700900004", "stop deals"))
    wait_for(lambda: len(box.events("subscription")) == 4, 10)
    assert box.svc.subscriptions.subscribers("deals", opted_in=False) == ["447700900004"]
    assert box.svc.subscriptions.subscribers("news") == ["447700900004"]
    box.workers[0].receive(deliver_pdu("+447700900004", "STOP"))
    events = wait_for(lambda: box.events("subscription")
                      if len(box.events("subscription")) == 6 else None, 10)
    assert [(e["sublistname"], e["action"], e["source"]) for e in events[3:]] == \
        [("deals", 2, 1), ("club", 2, 1), ("news", 2, 1)]
    assert box.svc.subscriptions.subscribers("news") == [] and box.svc.subscriptions.subscribers("club") == []


def test_lists_and_groups_expand_without_opted_out_numbers(box: Box) -> None:
    box.svc.book.contact_set("ann", "+447700900005")
    box.svc.book.contact_set("bob", "+447700900006")
    box.svc.book.group_set("club", ["ann", "bob"])
    box.svc.subscriptions.update("club", "447700900006", 2)
    box.svc.subscriptions.update("news", "447700900007", 1)
    box.svc.subscriptions.update("news", "447700900008", 2)
    assert box.svc.subscriptions.expand(["club", "news", "+447700900005"]) == \
        ["+447700900005", "447700900007"]
    box.svc.subscriptions.update("news", "447700900007", 3)
    assert box.svc.subscriptions.subscribers("news") == [] and box.svc.subscriptions.subscribers("news", False)


# --- the dialect ----------------------------------------------------------------------------------
def test_normalise_numbers() -> None:
    assert intelli.normalise("+44 7700-900001") == ("+447700900001", "447700900001")
    assert intelli.normalise(" 447700900001") == ("+447700900001", "447700900001")
    assert intelli.normalise("00447700900001") == ("+447700900001", "447700900001")
    assert intelli.normalise("447700900001") == ("+447700900001", "447700900001")
    assert intelli.normalise("07700900001") == ("07700900001", "07700900001")
    assert intelli.normalise("club") is None and intelli.normalise("12") is None


def test_paths_any_case_post_and_unknown_service(box: Box) -> None:
    assert box.get("/smsgateway/GetBalance.aspx") == "BALANCE:10"
    assert box.get("/SmsGateWay/getbalance.aspx") == "BALANCE:10"
    body = urllib.parse.urlencode({"username": "shop", "password": PW, "to": "447700900010",
                                   "text": "posted"}).encode()
    assert box.call("/smsgateway/SENDMSG.ASPX", body=body, method="POST").startswith("ID:")
    assert box.call("/smsgateway/nothing.aspx", status="200") == "ERR:INVALID_REQUEST"
    assert box.get("/smsgateway/getbalance.aspx", password="bad") == "ERR:LOGIN_INVALID"


def test_one_submission_one_id_on_every_line_and_usercontext_is_kept(box: Box) -> None:
    body = box.get("/smsgateway/sendmsg.aspx", to="447700900011,447700900012,bad",
                   text="hi", usercontext="ctx-1")
    lines = [line.split(",") for line in body.split("\n")]
    assert [n for n, _ in lines] == ["447700900011", "447700900012", "bad"]
    assert lines[2][1] == "ERR:INVALID_NUMBER"
    ids = {result for _, result in lines[:2]}
    assert len(ids) == 1 and ids.pop().startswith("ID:")
    task_id = int(lines[0][1][3:])
    rows = box.store.db.conn().execute("SELECT number FROM messages WHERE task_id = ? "
                                       "ORDER BY id", (task_id,)).fetchall()
    assert rows == [("+447700900011",), ("+447700900012",)]
    ctx = box.store.db.conn().execute("SELECT DISTINCT usercontext FROM tasks").fetchall()
    assert ctx == [("ctx-1",)]


def test_insufficient_credit_and_wap_costs_one(box: Box) -> None:
    box.svc.users.set_credits("shop", 1)
    assert box.get("/smsgateway/sendmsg.aspx", to="447700900013", type="4",
                   href="http://www.example.com/", text="look").startswith("ID:")
    assert box.get("/smsgateway/getbalance.aspx") == "BALANCE:0"
    assert box.get("/smsgateway/sendmsg.aspx", to="447700900013",
                   text="x") == "ERR:INSUFFICIENT_CREDIT"
    box.svc.users.set_credits("shop", None)
    assert box.get("/smsgateway/getbalance.aspx") == f"BALANCE:{intelli.UNLIMITED_BALANCE}"


def test_a_group_bigger_than_one_request_is_one_submission_all_or_nothing(
        tmp_path: Path) -> None:
    b = Box(str(tmp_path / "big.db"), Limits(max_numbers=2, max_expanded=6))
    try:
        for i in range(7):
            b.svc.book.contact_set(f"c{i}", f"+4477009001{i:02d}")
        b.svc.book.group_set("five", [f"c{i}" for i in range(5)])
        b.svc.book.group_set("seven", [f"c{i}" for i in range(7)])
        b.svc.users.set_credits("shop", 3)
        # Not enough credit for five: the whole submission is refused, nothing queued.
        assert b.get("/smsgateway/sendmsg.aspx", to="five",
                     text="hi") == "ERR:INSUFFICIENT_CREDIT"
        assert b.svc.users.credits("shop") == 3 and b.store.outbox.in_queue() == 0
        b.svc.users.set_credits("shop", 10)
        lines = b.get("/smsgateway/sendmsg.aspx", to="five", text="hi").split("\n")
        assert len(lines) == 5 and len({line.split(",")[1] for line in lines}) == 1
        assert b.svc.users.credits("shop") == 5
        # Lists expand up to Limits.max_expanded; beyond it the request is refused whole.
        assert b.get("/smsgateway/sendmsg.aspx", to="seven", text="hi") == "ERR:INVALID_REQUEST"
        assert b.svc.users.credits("shop") == 5
    finally:
        b.close()
