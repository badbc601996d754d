"""iSMS non-polling receive through the real push worker and store: one POST per received SMS,
XMLDATA last, retried until the receiver answers 2xx, other event kinds skipped."""
from __future__ import annotations

import re
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from smsd.push import isms_format
from smsd.push.worker import PushTarget, PushWorker, register_formatter
from smsd.store import Store

from e2e.harness import PushReceiver
from fakes import wait_for


def Receiver(fail_first: int = 0) -> PushReceiver:
    return PushReceiver(fail_first, path="/cgi-bin/smsack.cgi")


def inbound(store: Store, sender: str, text: str, port: int = 0) -> None:
    store.inbox.add_inbound(port=port, slot=0, imsi="001010000000001", sender=sender, smsc="+4479",
                            scts=1795920980.0, text=text, concat=None, now=1795920981.0)


def fields(body: bytes) -> dict[str, str]:
    form = urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True)
    assert [name for name, _ in form][-1] == "XMLDATA"
    root = ET.fromstring(dict(form)["XMLDATA"].encode("latin-1"))
    assert root.tag == "MessageNotification"
    return {child.tag: child.text or "" for child in root}


def test_each_received_sms_is_posted_until_accepted(store: Store) -> None:
    register_formatter("isms", isms_format)
    receiver = Receiver(fail_first=1)
    target = PushTarget(receiver.url, dialect="isms")
    worker = PushWorker(store.events, [target], "SN1", poll=0.02)
    worker.MIN_BACKOFF = 0.05
    try:
        worker.start()
        inbound(store, "+491725555555", "ACK web01,HTTP> is CRITICAL")
        store.inbox.add_ussd_reply(0, "Balance 5", 0, 1.0)      # not an sms: never posted
        inbound(store, "+491725555556", "OK web02> is UP", port=3)
        wait_for(lambda: len(receiver.posts) == 2)
    finally:
        worker.stop()       # a daemon thread: PushWorker shadows Thread._stop, so no join()
        receiver.close()
    assert receiver.attempts == 3 and target.failures == 1
    assert all(ctype == "application/x-www-form-urlencoded" for ctype, _ in receiver.posts)
    first, second = (fields(body) for _, body in receiver.posts)
    assert first["SenderNumber"] == "+491725555555" and first["Message"].startswith("ACK web01")
    assert second["ModemNumber"] == "4:" and second["Message"] == "OK web02> is UP"
    assert re.fullmatch(r"\d\d/\d\d/\d\d", first["Date"])
    assert re.fullmatch(r"\d\d:\d\d:\d\d", first["Time"])
