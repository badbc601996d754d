"""gateway.php over WSGI against the real Service, store and scheduler with fake modem workers:
users, credits, permissions, address book, and the report word from real delivery states."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import wsgiref.util
from pathlib import Path
from typing import Any, Iterator

import bottle
import pytest

from smsd import pdu
from smsd.api import gateway_php
from smsd.model import SendResult
from smsd.modem.jobs import SendPart
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store

from fakes import FakeWorker, wait_for

UTC = dt.timezone.utc
NUMBER = "+447700900123"


class Rig:
    """Store + running scheduler + one fake worker + service + a bottle app with the dialect."""

    def __init__(self, path: str) -> None:
        self.store = Store(path)
        self.sched = Scheduler(self.store)
        self.sink = ModemEventSink(self.store, self.sched)
        self.worker = FakeWorker(0, self.sink)
        self.sched.attach({0: self.worker})
        self.svc = Service(self.store, self.sched, {0: self.worker})
        self.app = bottle.Bottle(catchall=False)
        gateway_php.mount(self.app, self.svc)
        self.worker.start()
        self.sched.start()

    def call(self, path: str, query: str = "", body: bytes | None = None,
             ctype: str = "application/x-www-form-urlencoded") -> str:
        env: dict[str, Any] = {}
        wsgiref.util.setup_testing_defaults(env)
        env.update({"REQUEST_METHOD": "GET" if body is None else "POST", "PATH_INFO": path,
                    "QUERY_STRING": query, "REQUEST_URI": path + ("?" + query if query else ""),
                    "CONTENT_TYPE": ctype if body is not None else "",
                    "CONTENT_LENGTH": str(len(body or b"")), "wsgi.input": io.BytesIO(body or b""),
                    "REMOTE_ADDR": "192.0.2.7"})
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
            seen.update(status=status, headers=dict(headers))
        data = b"".join(self.app(env, start_response))
        assert seen["status"].startswith("200"), seen
        return data.decode("utf-8")

    def gw(self, query: str) -> str:
        return self.call("/module/gateway.php", query)

    def report(self, smsid: int, login: str = "clientuser=ann&clientpwd=secret") -> str:
        return self.call("/module/gatewayrapport.php", f"{login}&smsid={smsid}")

    def queued_or_sent(self) -> int:
        return len(self.store.outbox.query_sms_result())

    def close(self) -> None:
        self.sched.stop()
        self.worker.stop()
        self.store.close()


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(str(tmp_path / "gw.db"))
    r.svc.users.add("ann", "secret", perms=frozenset({"api:gateway_php"}), credits=5)
    yield r
    r.close()


def ann(extra: str, password: str = "secret") -> str:
    return f"clientuser=ann&clientpwd={password}&sender=Shop&{extra}"


def final(rig: Rig, smsid: int) -> bool:
    state = rig.svc.sending.message(smsid)
    return state is not None and state.status != "SENDING"


def test_credits_debit_test_mode_and_108(rig: Rig) -> None:
    assert rig.gw("clientuser=ann&clientpwd=secret&action=credits") == "5"
    two_parts = "m" * 200
    assert rig.gw(ann(f"to=447700900123&type=long&test=yes&message={two_parts}")) == "OK"
    assert rig.gw("clientuser=ann&clientpwd=secret&action=credits") == "5"     # test: no debit
    assert rig.gw(ann(f"to=447700900123&type=long&message={two_parts}")) == "OK"
    assert rig.gw("clientuser=ann&clientpwd=secret&action=credits") == "3"
    # Two recipients x two parts = 4 > 3: refused whole, nothing queued, nothing debited.
    before = rig.queued_or_sent()
    assert rig.gw(ann(f"to=447700900123,447700900124&type=long&message={two_parts}")) == \
        "ERROR 108"
    assert rig.gw(ann(f"to=447700900123,447700900124&type=long&test=yes&message={two_parts}")) \
        == "ERROR 108"
    assert rig.queued_or_sent() == before
    assert rig.gw("clientuser=ann&clientpwd=secret&action=credits") == "3"


def test_unlimited_credits_read_as_a_number(rig: Rig) -> None:
    rig.svc.users.set_credits("ann", None)
    assert rig.gw("clientuser=ann&clientpwd=secret&action=credits") == \
        str(gateway_php.UNLIMITED_CREDITS)


def test_sha1_password_and_permission(rig: Rig) -> None:
    digest = hashlib.sha1(b"secret").hexdigest()
    assert rig.gw(ann("to=447700900123&message=hi", digest)) == "OK"
    assert rig.gw(f"clientuser=ann&clientpwd={digest}&action=credits") == "4"
    rig.svc.users.add("bob", "pw", perms=frozenset({"api:json"}), credits=None)
    assert rig.gw("clientuser=bob&clientpwd=pw&sender=S&to=447700900123&message=hi") == \
        "ERROR 116"
    assert rig.gw("clientuser=bob&clientpwd=pw&action=credits") == "ERROR 116"


def test_post_form_and_address_book(rig: Rig) -> None:
    rig.svc.book.contact_set("carol", "+447700900301")
    rig.svc.book.contact_set("dave", "00447700900302")
    rig.svc.book.group_set("team", ["carol", "dave"])
    body = ann("to=team,447700900301,+447700900303&delivery=yes&message=hello+team").encode()
    reply = rig.call("/module/gateway.php", body=body)
    ids = [int(i) for i in reply.removeprefix("OK ").split(",")]
    numbers = [rig.svc.sending.message(i).number for i in ids]          # type: ignore[union-attr]
    assert numbers == ["+447700900301", "+447700900302", "+447700900303"]
    assert all(rig.svc.sending.message(i).text == "hello team" for i in ids)  # type: ignore[union-attr]
    assert rig.gw(ann("to=nobody&message=hi")) == "ERROR 106"


def test_report_follows_status_reports(rig: Rig) -> None:
    smsid = int(rig.gw(ann("to=447700900123&delivery=yes&message=hi")).split()[1])
    assert wait_for(lambda: final(rig, smsid))
    assert rig.report(smsid) == "SUBMITTED"
    mr = rig.svc.sending.message(smsid).ref_id                            # type: ignore[union-attr]
    now = dt.datetime.now(UTC)
    for st, word in ((0x21, "BUFFERED"), (0x00, "DELIVERED")):
        rig.worker.receive(pdu.encode_status_report(NUMBER, mr, st, scts=now, discharge=now),
                           kind="status_report")
        assert wait_for(lambda: rig.report(smsid) == word), word


def test_report_failure_report_is_not_delivered(rig: Rig) -> None:
    smsid = int(rig.gw(ann("to=447700900123&delivery=yes&message=hi")).split()[1])
    assert wait_for(lambda: final(rig, smsid))
    mr = rig.svc.sending.message(smsid).ref_id                            # type: ignore[union-attr]
    now = dt.datetime.now(UTC)
    rig.worker.receive(pdu.encode_status_report(NUMBER, mr, 0x41, scts=now, discharge=now),
                       kind="status_report")
    assert wait_for(lambda: rig.report(smsid) == "NOT DELIVERED")


def test_report_rejected_and_outcome_unknown(rig: Rig) -> None:
    def refuse(w: FakeWorker, job: SendPart) -> SendResult:
        return SendResult(job.part_id, ok=False, cms=21, permanent=True, error="CMS 21")
    rig.worker.outcome = refuse
    rejected = int(rig.gw(ann("to=447700900123&delivery=yes&message=a")).split()[1])
    assert wait_for(lambda: final(rig, rejected))
    assert rig.report(rejected) == "REJECTED"

    def lost(w: FakeWorker, job: SendPart) -> SendResult:
        return SendResult(job.part_id, ok=False, on_air=True, error="timeout")
    rig.worker.outcome = lost
    unknown = int(rig.gw(ann("to=447700900124&delivery=yes&message=b")).split()[1])
    assert wait_for(lambda: final(rig, unknown))
    assert rig.report(unknown) == "NONE"


def test_too_many_recipients_is_106_and_queues_nothing(rig: Rig) -> None:
    limit = rig.svc.limits.max_numbers
    numbers = ",".join(f"4477009{i:05d}" for i in range(limit + 1))
    assert rig.gw(ann(f"to={numbers}&message=hi")) == "ERROR 106"
    assert rig.queued_or_sent() == 0
    rig.svc.users.set_credits("ann", None)
    # The same list with a duplicate dropped fits.
    numbers = ",".join(f"4477009{i % limit:05d}" for i in range(limit + 1))
    assert rig.gw(ann(f"to={numbers}&message=hi")) == "OK"
    assert rig.queued_or_sent() == limit


def test_wrong_passwords_queue_nothing_and_the_throttle_answers_104(rig: Rig) -> None:
    for password in ("bad1", "bad2", hashlib.sha1(b"bad3").hexdigest()):
        assert rig.gw(ann("to=447700900123&message=hi", password)) == "ERROR 104"
    assert rig.queued_or_sent() == 0
    assert rig.gw(ann("to=447700900123&message=hi")) == "OK"
    rig.svc.users.add("bob", "pw", perms=("api:gateway_php",))
    bob = "clientuser=bob&clientpwd={}&to=447700900123&message=hi"
    for password in ("bad4", "bad5"):
        assert rig.gw(bob.format(password)) == "ERROR 104"
    # Five failures block the address for a user who never logged in from it: refused, unchecked.
    assert rig.gw(bob.format("pw")) == "ERROR 104"
    assert rig.queued_or_sent() == 1
    # ann logged in from here before: only her own failures from here count (3 of 5).
    assert rig.gw(ann("to=447700900123&message=hi")) == "OK"
