"""The gateway.php dialect end to end: the real daemon on the simulator, real HTTP on loopback,
and raw sockets for the old clients (no Host header, reading until close, unencoded text)."""
from __future__ import annotations

import hashlib
import json
import re
import socket
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from e2e.harness import Daemon, smsd_cli, wait_for

GATEWAY = "/module/gateway.php"
REPORT = "/module/gatewayrapport.php"
FINAL_WORDS = {"DELIVERED", "NOT DELIVERED", "REJECTED"}


def http(d: Daemon, path: str, body: bytes | None = None,
         ctype: str = "application/x-www-form-urlencoded") -> str:
    headers = {"Content-Type": ctype} if body is not None else {}
    req = urllib.request.Request(d.base + path, data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
        assert resp.headers["Connection"] == "close"
        return str(resp.read().decode("utf-8"))


def gw(d: Daemon, user: str = "admin", password: str | None = None, **params: str) -> str:
    creds = {"clientuser": user, "clientpwd": d.password if password is None else password}
    return http(d, GATEWAY + "?" + urllib.parse.urlencode({**creds, **params}))


def send(d: Daemon, to: str, message: str = "hello", **params: str) -> str:
    return gw(d, to=to, message=message, sender=params.pop("sender", "Shop"), **params)


def report(d: Daemon, smsid: int | str, user: str = "admin", password: str | None = None) -> str:
    # a status lookup needs the same login as a send (issue 13)
    creds = {"clientuser": user, "clientpwd": d.password if password is None else password}
    return http(d, REPORT + "?" + urllib.parse.urlencode({**creds, "smsid": str(smsid)}))


def sent_id(body: str) -> int:
    assert re.fullmatch(r"OK [1-9][0-9]*", body), body
    return int(body.split()[1])


def words_until_final(d: Daemon, smsid: int, timeout: float = 30.0) -> list[str]:
    seen: list[str] = []

    def final() -> bool:
        word = report(d, smsid)
        if not seen or seen[-1] != word:
            seen.append(word)
        return word in FINAL_WORDS
    wait_for(final, timeout, interval=0.1, what=f"final report for {smsid}")
    return seen


def in_queue(d: Daemon) -> int:
    return int(d.api("query_sms_in_queue")["in_queue"])


def journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def raw(d: Daemon, data: bytes, timeout: float = 15.0) -> bytes:
    """Send bytes and read until the server closes (a recv timeout fails the test)."""
    with socket.create_connection(("127.0.0.1", d.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def raw_body(response: bytes) -> str:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"200", head
    return body.decode("utf-8")


# --- tests --------------------------------------------------------------------------------------
def test_delivery_report_progresses_and_ids_are_shared_with_json(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    first = sent_id(send(d, "447700900123", delivery="yes"))
    seen = words_until_final(d, first)
    assert seen[-1] == "DELIVERED"
    assert set(seen) <= {"NONE", "SUBMITTED", "BUFFERED", "DELIVERED"}
    rows = d.results(number=["+447700900123"])       # normalised to international
    assert [r["status"] for r in rows] == ["DELIVERED"] and rows[0]["count"] == 1
    # One id sequence for every dialect: a JSON message between two gateway.php ones.
    d.api("send_sms", {"text": "via json", "param": [{"number": "+447700900456"}]})
    third = sent_id(send(d, "+447700900789", delivery="ja"))
    assert third == first + 2
    assert words_until_final(d, first + 1)[-1] == "DELIVERED"
    assert report(d, third + 1000) == "NONE"


def test_failure_report_is_not_delivered(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    smsid = sent_id(send(d, "00447700900000", delivery="1"))
    assert words_until_final(d, smsid)[-1] == "NOT DELIVERED"
    assert d.results(number=["+447700900000"])[0]["status"] == "SENT_OK"


def test_several_recipients_get_one_id_each(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    body = send(d, "447700900201,+447700900202, 447700900201", delivery="yes")
    ids = [int(i) for i in body.removeprefix("OK ").split(",")]
    assert len(ids) == 2 and ids[1] == ids[0] + 1          # the duplicate is sent once
    assert send(d, "447700900203") == "OK"                 # no delivery: a bare OK
    for smsid in ids:
        assert words_until_final(d, smsid)[-1] == "DELIVERED"


def test_long_messages_and_part_limits(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, extra=("--sim-journal", str(path))).start()
    assert send(d, "447700900301", "x" * 160) == "OK"
    assert send(d, "447700900301", "x" * 161) == "ERROR 105"
    assert send(d, "447700900301", "ж" * 71) == "ERROR 105"          # UCS-2: 70 in one SMS
    assert send(d, "447700900302", "y" * 459, type="long") == "OK"   # 3 x 153
    assert send(d, "447700900302", "y" * 460, type="long") == "ERROR 118"
    assert send(d, "447700900302", "ж" * 202, type="long") == "ERROR 118"   # 3 x 67 = 201
    wait_for(lambda: len(journal(path)) == 4, what="four parts on the air")
    on_air = journal(path)
    assert sorted(p["to"] for p in on_air) == ["+447700900301"] + ["+447700900302"] * 3
    assert "".join(p["text"] for p in on_air if p["to"] == "+447700900302") == "y" * 459
    assert [r["count"] for r in d.results(number=["+447700900302"])] == [3]
    wait_for(lambda: in_queue(d) == 0, what="the last part's result")
    assert len(d.results()) == 2                                      # only the two OKs


def test_test_mode_checks_everything_and_sends_nothing(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, extra=("--sim-journal", str(path))).start()
    assert send(d, "447700900401", test="yes") == "OK"
    assert send(d, "447700900401", test="yes", delivery="yes") == "OK 0"
    assert send(d, "447700900401", test="yes", sender="Shop!") == "ERROR 113"
    assert send(d, "0770090040", test="yes") == "ERROR 106"
    assert send(d, "447700900401", "x" * 161, test="yes") == "ERROR 105"
    assert gw(d, password="wrong", to="447700900401", message="m", sender="S",
              test="yes") == "ERROR 104"
    assert in_queue(d) == 0 and d.results() == []
    assert report(d, 0) == "NONE"
    # A real send afterwards gets the first id: a test never used one.
    assert sent_id(send(d, "447700900401", delivery="yes")) == 1
    wait_for(lambda: journal(path), what="the real send on the air")
    assert [p["to"] for p in journal(path)] == ["+447700900401"]


def test_credentials_errors_and_sha1_password(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    digest = hashlib.sha1(d.password.encode()).hexdigest()
    assert send_as(d, "admin", digest) == "OK"
    assert send_as(d, "admin", "wrong") == "ERROR 104"
    assert send_as(d, "nobody", d.password) == "ERROR 104"
    assert send_as(d, "admin", hashlib.sha1(b"wrong").hexdigest()) == "ERROR 104"
    assert http(d, GATEWAY + "?clientpwd=x&message=m&to=447700900501") == "ERROR 100"
    assert http(d, GATEWAY + "?clientuser=admin&message=m&to=447700900501") == "ERROR 101"
    assert gw(d, to="447700900501", sender="S") == "ERROR 102"
    assert gw(d, message="m", sender="S") == "ERROR 103"
    assert gw(d, to="447700900501", message="m") == "ERROR 109"
    assert send(d, "447700900501", sender="447700900999") == "ERROR 110"
    assert send(d, "447700900501", sender="TwelveChars!") == "ERROR 113"
    assert send(d, "447700900501", sender="TwelveCharsX") == "ERROR 111"
    assert send(d, "447700900501", sender="+447700900999") == "OK"
    assert gw(d, action="credits") == "999999999"                     # admin: unlimited
    assert gw(d, password="wrong", action="credits") == "ERROR 104"
    assert len(d.results()) == 2                                      # only the two OKs


def send_as(d: Daemon, user: str, password: str) -> str:
    return gw(d, user, password, to="447700900501", message="m", sender="Shop")


def test_old_clients_over_raw_sockets(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, extra=("--sim-journal", str(path))).start()
    pw = urllib.parse.quote(d.password)
    # HTTP/1.1 without Host, no Connection header, reading until close; `+` of the number
    # unencoded (a space to a form decoder) and raw `&`, `%`, `#` in the last parameter.
    target = (f"{GATEWAY}?ClientUser=admin&CLIENTPWD={pw}&to=+447700900601&Sender=Shop"
              f"&delivery=yes&message=R&D_at_100%_#1")
    smsid = sent_id(raw_body(raw(d, f"GET {target} HTTP/1.1\r\n\r\n".encode())))
    # HTTP/1.0 form POST with unencoded text, `+` meaning a space, and Latin-1 bytes.
    form = (f"clientuser=admin&clientpwd={pw}&to=447700900602&sender=Shop&"
            "message=Price: 5 & 10% off! a+b caf").encode() + b"\xe9"
    post = (f"POST {GATEWAY} HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\n\r\n").encode() + form
    assert raw_body(raw(d, post)) == "OK"
    # The report page too, for a client reading until close.
    assert raw_body(raw(d, f"GET {REPORT}?clientuser=admin&clientpwd={pw}&smsid={smsid} "
                           "HTTP/1.1\r\n\r\n".encode())) in {
        "NONE", "SUBMITTED", "BUFFERED", "DELIVERED"}
    wait_for(lambda: len(journal(path)) == 2, what="both on the air")
    texts = {p["to"]: p["text"] for p in journal(path)}
    assert texts == {"+447700900601": "R&D_at_100%_#1",
                     "+447700900602": "Price: 5 & 10% off! a b café"}


def test_hostile_requests_get_vendor_errors_and_queue_nothing(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    assert send(d, "44770090070a") == "ERROR 106"
    assert send(d, "447700900701,12") == "ERROR 106"          # all or nothing
    assert send(d, "unknown-group") == "ERROR 106"
    assert send(d, "447700900701", "\x00" * 2000, type="long") == "ERROR 118"
    big = b"clientuser=admin&message=" + b"x" * (70 * 1024)
    assert http(d, GATEWAY, big) == "ERROR 120"
    assert http(d, GATEWAY, b"\xff\xfe%%%&&&==") == "ERROR 100"
    assert http(d, GATEWAY + "?clientuser=%ZZ&clientpwd=%00&message=m&to=447700900701&sender=S"
                ) == "ERROR 104"
    assert report(d, "1%20OR%201=1") == "NONE"
    assert http(d, REPORT) == "ERROR 100"                     # no login, no answer about ids
    assert in_queue(d) == 0 and d.results() == []
    wait_for(lambda: "refused with 120" in "".join(d.output), what="the refusals' lines")
    log = "".join(d.output)
    assert "refused with 106" in log and "refused with 120" in log
    assert d.password not in log


def test_users_from_the_cli_credits_and_permissions(make_daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "air.jsonl"
    d = make_daemon(ports=1, extra=("--sim-journal", str(path))).start()
    smsd_cli(d, "user", "add", "shop", "--password", "shop-pw", "--perm", "api:gateway_php",
             "--credits", "4")
    smsd_cli(d, "user", "add", "webonly", "--password", "web-pw", "--perm", "web")

    def credits() -> str:
        return gw(d, "shop", "shop-pw", action="credits")

    def send_shop(text: str, **params: str) -> str:
        return gw(d, "shop", "shop-pw", to="447700900801", message=text, sender="Shop",
                  type="long", **params)
    assert credits() == "4"
    assert send_shop("z" * 300, test="yes") == "OK" and credits() == "4"   # 2 parts, not debited
    smsid = sent_id(send_shop("z" * 300, delivery="yes"))
    assert credits() == "2"
    assert send_shop("z" * 400) == "ERROR 108"                             # 3 parts > 2
    assert send_shop("z" * 400, test="yes") == "ERROR 108"
    assert credits() == "2"
    smsd_cli(d, "user", "credits", "shop", "+10")
    assert credits() == "12"
    smsd_cli(d, "user", "credits", "shop", "unlimited")
    assert credits() == "999999999"
    assert gw(d, "webonly", "web-pw", action="credits") == "ERROR 116"
    assert gw(d, "webonly", "web-pw", to="447700900801", message="m", sender="S") == "ERROR 116"
    # The shop's message, by its gateway.php id, as the JSON API and the air see it.
    assert words_until_final(d, smsid)[-1] == "DELIVERED"
    rows = d.results(number=["+447700900801"])
    assert [(r["status"], r["count"]) for r in rows] == [("DELIVERED", 2)]
    assert "".join(p["text"] for p in journal(path)) == "z" * 300


def test_ids_are_shared_with_the_isms_dialect(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    isms_auth = {"user": "admin", "passwd": d.password}
    smsid = sent_id(send(d, "447700900901", delivery="yes"))
    assert words_until_final(d, smsid)[-1] == "DELIVERED"
    query = urllib.parse.urlencode({**isms_auth, "apimsgid": smsid})
    assert http(d, f"/querymsg?{query}").strip() == f"ID: {smsid} Status: 0"
    sent = urllib.parse.urlencode({**isms_auth, "cat": "1", "to": "+447700900902", "text": "x"})
    isms_id = int(http(d, f"/sendmsg?{sent}").strip().removeprefix("ID: "))
    assert isms_id == smsid + 1
    assert words_until_final(d, isms_id)[-1] == "DELIVERED"
