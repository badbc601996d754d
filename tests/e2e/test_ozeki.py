"""Ozeki NG HTTP API end to end: the daemon on the simulated board, real HTTP, the network journal."""
from __future__ import annotations

import json
import socket
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from e2e.harness import ADMIN_PW, reserved_port, wait_for


def call(d: Any, path: str = "/api", *, base: str | None = None, **params: str) -> ET.Element:
    params.setdefault("username", "admin")
    params.setdefault("password", ADMIN_PW)
    url = (base or d.base) + path + "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.status == 200
        body = resp.read()
    root = ET.fromstring(body)
    assert root.tag == "response" and root.findtext("action") == params.get("action", "")
    return root


def items(root: ET.Element, tag: str) -> list[dict[str, str]]:
    return [{c.tag: c.text or "" for c in el} for el in root.iter(tag)]


def journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def send(d: Any, recipient: str, text: str, **extra: str) -> list[dict[str, str]]:
    return items(call(d, action="sendmessage", recipient=recipient, messagedata=text, **extra),
                 "acceptreport")


def message(d: Any, ident: str) -> dict[str, str]:
    found = items(call(d, action="getmessage", messageid=ident), "message")
    return found[0] if found else {}


def test_sendmessage_types_reports_and_delivery_state(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "air.jsonl"
    d = make_daemon(ports=2, extra=("--sim-journal", str(path))).start()
    reports = send(d, "+447700900501;07700 900502;Bob", "Hello & welcome")
    assert [r["statuscode"] for r in reports] == ["0", "0", "2"]
    assert reports[0]["statusmessage"] == "Message accepted for delivery"
    assert reports[0]["recipient"] == "+447700900501" and reports[1]["recipient"] == "07700900502"
    assert "Bob" in reports[2]["statusmessage"]
    ids = [r["messageid"] for r in reports[:2]]
    assert int(ids[1]) == int(ids[0]) + 1
    gsm = send(d, "+447700900503", "plain", messagetype="SMS:TEXT:GSM7BIT")
    ucs = send(d, "+447700900504", "ascii but ucs2", messagetype="sms:text:ucs2")
    assert gsm[0]["statuscode"] == ucs[0]["statuscode"] == "0"
    bad_type = items(call(d, action="sendmessage", recipient="+447700900505", messagedata="x",
                          messagetype="SMS:WAP"), "error")
    assert bad_type[0]["statuscode"] == "3"
    wait_for(lambda: len(journal(path)) == 4, what="four messages on the air")
    by_to = {p["to"]: p for p in journal(path)}
    assert by_to["+447700900501"]["text"] == "Hello & welcome"
    assert by_to["07700900502"]["text"] == "Hello & welcome"
    assert by_to["+447700900504"]["text"] == "ascii but ucs2"
    state = wait_for(lambda: (lambda m: m if m.get("status") == "delivered" else None)(
        message(d, ids[0])), what="delivery report")
    assert state["folder"] == "sent" and state["deliveryreport"] == "0"
    assert state["serviceprovider"] in ("GSMModem0", "GSMModem1")
    assert message(d, "999999") == {}


def test_errors_come_in_the_dialect_format_with_http_200(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    wrong = items(call(d, action="sendmessage", password="nope", recipient="+447700900510",
                       messagedata="x"), "error")
    assert wrong[0]["statuscode"] == "1"
    assert items(call(d, action="fly"), "error")[0]["statuscode"] == "7"
    assert items(call(d, "/httpapi", action="sendmessage", recipient="+447700900511",
                      messagedata=""), "error")[0]["statuscode"] == "4"
    html = urllib.request.urlopen(d.base + "/api?" + urllib.parse.urlencode(
        {"action": "sendmessage", "username": "admin", "password": ADMIN_PW,
         "recipient": "+447700900512", "messagedata": "hi", "responseformat": "html"})).read()
    assert b"<html>" in html and b"Message accepted for delivery" in html


def test_receive_list_get_and_delete(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    for i in range(3):
        d.request("/sim/sms", json.dumps({"port": 0, "from": f"+4479001000{i}",
                                          "text": f"in {i}"}).encode())
    wait_for(lambda: len(items(call(d, action="listmessages", folder="inbox"), "message")) == 3,
             what="three received")
    kept = items(call(d, action="receivemessage", limit="2", afterdownload="nothing"), "message")
    assert [m["messagedata"] for m in kept] == ["in 0", "in 1"]
    first = items(call(d, action="receivemessage", limit="2"), "message")
    assert [m["messagedata"] for m in first] == ["in 0", "in 1"]        # still unread before
    rest = items(call(d, action="receivemessage", afterdownload="delete"), "message")
    assert [m["messagedata"] for m in rest] == ["in 2"]
    assert items(call(d, action="receivemessage"), "message") == []
    listed = items(call(d, action="listmessages", folder="inbox"), "message")
    assert [m["messagedata"] for m in listed] == ["in 0", "in 1"]       # "in 2" was deleted
    assert message(d, first[0]["messageid"])["originator"] == "+44790010000"
    gone = items(call(d, action="deletemessage", messageid=first[0]["messageid"]), "deletereport")
    assert gone[0]["statuscode"] == "0"
    assert message(d, first[0]["messageid"]) == {}
    assert len(items(call(d, action="listmessages", folder="inbox"), "message")) == 1
    sent_id = send(d, "+447700900520", "out")[0]["messageid"]
    wait_for(lambda: message(d, sent_id).get("folder") == "sent", what="sent")
    sent = items(call(d, action="receivemessage", folder="sent"), "message")
    assert [m["messageid"] for m in sent] == [sent_id] and sent[0]["messagedata"] == "out"
    call(d, action="deletemessage", messageid=sent_id)
    assert items(call(d, action="listmessages", folder="sent"), "message") == []
    assert items(call(d, action="listmessages", folder="trash"), "error")[0]["statuscode"] == "9"


def drivers(d: Any) -> dict[str, dict[str, str]]:
    return {x["name"]: x for x in items(call(d, action="listdrivers"), "driver")}


def test_connections_have_real_effects_and_persist(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "air.jsonl"
    d = make_daemon(ports=4, extra=("--sim-journal", str(path))).start()
    # SMPP, HTTP and SMTP are connections to providers (docs/connections.md); UCP is not run here.
    refused = items(call(d, action="createdriver", type="UCP"), "error")
    assert refused[0]["statuscode"] == "10" and "not supported" in refused[0]["statusmessage"]
    made = items(call(d, action="createdriver", type="GSMModem", name="Alpha", port="1"), "driver")
    assert made[0]["name"] == "Alpha" and made[0]["port"] == "1"
    bad = items(call(d, action="configdriver", name="Alpha", LIMITTOMPM="2", BAUDRATES="9600"),
                "error")
    assert bad[0]["statuscode"] == "11" and "BAUDRATES" in bad[0]["statusmessage"]
    assert drivers(d)["Alpha"]["limittompm"] == "0"          # nothing of a refused request kept
    call(d, action="configdriver", name="Alpha", limittompm="2")
    call(d, action="configdriver", name="GSMModem0", SEND="no")
    call(d, action="stopdriver", name="GSMModem2")
    started = time.monotonic()
    ids = [send(d, "+4477009006%02d" % i, f"limited {i}", serviceprovider="alpha")[0]["messageid"]
           for i in range(5)]
    wait_for(lambda: len(journal(path)) >= 2, what="two limited messages out")
    time.sleep(2.0)                                          # room for an extra send to show
    assert [p["port"] for p in journal(path)] == [1, 1]
    # Port 1 used its minute; port 0 does not send, port 2 is stopped: all goes to port 3.
    for i in range(3):
        send(d, "+4477009007%02d" % i, f"free {i}")
    wait_for(lambda: len(journal(path)) == 5, what="free messages out")
    assert [p["port"] for p in journal(path) if p["text"].startswith("free")] == [3, 3, 3]
    assert time.monotonic() - started < 50                   # all inside one minute window
    assert len([p for p in journal(path) if p["port"] == 1]) == 2
    assert message(d, ids[4])["folder"] == "outbox"
    assert drivers(d)["GSMModem2"]["state"] == "stopped"
    # A restart keeps every setting, and their effects.
    d.stop()
    d.start()
    after = drivers(d)
    assert after["Alpha"]["limittompm"] == "2" and after["GSMModem0"]["send"] == "off"
    assert after["GSMModem2"]["state"] == "stopped"
    call(d, action="startdriver", name="GSMModem2")
    late = send(d, "+447700900801", "after restart", serviceprovider="GSMModem2")[0]["messageid"]
    wait_for(lambda: message(d, late).get("folder") == "sent", what="started again")
    assert [p["port"] for p in journal(path) if p["text"] == "after restart"] == [2]
    assert not any(p["port"] == 0 for p in journal(path))
    deleted = items(call(d, action="deletedriver", name="Alpha"), "driver")
    assert deleted[0]["port"] == "1" and "GSMModem1" in drivers(d)
    assert items(call(d, action="deletedriver", name="GSMModem0"), "error")[0]["statuscode"] == "9"


def test_pincode_unlocks_the_sim_at_init(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()

    def reg() -> str:
        return str(d.api("get_port_info", query="port=0&info_type=reg")["info"][0]["reg"])
    d.api("set_port_info", query="port=0&action=lock&param=1234")
    d.api("set_port_info", query="port=0&action=reset")
    wait_for(lambda: reg() == "PIN_REQUIRE", timeout=30, what="locked without a PIN")
    call(d, action="configdriver", name="GSMModem0", PINCODE="1234")    # applies at once
    wait_for(lambda: reg() == "REGISTER_OK", timeout=30, what="registered after the PIN")
    d.api("set_port_info", query="port=0&action=reset")                 # and at each init
    wait_for(lambda: sum("SIM PIN entered" in line for line in d.output) == 2, timeout=30,
             what="the PIN entered at init")
    wait_for(lambda: reg() == "REGISTER_OK", timeout=30, what="registered after a reset")
    call(d, action="configdriver", name="GSMModem0", PINCODE="")
    d.api("set_port_info", query="port=0&action=reset")
    wait_for(lambda: reg() == "PIN_REQUIRE", timeout=30, what="locked again without the PIN")


def test_two_listen_addresses_both_answer(make_daemon) -> None:  # type: ignore[no-untyped-def]
    second = reserved_port()
    d = make_daemon(ports=1, extra=("--listen", f"127.0.0.1:{second}")).start()
    for base in (d.base, f"http://127.0.0.1:{second}"):
        reports = items(call(d, base=base, action="sendmessage", recipient="+447700900901",
                             messagedata="twice"), "acceptreport")
        assert reports[0]["statuscode"] == "0"


def test_raw_client_without_host_reads_until_close(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    # An old client: HTTP/1.1 without Host, `+` of the number unencoded, spaces as `+`.
    target = (f"/api?Action=SendMessage&UserName=admin&Password={ADMIN_PW}"
              "&Recipient=+447700900950&MessageData=hello+there")
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(4096):                     # until the server closes
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
    report = items(ET.fromstring(body), "acceptreport")[0]
    assert report["statuscode"] == "0" and report["recipient"] == "+447700900950"
    assert report["messagedata"] == "hello there"


def parts_of(d: Any, message_id: str) -> list[Any]:
    """The SMS-SUBMIT parts the scheduler built for a message, decoded from the database."""
    import sqlite3

    from smsd.pdu import decode
    conn = sqlite3.connect(f"file:{d.state_dir}/smsd.db?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT pdu FROM parts WHERE message_id = ? ORDER BY seq",
                            (int(message_id),)).fetchall()
    finally:
        conn.close()
    return [decode(r[0], smsc=True) for r in rows]


def sent_parts(d: Any, message_id: str) -> list[Any]:
    wait_for(lambda: message(d, message_id).get("folder") == "sent", what=f"{message_id} sent")
    return parts_of(d, message_id)


def test_message_types_reach_the_pdu(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()

    def one(text: str, **extra: str) -> str:
        report = send(d, "+447700901001", text, **extra)[0]
        assert report["statuscode"] == "0", report
        return report["messageid"]
    plain, gsm, ucs = one("plain"), one("seven", messagetype="SMS:TEXT:GSM7BIT"), \
        one("wide", messagetype="SMS:TEXT:UCS2")
    assert [p.encoding for p in sent_parts(d, plain)] == ["gsm7"]
    assert [p.encoding for p in sent_parts(d, gsm)] == ["gsm7"]
    assert [(p.encoding, p.text) for p in sent_parts(d, ucs)] == [("ucs2", "wide")]
    flash = one("look now", messagetype="SMS:TEXT:CLASS0")
    binary = one("<udh>0504158A0000</udh><data>DEADBEEF</data>", messagetype="SMS:BINARY")
    assert [(p.message_class, p.text) for p in sent_parts(d, flash)] == [(0, "look now")]
    [part] = sent_parts(d, binary)
    assert part.encoding == "8bit" and part.data == bytes.fromhex("DEADBEEF")
    assert part.ports == (0x158A, 0)
    assert items(call(d, action="sendmessage", recipient="+447700901001", messagedata="zz",
                      messagetype="SMS:BINARY"), "error")[0]["statuscode"] == "4"


def test_charset_and_delivery_report_settings_shape_the_pdu(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "air.jsonl"
    d = make_daemon(ports=2, extra=("--sim-journal", str(path))).start()
    call(d, action="configdriver", name="GSMModem1", PREFEREDCHARSET="UCS2", DELIVERYREPORT="off")
    wide = send(d, "+447700901101", "hello", serviceprovider="GSMModem1")[0]["messageid"]
    normal = send(d, "+447700901102", "hello", serviceprovider="GSMModem0")[0]["messageid"]
    [w] = sent_parts(d, wide)
    [n] = sent_parts(d, normal)
    assert (w.encoding, w.status_report_requested) == ("ucs2", False)
    assert (n.encoding, n.status_report_requested) == ("gsm7", True)
    by_to = {p["to"]: p for p in journal(path)}
    assert by_to["+447700901101"]["status_report"] is False
    assert by_to["+447700901102"]["status_report"] is True


def test_receive_off_leaves_sms_on_the_sim_until_it_is_on(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    call(d, action="configdriver", name="GSMModem0", RECEIVE="off")
    d.request("/sim/sms", json.dumps({"port": 0, "from": "+447900200001",
                                      "text": "held"}).encode())
    time.sleep(2.0)
    assert items(call(d, action="listmessages", folder="inbox"), "message") == []
    call(d, action="configdriver", name="GSMModem0", RECEIVE="on")
    got = wait_for(lambda: items(call(d, action="receivemessage"), "message"), what="released")
    assert [m["messagedata"] for m in got] == ["held"]


def test_listen_addresses_from_the_config_file(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first, second = reserved_port(), reserved_port()
    ini = tmp_path / "smsd.ini"
    ini.write_text(f"[daemon]\nlisten = 127.0.0.1:{first}, 127.0.0.1:{second}\n")
    d = make_daemon(ports=1, extra=("--config", str(ini)))
    at = d.args.index("--listen")
    del d.args[at:at + 2]                       # the file alone says where to listen
    d.port, d.base = first, f"http://127.0.0.1:{first}"
    d.start()
    for port in (first, second):
        root = call(d, base=f"http://127.0.0.1:{port}", action="listdrivers")
        assert [x["name"] for x in items(root, "driver")] == ["GSMModem0"]
