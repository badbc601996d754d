"""iSMS non-polling receive through the real push worker and store: one POST per received SMS,
XMLDATA last, retried until the receiver answers 2xx, other event kinds skipped."""
from __future__ import annotations

import http.server
import re
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest

from smsd.push import isms_format
from smsd.push.worker import PushTarget, PushWorker, register_formatter
from smsd.store import Store

from fakes import wait_for


class Receiver:
    """Records form posts; answers 503 to the first `fail_first` of them."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[tuple[str, bytes]] = []
        self.attempts = 0
        self.fail_first = fail_first
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.attempts += 1
                ok = outer.attempts > outer.fail_first
                if ok:
                    outer.posts.append((self.headers.get("Content-Type", ""), data))
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/smsack.cgi"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(str(tmp_path / "push.db"))
    yield s
    s.close()


def inbound(store: Store, sender: str, text: str, port: int = 0) -> None:
    store.add_inbound(port=port, slot=0, imsi="001010000000001", sender=sender, smsc="+4479",
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
    worker = PushWorker(store, [target], "SN1", poll=0.02)
    worker.MIN_BACKOFF = 0.05
    try:
        worker.start()
        inbound(store, "+491725555555", "ACK web01,HTTP> is CRITICAL")
        store.add_ussd_reply(0, "Balance 5", 0, 1.0)      # not an sms: never posted
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
