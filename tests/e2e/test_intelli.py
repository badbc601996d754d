"""The IntelliSoftware HTTP interface end to end: the real daemon on the simulator, real HTTP on
loopback, the simulated network's journal as the record of what went on the air."""
from __future__ import annotations

import json
import socket
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from e2e.harness import Daemon, smsd_cli, wait_for
from smsd import pdu

SEND = "/smsgateway/sendmsg.aspx"


def http(d: Daemon, path: str, params: dict[str, str], *, post: bool = False) -> str:
    query = urllib.parse.urlencode(params)
    if post:
        req = urllib.request.Request(d.base + path, data=query.encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        req = urllib.request.Request(d.base + path + "?" + query)
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
        assert resp.headers["Connection"] == "close"
        return str(resp.read().decode("utf-8"))


def send(d: Daemon, user: str = "admin", password: str | None = None, post: bool = False,
         **params: str) -> str:
    creds = {"username": user, "password": d.password if password is None else password}
    return http(d, SEND, {**creds, **params}, post=post)


def journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def on_air(path: Path, to: str, count: int = 1) -> list[dict[str, Any]]:
    return wait_for(lambda: [r for r in journal(path) if r["to"] == to][:count]
                    if len([r for r in journal(path) if r["to"] == to]) >= count else None,
                    20, what=f"{count} part(s) to {to} on the air")


def decoded(record: dict[str, Any]) -> Any:
    return pdu.decode(record["tpdu"], smsc=False)


def message_id(body: str) -> int:
    assert body.startswith("ID:") and body[3:].isdigit(), body
    return int(body[3:])


def test_text_unicode_and_multi_recipient_replies(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    air = tmp_path / "air.jsonl"
    d = make_daemon(ports=2, extra=("--sim-journal", str(air))).start()
    first = message_id(http(d, SEND, {"username": "admin", "password": d.password,
                                      "to": "447700900101", "text": "Hello there", "from": "Shop"}))
    assert decoded(on_air(air, "+447700900101")[0]).text == "Hello there"
    # UCS2 given as hex, POSTed; sent as UCS2.
    message_id(send(d, post=True, to="+447700900102", type="2", hex="00480045004C004C004F0416"))
    got = decoded(on_air(air, "+447700900102")[0])
    assert (got.text, got.encoding) == ("HELLOЖ", "ucs2")
    # Several recipients: one line each, international without +, duplicates removed, bad ones
    # answered per line while the good ones go out.
    body = send(d, to="447700900103, +447700900104,00447700900103,12ab", text="multi")
    lines = body.split("\n")
    assert [line.split(",")[0] for line in lines] == ["447700900103", "447700900104", "12ab"]
    ids = [int(line.split(",ID:")[1]) for line in lines[:2]]
    assert lines[2] == "12ab,ERR:INVALID_NUMBER"
    assert len(set(ids)) == 1 and ids[0] > first          # one ID for the whole submission
    on_air(air, "+447700900104")


def test_errors_are_vendor_codes_with_http_200(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    assert send(d, password="wrong", to="447700900101", text="x") == "ERR:LOGIN_INVALID"
    assert http(d, SEND, {"password": "x", "to": "1", "text": "x"}) == "ERR:NO_USERNAME"
    assert send(d, text="x") == "ERR:NO_TO"
    assert send(d, to="447700900101") == "ERR:NO_TEXT"
    assert send(d, to="447700900101", type="2") == "ERR:PARAMETER_MISSING"
    assert send(d, to="447700900101", type="2", hex="00G1") == "ERR:PARAMETER_INVALID"
    assert send(d, to="447700900101", type="3") == "ERR:PARAMETER_MISSING"
    assert send(d, to="447700900101", type="3", ud="0102", udh="0504AB") == "ERR:PARAMETER_INVALID"
    assert send(d, to="447700900101", type="4", text="x") == "ERR:PARAMETER_MISSING"
    assert send(d, to="447700900101", type="4", href="ftp://x") == "ERR:INVALID_REQUEST"
    assert send(d, to="447700900101", type="4", href="http://www.example.com/" + "x" * 90,
                text="y" * 40) == "ERR:INVALID_REQUEST"                 # needs a second SMS
    assert send(d, to="nobody", text="x") == "ERR:INVALID_NUMBER"
    assert send(d, to="447700900101", text="x" * 161) == "ERR:INVALID_REQUEST"   # maxconcat 1
    assert send(d, to="447700900101", text="x", type="5") == "ERR:INVALID_REQUEST"  # MMS
    assert send(d, to="447700900101", text="x", type="6") == "ERR:INVALID_REQUEST"  # Voice-SMS
    assert send(d, to=",".join(f"4477009{i:05d}" for i in range(101)),
                text="x") == "ERR:INVALID_REQUEST"
    mms = http(d, "/smsgateway/retrievemms.aspx", {"username": "admin", "password": d.password,
                                                   "msgid": "5", "msgpart": "1"})
    assert mms == "ERR:MSGID_INVALID"
    assert d.results() == []                                 # nothing was queued by any of these


def test_maxconcat_allows_long_texts(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    air = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, extra=("--sim-journal", str(air))).start()
    message_id(send(d, to="447700900111", text="y" * 300, maxconcat="2"))
    parts = on_air(air, "+447700900111", 2)
    assert sorted(decoded(p).concat[2] for p in parts) == [1, 2]


def test_binary_and_wap_push_go_on_the_air_as_built(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    air = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, extra=("--sim-journal", str(air))).start()
    message_id(send(d, to="447700900121", type="3", udh="06050415820000", ud="32F401"))
    got = decoded(on_air(air, "+447700900121")[0])
    assert (got.encoding, got.data, got.ports) == ("8bit", bytes.fromhex("32F401"), (5506, 0))
    href = "http://www.example.com/logo.gif"
    message_id(send(d, to="447700900122", type="4", href=href, text="Our logo"))
    got = decoded(on_air(air, "+447700900122")[0])
    assert got.ports == (2948, 9200) and got.concat is None
    tid, kind, hlen = got.data[0], got.data[1], got.data[2]
    assert kind == 0x06 and got.data[3] == 0xAE                  # WSP push, application/vnd.wap.sic
    wbxml = got.data[3 + hlen:]
    assert wbxml[:4] == bytes([0x02, 0x05, 0x6A, 0x00])          # WBXML 1.2, SI 1.0, UTF-8
    assert si_fields(wbxml[4:]) == (href, "Our logo")


def si_fields(body: bytes) -> tuple[str, str]:
    """(href, text) of a WBXML SI body: <si><indication href=...>text</indication></si>."""
    prefixes = {0x0B: "", 0x0C: "http://", 0x0D: "http://www.", 0x0E: "https://",
                0x0F: "https://www."}
    assert body[0] == 0x45 and body[1] == 0xC6
    i, href = 2, ""
    while body[i] != 0x01:                          # attributes until END
        token = body[i]
        i += 1
        if token in prefixes:
            href = prefixes[token]
            if body[i] == 0x03:
                end = body.index(0, i + 1)
                href += body[i + 1:end].decode()
                i = end + 1
    i += 1
    assert body[i] == 0x03
    end = body.index(0, i + 1)
    return href, body[i + 1:end].decode()


def test_credits_balance_and_permissions(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    smsd_cli(d, "user", "add", "shop", "--password", "shop-pw", "--perm", "api:intelli",
             "--credits", "3")
    smsd_cli(d, "user", "add", "other", "--password", "other-pw", "--perm", "api:isms")
    bal = "/smsgateway/getbalance.aspx"
    assert http(d, bal, {"username": "shop", "password": "shop-pw"}) == "BALANCE:3"
    message_id(send(d, "shop", "shop-pw", to="447700900131", text="z" * 300, maxconcat="3"))
    assert http(d, bal, {"username": "shop", "password": "shop-pw"}) == "BALANCE:1"
    assert send(d, "shop", "shop-pw", to="447700900131,447700900132",
                text="two") == "ERR:INSUFFICIENT_CREDIT"
    assert http(d, bal, {"username": "shop", "password": "shop-pw"}) == "BALANCE:1"
    smsd_cli(d, "user", "credits", "shop", "+5")
    assert http(d, bal, {"username": "shop", "password": "shop-pw"}) == "BALANCE:6"
    assert http(d, bal, {"username": "other", "password": "other-pw"}) == "ERR:LOGIN_INVALID"
    assert http(d, bal, {"username": "shop"}) == "ERR:NO_PASSWORD"


def test_groups_and_subscription_lists(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    air = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, extra=("--sim-journal", str(air))).start()
    csv = tmp_path / "contacts.csv"
    csv.write_text("Name,Number\nann,+447700900141\nbob,+447700900142\n")
    smsd_cli(d, "contacts", "import", str(csv))
    groups = tmp_path / "groups.csv"
    groups.write_text("Group,Members\nclub,ann;bob\n")
    smsd_cli(d, "groups", "import", str(groups))
    sub = "/smsgateway/updatesubscriptionlist.aspx"
    creds = {"username": "admin", "password": d.password}
    assert http(d, sub, {**creds, "sublistname": "club", "msisdn": "447700900142",
                         "action": "2"}) == "OK"
    assert http(d, sub, {**creds, "sublistname": "news", "msisdn": "447700900143",
                         "action": "1"}) == "OK"
    assert http(d, sub, {**creds, "sublistname": "news", "msisdn": "447700900143",
                         "action": "9"}) == "ERR:PARAMETER_INVALID"
    assert http(d, sub, {**creds, "msisdn": "447700900143", "action": "1"}) \
        == "ERR:PARAMETER_MISSING"
    # The group minus the number that opted out of the list of the same name.
    assert send(d, to="club", text="hi club").startswith("ID:")
    # A list name alone sends to its opted-in numbers.
    assert send(d, to="news", text="hi news").startswith("ID:")
    on_air(air, "+447700900141")
    on_air(air, "+447700900143")
    assert not [r for r in journal(air) if r["to"] == "+447700900142"]


def test_old_client_without_host_header_and_unencoded_text(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    air = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, extra=("--sim-journal", str(air))).start()
    query = f"username=admin&password={d.password}&to=+447700900151&text=Fish+&+chips+100%"
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
        s.sendall(f"GET {SEND}?{query} HTTP/1.1\r\n\r\n".encode())
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and reply.split(b"\r\n\r\n", 1)[1].startswith(b"ID:")
    assert decoded(on_air(air, "+447700900151")[0]).text == "Fish & chips 100%"
