"""iSMS dialect through the real WSGI app, Service, store and scheduler (fake modem workers)."""
from __future__ import annotations

import datetime as dt
import io
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest

from smsd.api import build_app
from smsd.api.auth import HttpAuth
from smsd.model import Limits, SendResult
from smsd.modem.jobs import SendPart
from smsd.pdu import encode_deliver
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store

from fakes import FakeWorker, start_all, stop_all, wait_for
from front import UserSpec, store_with_users

PW = "s3cret"
USERS: tuple[UserSpec, ...] = (("nagios", PW, ("api:isms",), False),
                               ("webonly", PW, ("web",), False))


class Box:
    """Store + running scheduler + fake workers + Service + the HTTP app, as the daemon wires it."""

    def __init__(self, path: str, ports: int = 4, limits: Limits = Limits()) -> None:
        seeded = store_with_users(path, USERS)          # a copy: no scrypt per test
        self.store = Store(path)
        self.sched = Scheduler(self.store)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(ports)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers, limits=limits)
        self.app = build_app(self.svc, HttpAuth(self.svc.users))
        for name, password, perms, admin in () if seeded else USERS:
            self.svc.users.add(name, password, perms=perms, admin=admin)
        self.svc.users.set_ports("nagios", range(ports))     # it reads every port's inbox

    def start(self) -> "Box":
        start_all(self.sched, self.workers)
        return self

    def close(self) -> None:
        stop_all(self.sched, self.workers, self.store)

    def tasks(self) -> int:
        return int(self.store.db.conn().execute("SELECT count(*) FROM tasks").fetchone()[0])

    # --- HTTP -----------------------------------------------------------------------------------
    def call(self, path: str, query: str = "", *, body: bytes = b"", method: str = "GET",
             ctype: str = "application/x-www-form-urlencoded",
             length: int | None = None) -> tuple[str, dict[str, str], bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
            "REQUEST_URI": path + ("?" + query if query else ""), "SERVER_NAME": "box",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "192.0.2.7",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(len(body) if length is None else length),
            "CONTENT_TYPE": ctype if method == "POST" else ""}
        got: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
            got["status"], got["headers"] = status, dict(headers)
        data = b"".join(self.app(environ, start_response))
        return got["status"], got["headers"], data

    def isms(self, path: str, query: str = "", **kw: Any) -> str:
        status, _, data = self.call(path, query, **kw)
        assert status.startswith("200"), status
        assert data.endswith(b"\n")
        return data.decode("latin-1")[:-1]


@pytest.fixture()
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(str(tmp_path / "isms.db"))
    yield b
    b.close()


def q(**params: str) -> str:
    return urllib.parse.urlencode({"user": "nagios", "passwd": PW, **params},
                                  quote_via=urllib.parse.quote)


def sent_id(reply: str) -> int:
    assert reply.startswith("ID: "), reply
    return int(reply[4:])


# --- sendmsg ------------------------------------------------------------------------------------
def test_send_one(box: Box) -> None:
    ident = sent_id(box.isms("/sendmsg", q(cat="1", to="+447700900123", text="PROBLEM web01> down")))
    msg = box.svc.sending.message(ident)
    assert msg is not None and msg.number == "+447700900123" and msg.text == "PROBLEM web01> down"
    assert msg.user == "nagios"


def test_several_recipients_one_id_for_the_request(box: Box) -> None:
    raw = 'user=nagios&passwd=s3cret&cat=1&to="+447700900001","+447700900002",0170-555&text=hi'
    ident = sent_id(box.isms("/sendmsg", raw))
    numbers = [box.svc.sending.message(ident + k).number for k in range(3)]  # type: ignore[union-attr]
    assert numbers == ["+447700900001", "+447700900002", "0170555"]
    assert box.svc.sending.message(ident + 3) is None and box.tasks() == 1


def test_address_book_names_and_groups(box: Box) -> None:
    box.svc.book.contact_set("Bob", "+447700900011")
    box.svc.book.contact_set("Ann", "+447700900012")
    box.svc.book.group_set("Engineering", ["Bob", "Ann"])
    ident = sent_id(box.isms("/sendmsg", q(to="+447700900011", ton='"Ann"',
                                            group='"Engineering"', text="x")))
    numbers = [box.svc.sending.message(ident + k).number for k in range(2)]  # type: ignore[union-attr]
    assert numbers == ["+447700900011", "+447700900012"] and box.svc.sending.message(ident + 2) is None


def test_post_form_with_names_in_any_case(box: Box) -> None:
    body = b"USER=nagios&PassWd=s3cret&Cat=1&TO=%2B447700900123&Text=caf%E9"
    ident = sent_id(box.isms("/sendmsg", method="POST", body=body))
    assert box.svc.sending.message(ident).text == "café"  # type: ignore[union-attr]


def test_plus_as_space_and_raw_text_as_last_parameter(box: Box) -> None:
    raw = "user=nagios&passwd=s3cret&cat=1&to=+447700900123&text=Disk 95% full & rising #3"
    ident = sent_id(box.isms("/sendmsg", raw))
    msg = box.svc.sending.message(ident)
    assert msg is not None and msg.number == "+447700900123"
    assert msg.text == "Disk 95% full & rising #3"


@pytest.mark.parametrize("enc, text, want", [
    ("2", "0645;41;646", "\u0645A\u0646"), ("3", "1605;65;65300", "\u0645A\uff14"),
    ("0", "plain", "plain"), ("1", "caf\xe9", "café")])
def test_encodings(box: Box, enc: str, text: str, want: str) -> None:
    ident = sent_id(box.isms("/sendmsg", q(to="123", enc=enc, text=text)))
    assert box.svc.sending.message(ident).text == want  # type: ignore[union-attr]


BAD = [
    ({"passwd": "wrong"}, 601), ({"user": "nobody"}, 601), ({"user": ""}, 601),
    ({"user": "webonly"}, 601),
    ({"cat": "2"}, 603), ({"cat": "x"}, 603),
    ({"text": "x" * 161}, 604), ({"text": "Ж" * 71}, 604), ({"text": "x" * 1501}, 604),
    ({"to": ",".join(str(100 + i) for i in range(129))}, 605),
    ({"to": "12a4"}, 606), ({"to": "123,++4"}, 606), ({"ton": "Nobody"}, 606),
    ({"to": ""}, 607), ({"to": '"",""'}, 607),
    ({"modem": "5"}, 613), ({"modem": "x"}, 613), ({"modem": "-1"}, 613),
    ({"enc": "4"}, 615), ({"enc": "two"}, 615),
    ({"priority": "0"}, 620), ({"priority": "4"}, 620), ({"priority": "high"}, 620),
    ({"text": ""}, 621), ({"enc": "2", "text": "zz;41"}, 621), ({"enc": "3", "text": "70000"}, 621),
]


@pytest.mark.parametrize("changes, code", BAD)
def test_refusals_queue_nothing(box: Box, changes: dict[str, str], code: int) -> None:
    params = {"user": "nagios", "passwd": PW, "cat": "1", "to": "+447700900123", "text": "hi"}
    params.update(changes)
    raw = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    assert box.isms("/sendmsg", raw) == f"Err: {code}"
    assert box.tasks() == 0 and box.svc.sending.in_queue() == 0


def test_text_param_missing_is_621(box: Box) -> None:
    assert box.isms("/sendmsg", "user=nagios&passwd=s3cret&to=123") == "Err: 621"


def test_long_text_allowed_when_configured(tmp_path: Path) -> None:
    b = Box(str(tmp_path / "long.db"), limits=Limits(extra={"isms_max_parts": 3}))
    try:
        assert sent_id(b.isms("/sendmsg", q(to="123", text="x" * 400)))
        assert b.isms("/sendmsg", q(to="123", text="x" * 500)) == "Err: 604"
    finally:
        b.close()


def test_huge_body_is_refused_unread(box: Box) -> None:
    body = b"user=nagios&passwd=s3cret&to=123&text=" + b"x" * (70 * 1024)
    assert box.isms("/sendmsg", method="POST", body=body) == "Err: 602"
    assert box.tasks() == 0


def test_no_credit_is_618(box: Box) -> None:
    box.svc.users.add("poor", PW, perms=("api:isms",), credits=0)
    assert box.isms("/sendmsg", q(user="poor", to="123", text="hi")) == "Err: 618"
    assert box.tasks() == 0


def test_no_port_able_to_send_is_608(box: Box) -> None:
    for w in box.workers.values():
        w.change(reg="UNREGISTER")
    assert box.isms("/sendmsg", q(to="123", text="hi")) == "Err: 608"


def test_wrong_passwords_then_the_throttle_answer_601(box: Box) -> None:
    for _ in range(5):
        assert box.isms("/sendmsg", q(passwd="guess", to="1", text="x")) == "Err: 601"
    # The address is blocked now: even the right password is refused, unchecked, with 601.
    assert box.isms("/sendmsg", q(to="1", text="x")) == "Err: 601"
    assert box.tasks() == 0


# --- querymsg -----------------------------------------------------------------------------------
def test_query_follows_the_request_to_done(box: Box) -> None:
    ident = sent_id(box.isms("/sendmsg", q(to="+447700900001,+447700900002", modem="2",
                                            text="hi")))
    assert box.isms("/querymsg", q(apimsgid=str(ident))) == f"ID: {ident} Status: 3"
    box.start()
    assert wait_for(lambda: box.isms("/querymsg", q(apimsgid=str(ident)))
                    == f"ID: {ident} Status: 0")
    assert [j.part_id for j in box.workers[1].transmitted] and not box.workers[0].transmitted


def refuse_number(store: Store, number: str) -> Any:
    def outcome(worker: FakeWorker, job: SendPart) -> SendResult | None:
        row = store.db.conn().execute(
            "SELECT m.number FROM parts p JOIN messages m ON m.id = p.message_id WHERE p.id = ?",
            (job.part_id,)).fetchone()
        if row[0] == number:
            return SendResult(job.part_id, ok=False, cms=500, permanent=True, error="refused")
        return None
    return outcome


def test_query_done_with_error_and_error(box: Box) -> None:
    for w in box.workers.values():
        w.outcome = refuse_number(box.store, "+447700900666")
    mixed = sent_id(box.isms("/sendmsg", q(to="+447700900001,+447700900666", text="a")))
    failed = sent_id(box.isms("/sendmsg", q(to="+447700900666", text="b")))
    box.start()
    assert wait_for(lambda: box.isms("/querymsg", q(apimsgid=str(mixed))) == f"ID: {mixed} Status: 1")
    assert wait_for(lambda: box.isms("/querymsg", q(apimsgid=str(failed)))
                    == f"ID: {failed} Status: 4")


@pytest.mark.parametrize("raw, want", [("999", "ID: 999 Status: 5"), ("", "Err: 602"),
                                       ("x1", "Err: 602"), ("1" * 30, "Err: 602")])
def test_query_unknown_and_malformed_ids(box: Box, raw: str, want: str) -> None:
    assert box.isms("/querymsg", q(apimsgid=raw)) == want


def test_query_needs_credentials(box: Box) -> None:
    assert box.isms("/querymsg", q(passwd="no", apimsgid="1")) == "Err: 601"
    assert box.isms("/querymsg", q(user="webonly", apimsgid="1")) == "Err: 601"


# --- polling receive ----------------------------------------------------------------------------
def receive(box: Box, sender: str, text: str,
            scts: dt.datetime = dt.datetime(2026, 11, 23, 2, 36, 20)) -> None:
    """A received SMS whose service centre time stamp is `scts` in the box's local time."""
    for pdu in encode_deliver(sender, text, scts=scts.astimezone()):
        box.workers[0].receive(pdu)


def test_querycount_and_recvmsg(box: Box) -> None:
    assert box.isms("/querycount", q()) == "Count: 0"
    receive(box, "+447700900123", "ACK web01,HTTP> is CRITICAL")
    receive(box, "+447700900124", "Grüße")
    assert box.isms("/querycount", q()) == "Count: 2"
    assert box.isms("/querycount", q()) == "Count: 2"         # counting reads nothing
    lines = box.isms("/recvmsg", q()).split("\n")
    assert lines[:3] == ["1", "1", "2"]
    assert lines[3:5] == ["1", "+447700900123"] and lines[7:9] == ["ASCII", "ACK web01,HTTP> is CRITICAL"]
    assert lines[9:11] == ["2", "+447700900124"] and lines[13:15] == ["Extended ASCII", "Grüße"]
    assert len(lines) == 15
    assert box.isms("/querycount", q()) == "Count: 0"
    assert box.isms("/recvmsg", q()) == "1\n0\n0"


def test_recvmsg_refusals_read_nothing(box: Box) -> None:
    receive(box, "+447700900123", "hello")
    assert box.isms("/recvmsg", q(count="0")) == "Err: 617"
    assert box.isms("/recvmsg", q(count="many")) == "Err: 617"
    assert box.isms("/recvmsg", q(fdate="2026-11-23")) == "Err: 616"
    assert box.isms("/recvmsg", q(**{"from": "abc"})) == "Err: 619"
    assert box.isms("/recvmsg", q(ftime="25:00:00")) == "Err: 616"
    assert box.isms("/recvmsg", q(passwd="no")) == "Err: 601"
    assert box.isms("/querycount", q(user="webonly")) == "Err: 601"
    assert box.isms("/querycount", q()) == "Count: 1"


def test_unknown_path_is_not_an_isms_answer(box: Box) -> None:
    status, _, _ = box.call("/sendmsgx", q())
    assert status.startswith("404")


def test_recvmsg_count_leaves_the_rest_unread_for_the_next_poll(box: Box) -> None:
    for text in ("one", "two", "three"):
        receive(box, "+447700900123", text)
    lines = box.isms("/recvmsg", q(count="2")).split("\n")
    assert lines[:3] == ["0", "1", "2"] and lines[8] == "one" and lines[14] == "two"
    assert len(lines) == 15
    assert box.isms("/querycount", q()) == "Count: 1"
    lines = box.isms("/recvmsg", q(count="5")).split("\n")
    assert lines[:3] == ["1", "1", "1"] and lines[8] == "three"
    assert box.isms("/querycount", q()) == "Count: 0"


def recvmsg_texts(answer: str) -> list[str]:
    lines = answer.split("\n")
    return [lines[3 + 6 * i + 5] for i in range(int(lines[2]))]


def test_recvmsg_filters_pick_and_leave_the_others_unread(box: Box) -> None:
    day = dt.datetime(2026, 11, 20, 9, 15, 0)
    receive(box, "+447700900123", "web01 down", day)
    receive(box, "+447700900124", "db01 down", day + dt.timedelta(days=1, hours=9))
    receive(box, "+447700900123", "ACK web01", day + dt.timedelta(days=3))
    receive(box, "+447700900125", "ACK web01", day + dt.timedelta(days=3, hours=10))
    receive(box, "+447700900126", "ACK web01", day + dt.timedelta(days=3, hours=11))
    # National form of the sender, the whole text, a date range, a time-of-day range.
    assert recvmsg_texts(box.isms("/recvmsg", q(**{"from": "07700900124"}))) == ["db01 down"]
    assert box.isms("/querycount", q()) == "Count: 4"
    for sender in ("+447700900123", "+447700900125"):
        answer = box.isms("/recvmsg", q(text="ACK web01", count="1")).split("\n")
        assert answer[:3] == ["0", "1", "1"] and answer[4] == sender   # one more matches
    assert box.isms("/recvmsg", q(text="ACK web0")) == "1\n0\n0"     # nothing matches
    answer = box.isms("/recvmsg", q(fdate="26/11/22", ftime="12:00:00", ttime="23:59:59"))
    assert answer.split("\n")[:3] == ["1", "1", "1"] and answer.split("\n")[4] == "+447700900126"
    assert recvmsg_texts(box.isms("/recvmsg", q(tdate="26/11/20"))) == ["web01 down"]
    assert box.isms("/querycount", q()) == "Count: 0"
