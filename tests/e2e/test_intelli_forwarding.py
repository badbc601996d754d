"""IntelliSoftware forwarding end to end: received SMS (with reply tracking), status reports and
subscription list events POSTed as forms from the durable outbox, retried until the receiver
answers 200, across a restart of the daemon."""
from __future__ import annotations

import json
import re
import time

from e2e.harness import Daemon, PushReceiver, wait_for
from e2e.harness import smsd_cli
from e2e.test_intelli import http as get, send
from smsd.store.db import Store

W3CDTF = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d").fullmatch


def FormReceiver(failing: bool = False) -> PushReceiver:
    return PushReceiver(path="/forward", failing=failing)


def configure(d: Daemon, retry: float) -> dict[str, PushReceiver]:
    """One receiver per forwarding protocol; retry interval shortened for the bench."""
    store = Store(f"{d.state_dir}/smsd.db")
    try:
        for proto in ("intelli-sms", "intelli-status", "intelli-subscription"):
            store.settings.set(f"push_retry.{proto}", str(retry))
    finally:
        store.close()
    receivers = {}
    for proto in ("intelli-sms", "intelli-status", "intelli-subscription"):
        receivers[proto] = FormReceiver()
        smsd_cli(d, "route", "add", receivers[proto].url, "--protocol", proto)
    return receivers


def inject(d: Daemon, sender: str, text: str, port: int = 0) -> None:
    body = json.dumps({"port": port, "from": sender, "text": text}).encode()
    status, reply = d.request("/sim/sms", body, headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(reply)["error_code"] == 200, reply


def test_replies_status_reports_and_stop(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    rx = configure(d, retry=0.5)
    try:
        body = send(d, to="447700900201", text="Your order?", usercontext="order-42")
        ident = body[3:]
        sms_status = rx["intelli-status"]
        wait_for(lambda: {f["status"] for f in sms_status.forms} >= {"3", "4"}, 30,
                 what="sent and delivered status")
        assert all(f == {"msgid": ident, "status": f["status"], "toaddr": "447700900201"}
                   for f in sms_status.forms)
        long_id = send(d, to="447700900203", text="z" * 300, maxconcat="2")[3:]
        wait_for(lambda: {"msgid": long_id, "status": "4", "toaddr": "447700900203"}
                 in sms_status.forms, 30, what="two-part message delivered")
        time.sleep(1.0)
        # Two parts, two network reports, one "delivered" for the message.
        assert [f["status"] for f in sms_status.forms if f["msgid"] == long_id] == ["3", "4"]
        bad = send(d, to="447700900000", text="never")[3:]        # "0000": permanent failure
        wait_for(lambda: {"msgid": bad, "status": "6", "toaddr": "447700900000"}
                 in sms_status.forms, 30, what="undeliverable status")
        # A reply from the number carries the usercontext of the message it answers.
        inject(d, "+447700900201", "Two pizzas")
        forms = wait_for(lambda: rx["intelli-sms"].forms, 30, what="forwarded SMS")
        assert forms[0]["from"] == "447700900201" and forms[0]["text"] == "Two pizzas"
        assert forms[0]["usercontext"] == "order-42" and W3CDTF(forms[0]["sent"])
        assert forms[0]["msgid"].isdigit()
        assert rx["intelli-sms"].content_types[0].startswith("application/x-www-form-urlencoded")
        # Subscription: opt-in by API, opt-out by an inbound STOP; the list then skips it.
        sub = {"username": "admin", "password": d.password, "sublistname": "news",
               "msisdn": "447700900202", "action": "1"}
        assert get(d, "/smsgateway/updatesubscriptionlist.aspx", sub) == "OK"
        inject(d, "+447700900202", "STOP")
        events = wait_for(lambda: rx["intelli-subscription"].forms
                          if len(rx["intelli-subscription"].forms) >= 2 else None, 30,
                          what="subscription events")
        assert [(e["sublistname"], e["msisdn"], e["action"], e["source"]) for e in events] == \
            [("news", "447700900202", "1", "7"), ("news", "447700900202", "2", "1")]
        assert all(W3CDTF(e["timestamp"]) and e["sublisttype"] == "2" for e in events)
        assert send(d, to="news", text="weekly news") == "ERR:INVALID_NUMBER"
        wait_for(lambda: len(rx["intelli-sms"].forms) == 2, 30, what="STOP forwarded as SMS")
        assert "usercontext" not in rx["intelli-sms"].forms[1]
    finally:
        for r in rx.values():
            r.close()


def test_one_id_per_submission_in_the_reply_and_every_forwarded_status(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    rx = configure(d, retry=0.5)
    try:
        numbers = ["447700900211", "447700900212", "447700900213"]
        lines = send(d, to=",".join(numbers), text="One for all").split("\n")
        assert [line.split(",")[0] for line in lines] == numbers
        ids = {line.split(",")[1] for line in lines}
        assert len(ids) == 1
        ident = ids.pop()
        assert ident.startswith("ID:") and ident[3:].isdigit()
        status = rx["intelli-status"]
        want = [{"msgid": ident[3:], "status": s, "toaddr": n} for n in numbers for s in "34"]
        wait_for(lambda: all(w in status.forms for w in want), 30,
                 what="sent and delivered for each recipient under the one ID")
        assert {f["msgid"] for f in status.forms} == {ident[3:]}
    finally:
        for r in rx.values():
            r.close()


def test_forwarding_retries_until_200_and_survives_restart(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    rx = configure(d, retry=0.5)
    sms = rx["intelli-sms"]
    try:
        sms.failing = True
        inject(d, "+447700900301", "first")
        wait_for(lambda: sms.attempts >= 3, 30, what="retries while the receiver fails")
        assert sms.forms == []
        d.stop()
        inject_after_restart = "second"
        d.start()
        inject(d, "+447700900301", inject_after_restart)
        wait_for(lambda: sms.attempts >= 5, 30, what="retries after the restart")
        sms.failing = False
        wait_for(lambda: len(sms.forms) >= 2, 30, what="delivery once the receiver recovers")
        assert [f["text"] for f in sms.forms] == ["first", "second"]     # in order, once each
        seen = sms.attempts
        time.sleep(1.5)
        assert sms.attempts == seen                   # nothing is sent again once acknowledged
    finally:
        for r in rx.values():
            r.close()
