"""Connections to providers end to end (issue 18 points 3 and 4, docs/connections.md): box A,
a real daemon on a simulated board, gets its connections through the Ozeki NG driver API and
its outbound rules on the Routing page, then sends through them over loopback:

- SMPP: to box B, a second daemon whose SMPP server takes the message; B's simulator delivers
  it and B's receipt comes back to A, which reports the message DELIVERED; an SMS received on
  B comes to A's inbox through the same bind;
- HTTPClient: to a loopback HTTP receiver, which sees the filled TARGETURL template;
- HTTPServer: a provider posts to A and is answered with RESPONSETEMPLATE;
- SMTP: SMS to e-mail into a loopback aiosmtpd sink, and e-mail to SMS from a permitted
  sender only.
"""
from __future__ import annotations

import html
import json
import re
import smtplib
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from connection_fakes import Provider  # noqa: E402
from console_front import Client  # noqa: E402
from e2e.harness import ADMIN_PW, Daemon, reserved_port, journal_counts, smsd_cli, wait_for  # noqa: E402

PW8 = "pw8chars"
pytestmark = pytest.mark.xdist_group("connections")    # two shared daemons: one worker


def ozeki(d: Daemon, action: str, **params: str) -> list[dict[str, str]]:
    """An Ozeki NG driver API call as admin; the <data> items as dicts (tag under '_')."""
    query = urllib.parse.urlencode({"action": action, "username": "admin",
                                    "password": ADMIN_PW, **params})
    status, body = d.request(f"/api?{query}")
    assert status == 200, body
    data = ET.fromstring(body.decode().split("\n", 2)[2]).find("data")
    assert data is not None
    return [{"_": el.tag, **{c.tag: c.text or "" for c in el}} for el in data]


def driver(d: Daemon, action: str, **params: str) -> dict[str, str]:
    [one] = ozeki(d, action, **params)
    assert one["_"] == "driver" and one["statuscode"] == "0", one
    return one


def console(d: Daemon) -> Client:
    host, port = re.match(r"http://([^:]+):(\d+)", d.base).groups()  # type: ignore[union-attr]
    c = Client(host, int(port))
    assert c.login("admin", ADMIN_PW).status == 303
    return c


def add_rule(d: Daemon, prefix: str, *targets: str) -> None:
    fields = {"prefix": prefix, **{f"target{i}": t for i, t in enumerate(targets, start=1)}}
    reply = console(d).post("/routing/rule", fields)
    assert reply.status == 303, reply.body[-1500:]


def send(d: Daemon, number: str, text: str, user_id: int) -> None:
    reply = d.api("send_sms", {"text": text, "param": [{"number": number, "user_id": user_id}]})
    assert reply["error_code"] == 202, reply


def final(d: Daemon, user_id: int, states: tuple[str, ...]) -> dict[str, Any] | None:
    rows = [r for r in d.results(user_id=[user_id]) if r["status"] in states]
    return rows[0] if rows else None


class Sink:
    """A loopback SMTP server keeping what it is sent."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.mails.append((envelope.mail_from, list(envelope.rcpt_tos),
                                    envelope.original_content or b""))
                return "250 OK"

        self.port = reserved_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


class Boxes:
    def __init__(self, a: Daemon, b: Daemon, b_smpp: int) -> None:
        self.a, self.b, self.b_smpp = a, b, b_smpp


@pytest.fixture(scope="module")
def boxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boxes]:
    root = tmp_path_factory.mktemp("connections")
    b_smpp = reserved_port()
    conf = root / "b.conf"
    conf.write_text(f"[smpp]\nlisten = 127.0.0.1:{b_smpp}\n")
    b = Daemon(str(root / "b"), ports=2, extra=("--config", str(conf), "--sim-journal",
                                                  str(root / "b.journal")))
    a = Daemon(str(root / "a"), ports=2, extra=("--sim-journal", str(root / "a.journal")))
    try:
        b.start()
        a.start()
        smsd_cli(b, "user", "add", "boxa", "--password", PW8, "--perm", "smpp")
        smsd_cli(b, "user", "assign", "boxa", "--ports", "0,1")
        yield Boxes(a, b, b_smpp)
    finally:
        for d in (a, b):
            d.stop()
        for d in (a, b):
            log = "".join(d.output)
            assert "Traceback" not in log, log[-4000:]


def test_unsupported_types_and_every_key_of_a_table(boxes: Boxes) -> None:
    a = boxes.a
    for kind in ("CIMD2", "UCP", "EAIF", "MM7", "VoIP"):
        [err] = ozeki(a, "createdriver", type=kind)
        assert err["_"] == "error" and err["statuscode"] == "10", err
        assert f"type {kind} is not supported" in err["statusmessage"]
    made = driver(a, "createdriver", type="HTTPClient", name="keys")
    assert made["type"] == "HTTPClient" and made["state"] == "stopped"
    done = driver(a, "configdriver", name="keys", LOGDIRECTORY="C:\\Logs", PROXYPORT="3128",
                  RESPSUCCESS="OK")
    assert done["noeffect"] == "LOGDIRECTORY,PROXYPORT" and done["respsuccess"] == "OK"
    assert "accepted, has no effect on this box" in done["statusmessage"]
    [err] = ozeki(a, "configdriver", name="keys", NOSUCHKEY="1")
    assert err["statuscode"] == "11" and "NOSUCHKEY" in err["statusmessage"]
    [err] = ozeki(a, "configdriver", name="keys", REQUESTMETHOD="Put")
    assert err["statuscode"] == "11"
    listed = [i for i in ozeki(a, "listdrivers") if i.get("name") == "keys"]
    assert listed and listed[0]["targeturl"].startswith("http://server.sms.com/send.cgi")
    assert driver(a, "deletedriver", name="keys")["statusmessage"] == "Connection deleted"
    [err] = ozeki(a, "startdriver", name="keys")
    assert err["statuscode"] == "8"


def test_smpp_connection_to_a_second_box(boxes: Boxes) -> None:
    a, b = boxes.a, boxes.b
    driver(a, "createdriver", type="SMPP", name="toB")
    driver(a, "configdriver", name="toB", HOST="127.0.0.1", PORT=str(boxes.b_smpp),
           SYSTEMID="boxa", SMPPPASSWORD=PW8, MODE="Transceiver", KEEPALIVEPERIOD="5")
    started = driver(a, "startuser", name="toB")          # the document's spelling
    assert started["state"] == "started"
    wait_for(lambda: any(i.get("name") == "toB" and i.get("connected") == "yes"
                         for i in ozeki(a, "listdrivers")), what="the SMPP bind to box B")
    add_rule(a, "+4477009001", "conn:toB")
    # The Routing page shows the rule, offers the connection as a target and tests a number.
    c = console(a)
    page = html.unescape(c.get("/routing").body)
    assert "<td>connection toB</td>" in page and '<option value="conn:toB">' in page
    said = html.unescape(c.post("/routing/which", {"which_number": "+447700900123"}).body)
    assert "connection toB." in said and "It would go out now on connection toB." in said
    send(a, "+447700900123", "through box B", 41)
    row = wait_for(lambda: final(a, 41, ("DELIVERED", "FAILED")), timeout=30,
                   what="the receipt from box B")
    assert row["status"] == "DELIVERED", row
    assert journal_counts(str(Path(b.state_dir).parent / "b.journal"))["through box B"] == 1
    assert "through box B" not in journal_counts(str(Path(a.state_dir).parent / "a.journal"))
    # An SMS box B receives goes to box A's inbox through the bind.
    status, _ = b.request("/sim/sms", b'{"port": 0, "from": "+447700900555", "text": "to A"}',
                          method="POST", headers={"Content-Type": "application/json"})
    assert status == 200
    sms = wait_for(lambda: [s for s in a.api("query_incoming_sms", query="flag=all")["sms"]
                            if s["text"] == "to A"], timeout=30, what="the MO through box B")
    assert sms[0]["number"] == "+447700900555"
    assert "<td>connection toB</td>" in console(a).get("/inbox").body
    long_text = "long " * 70                       # 350 characters: B delivers it whole
    status, _ = b.request("/sim/sms", json.dumps({"port": 1, "from": "+447700900556",
                                                  "text": long_text}).encode(),
                          method="POST", headers={"Content-Type": "application/json"})
    assert status == 200
    wait_for(lambda: [s for s in a.api("query_incoming_sms", query="flag=all")["sms"]
                      if s["text"] == long_text], timeout=30, what="the long MO through box B")
    # Stopped, the connection takes nothing: a message for it waits, then goes once started.
    driver(a, "stopdriver", name="toB")
    send(a, "+447700900124", "after a restart", 42)
    assert final(a, 42, ("SENT_OK", "DELIVERED", "FAILED")) is None
    driver(a, "startdriver", name="toB")
    row = wait_for(lambda: final(a, 42, ("DELIVERED", "FAILED")), timeout=30, what="resent")
    assert row["status"] == "DELIVERED", row


def test_http_client_connection(boxes: Boxes) -> None:
    a = boxes.a
    provider = Provider()
    try:
        driver(a, "createdriver", type="HTTPClient", name="web")
        driver(a, "configdriver", name="web", TARGETURL=(
            f"http://127.0.0.1:{provider.port}/send?to=$recipient&from=$originator"
            "&text=$messagedata&id=$messageid"), TARGETURLBIN=(
            f"http://127.0.0.1:{provider.port}/bin?to=$recipient&udh=$udhHEX&ud=$udHEX"
            "&dcs=$dcsHEX&pid=$pidHEX"), RESPSUCCESS=r"OK id=(\w+)", PHONENUMBER="+4411")
        driver(a, "startdriver", name="web")
        add_rule(a, "+4478", "conn:web")
        send(a, "+447800000001", "hello & welcome", 51)
        row = wait_for(lambda: final(a, 51, ("SENT_OK", "FAILED")), what="the HTTP send")
        assert row["status"] == "SENT_OK", row
        method, path, _ = provider.requests[0]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        assert method == "GET" and path.startswith("/send?")
        assert query.pop("id")[0].isdigit()                 # $messageid: smsd's message id
        assert query == {"to": ["+447800000001"], "from": ["+4411"], "text": ["hello & welcome"]}
        assert row["port"] >= 10000                         # a connection's number, no port
        # Unicode goes as binary (CBUNICODEASBIN is on by default): UCS2 user data, dcs 08.
        send(a, "+447800000002", "Ωμέγα", 52)
        wait_for(lambda: final(a, 52, ("SENT_OK", "FAILED")), what="the binary send")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(provider.requests[1][1]).query)
        assert query["dcs"] == ["08"] and query["pid"] == ["00"] and "udh" not in query
        assert bytes.fromhex(query["ud"][0]).decode("utf-16-be") == "Ωμέγα"
        # An Ozeki client picks the connection itself with serviceprovider, no rule needed.
        [report] = ozeki(a, "sendmessage", recipient="+33612345678", messagedata="picked",
                         serviceprovider="web")
        assert report["_"] == "acceptreport" and report["statuscode"] == "0", report
        wait_for(lambda: len(provider.requests) == 3, what="the Ozeki send")
        assert "text=picked" in provider.requests[2][1]
        # the provider has the request before the box has stored its answer: wait for that
        mid = report["messageid"]
        got = wait_for(lambda: next((m for m in ozeki(a, "getmessage", messageid=mid)
                                     if m["status"] != "pending"), None), what="the Ozeki result")
        assert got["serviceprovider"] == "web" and got["status"] == "sent", got
    finally:
        provider.close()


def test_http_server_connection(boxes: Boxes) -> None:
    a = boxes.a
    driver(a, "createdriver", type="HTTPServer", name="hs")
    driver(a, "configdriver", name="hs", PARAMNAMEMESSAGEDATA="text", SECRET="s3",
           RESPONSETEMPLATE="accepted $msgid")
    status, body = a.request("/connections/hs", b"originator=%2B447700900777&text=hi+there",
                             method="POST")
    assert status == 404                                   # not started yet
    driver(a, "startdriver", name="hs")
    status, body = a.request("/connections/hs", b"originator=%2B447700900777&text=hi+there",
                             method="POST")
    assert status == 403 and b"secret" in body             # SECRET set: it must come along
    status, body = a.request("/connections/hs?secret=s3",
                             b"originator=%2B447700900777&text=hi+there", method="POST")
    assert status == 200 and re.fullmatch(rb"accepted \d+\n", body), body
    sms = [s for s in a.api("query_incoming_sms", query="flag=all")["sms"]
           if s["text"] == "hi there"]
    assert sms and sms[0]["number"] == "+447700900777"
    status, body = a.request("/connections/hs?secret=s3", b"text=no+sender", method="POST")
    assert status == 400


def test_smtp_both_ways(boxes: Boxes) -> None:
    a = boxes.a
    sink = Sink()
    listen = reserved_port()
    try:
        driver(a, "createdriver", type="SMTP", name="mail")
        driver(a, "configdriver", name="mail", SMTPSERVER="127.0.0.1", SMTPPORT=str(sink.port),
               MAILTO="$recipient@sms.example.net", MAILFROM="box@example.org",
               MAILSUBJECT="SMS from $originator", MAILBODY="$messagetext",
               LISTEN=f"127.0.0.1:{listen}", MAILDOMAIN="box.example.org",
               SENDERS="alice@example.com=admin")
        driver(a, "startdriver", name="mail")
        add_rule(a, "+4479", "conn:mail")
        send(a, "+447900000001", "to your mailbox", 61)
        row = wait_for(lambda: final(a, 61, ("SENT_OK", "FAILED")), what="the e-mail")
        assert row["status"] == "SENT_OK", row
        [(sender, rcpts, raw)] = sink.mails
        assert sender == "box@example.org" and rcpts == ["447900000001@sms.example.net"]
        assert b"to your mailbox" in raw
        # E-mail to SMS: a permitted sender's mail is queued as an SMS of the mapped user.
        with smtplib.SMTP("127.0.0.1", listen, timeout=10) as smtp:
            smtp.login("admin", ADMIN_PW)          # SMTP AUTH (MAILAUTH on, the default)
            smtp.sendmail("alice@example.com", ["+447700900321@box.example.org"],
                          b"Subject: x\r\n\r\nfrom the mail\r\n")
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("alice@example.com", ["nobody@box.example.org"], b"\r\nx\r\n")
        with smtplib.SMTP("127.0.0.1", listen, timeout=10) as smtp:
            smtp.login("admin", ADMIN_PW)
            with pytest.raises(smtplib.SMTPSenderRefused):
                smtp.sendmail("mallory@example.com", ["+447700900321@box.example.org"],
                              b"\r\nnot mine\r\n")
        got = wait_for(lambda: [r for r in a.results(number=["+447700900321"])
                                if r["status"] in ("SENT_OK", "DELIVERED")], what="the SMS")
        assert len(got) == 1
        assert journal_counts(str(Path(a.state_dir).parent / "a.journal"))["from the mail"] == 1
        assert "not mine" not in journal_counts(str(Path(a.state_dir).parent / "a.journal"))
    finally:
        sink.close()
