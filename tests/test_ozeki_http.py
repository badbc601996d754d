"""Ozeki NG dialect through the real WSGI app, Service, store and scheduler (fake modem workers)."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest

from fakes import FakeWorker, start_all, stop_all, wait_for
from smsd.api import build_app
from smsd.api.auth import HttpAuth
from smsd.api.ozeki_settings import to_ozeki
from smsd.modem_events import ModemEventSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store

PW = "s3cret"


class Box:
    def __init__(self, path: str) -> None:
        self.store = Store(path)
        self.sched = Scheduler(self.store)
        self.sink = ModemEventSink(self.store, self.sched)
        self.workers = {p: FakeWorker(p, self.sink) for p in range(2)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers)
        self.app = build_app(self.svc, HttpAuth(self.svc.users))
        self.svc.users.add("boss", PW, admin=True)
        self.svc.users.add("app", PW, perms=("api:ozeki",))
        self.svc.users.add("other", PW, perms=("api:ozeki",))
        self.svc.users.add("isms", PW, perms=("api:isms",))
        start_all(self.sched, self.workers)

    def close(self) -> None:
        stop_all(self.sched, self.workers, self.store)

    def call(self, query: str = "", *, body: bytes = b"", path: str = "/api",
             method: str = "GET") -> tuple[str, dict[str, str], bytes]:
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                   "REQUEST_URI": f"{path}?{query}" if query else path,
                   "SERVER_NAME": "box", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "10.0.0.9", "wsgi.input": io.BytesIO(body),
                   "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/x-www-form-urlencoded" if body else ""}
        seen: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            seen["status"], seen["headers"] = status, {k.lower(): v for k, v in headers}
        data = b"".join(self.app(environ, start))
        return seen["status"], seen["headers"], data

    def xml(self, query: str = "", **kw: Any) -> ET.Element:
        status, headers, data = self.call(query, **kw)
        assert status.startswith("200") and headers["content-type"].startswith("application/xml")
        assert headers["connection"] == "close"
        return ET.fromstring(data)


def items(root: ET.Element, tag: str) -> list[dict[str, str]]:
    return [{c.tag: c.text or "" for c in el} for el in root.iter(tag)]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(str(tmp_path / "db.sqlite"))
    yield b
    b.close()


def auth(user: str = "app") -> str:
    return f"username={user}&password={PW}"


def test_names_in_any_case_plus_as_space_and_unencoded_text(box: Box) -> None:
    root = box.xml(f"ACTION=SendMessage&UserName=app&PassWord={PW}&Recipient=+447700900001"
                   "&MessageData=Tom & Jerry 100%")
    [report] = items(root, "acceptreport")
    assert report["statuscode"] == "0" and report["recipient"] == "+447700900001"
    assert report["messagedata"] == "Tom & Jerry 100%"
    msg = box.svc.sending.message(int(report["messageid"]))
    assert msg is not None and msg.text == "Tom & Jerry 100%" and msg.user == "app"


def test_post_form_and_the_older_path(box: Box) -> None:
    body = f"action=sendmessage&{auth()}&recipient=%2B447700900002&messagedata=by+post".encode()
    root = box.xml(body=body, method="POST", path="/httpapi")
    [report] = items(root, "acceptreport")
    assert report["statuscode"] == "0" and report["messagedata"] == "by post"


def test_permissions_and_errors_answer_200_in_the_dialect_format(box: Box) -> None:
    query = "action=sendmessage&recipient=%2B447700900003&messagedata=x"
    for user, code in (("isms", "1"), ("nobody", "1")):
        [err] = items(box.xml(f"{query}&{auth(user)}"), "error")
        assert err["statuscode"] == code
    [err] = items(box.xml(f"action=createdriver&type=GSMModem&{auth()}"), "error")
    assert err["statuscode"] == "1" and "ports permission" in err["statusmessage"]
    [err] = items(box.xml(f"action=sendmessage&{auth()}&recipient=&messagedata=x"), "error")
    assert err["statuscode"] == "2"
    [err] = items(box.xml(f"action=receivemessage&{auth()}&limit=0"), "error")
    assert err["statuscode"] == "9"
    assert box.store.db.conn().execute("SELECT count(*) FROM tasks").fetchone()[0] == 0


def test_unknown_connection_and_unsupported_setting(box: Box) -> None:
    [err] = items(box.xml(f"action=sendmessage&{auth()}&recipient=%2B447700900004"
                          "&messagedata=x&serviceprovider=Nope"), "error")
    assert err["statuscode"] == "8" and "Nope" in err["statusmessage"]
    [err] = items(box.xml(f"action=configdriver&{auth('boss')}&name=GSMModem0"
                          "&NOSUCHKEY=on&SEND=off"), "error")
    assert err["statuscode"] == "11" and "NOSUCHKEY" in err["statusmessage"]
    assert to_ozeki(box.svc.ports.settings(0))["SEND"] == "on"          # nothing of it was stored
    # A key of the document's GSM table the box has no setting for (GPRS, the COM port, log
    # files) is accepted and said to have no effect; the others are applied.
    [drv] = items(box.xml(f"action=configdriver&{auth('boss')}&name=gsmmodem0&send=off"
                          "&USEGPRS=on&MODEMORPORT=COM3"), "driver")
    assert drv["send"] == "off" and to_ozeki(box.svc.ports.settings(0))["SEND"] == "off"
    assert drv["noeffect"] == "USEGPRS,MODEMORPORT" and drv["modemorport"] == "COM3"
    assert "has no effect on this box" in drv["statusmessage"]


def test_users_see_their_own_sent_messages_and_admins_all(box: Box) -> None:
    ids = {}
    for user in ("app", "other"):
        [r] = items(box.xml(f"action=sendmessage&{auth(user)}&recipient=%2B4477009001"
                            f"&messagedata=from {user}"), "acceptreport")
        ids[user] = r["messageid"]
    for user in ("app", "other"):
        wait_for(lambda u=user: box.svc.sending.message(int(ids[u])).status == "SENT_OK")  # type: ignore[union-attr]
    mine = items(box.xml(f"action=listmessages&folder=sent&{auth()}"), "message")
    assert [m["messageid"] for m in mine] == [ids["app"]]
    everyone = items(box.xml(f"action=listmessages&folder=sent&{auth('boss')}"), "message")
    assert sorted(m["messageid"] for m in everyone) == sorted(ids.values())
    [err] = items(box.xml(f"action=getmessage&messageid={ids['other']}&{auth()}"), "error")
    assert err["statuscode"] == "8"


def test_html_response_format(box: Box) -> None:
    status, headers, data = box.call(f"action=sendmessage&{auth()}&recipient=%2B447700900005"
                                     "&messagedata=<b>&responseformat=html")
    assert status.startswith("200") and headers["content-type"].startswith("text/html")
    assert b"Message accepted for delivery" in data and b"&lt;b&gt;" in data
