"""iSMS dialect end to end against the real daemon: old clients on raw sockets, and the monitoring
acknowledgement workflow (alert out by /sendmsg, "ACK ..." reply in, forwarded by a routing rule
in the iSMS protocol to a monitoring CGI that reads it the way the isms plugin's smsack.cgi does).
"""
from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

from e2e.harness import Daemon, smsd_cli, wait_for

USER, PW = "nagios", "n4gios-pw"
ADMIN_PHONE = "+491725555555"


def add_isms_user(d: Daemon, ports: str = "0") -> None:
    smsd_cli(d, "user", "add", USER, "--password", PW, "--perm", "api:isms")
    # a non-admin polls the inbox of the ports assigned to it (issue 13 ownership)
    smsd_cli(d, "user", "assign", USER, "--ports", ports)


def raw_http(d: Daemon, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send bytes as they are; read until the server closes (as the box's old clients do)."""
    with socket.create_connection(("127.0.0.1", d.port), timeout=15) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return status, headers, body


def get(d: Daemon, path_and_query: str) -> str:
    status, _, body = raw_http(d, f"GET {path_and_query} HTTP/1.0\r\n\r\n".encode("latin-1"))
    assert " 200 " in status, status
    return body.decode("latin-1").rstrip("\n")


def creds() -> str:
    return f"user={USER}&passwd={PW}"


def test_old_clients_on_raw_sockets(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=2).start()
    add_isms_user(d)
    # HTTP/1.1 without Host, reading until close; a `+` in the number that was never encoded.
    query = f"/sendmsg?{creds()}&cat=1&to=+447700900123&text=host%20down"
    status, headers, body = raw_http(d, f"GET {query} HTTP/1.1\r\n\r\n".encode())
    assert " 200 " in status and headers.get("connection") == "close"
    first = int(re.fullmatch(rb"ID: (\d+)\n", body).group(1))  # type: ignore[union-attr]
    # Unencoded '&', '#' and '%' in the text, the text being the last parameter.
    query = f"/sendmsg?{creds()}&cat=1&to=+447700900124&text=R&D#5:95%full,50%25"
    status, _, body = raw_http(d, f"GET {query} HTTP/1.1\r\nHost: box\r\n"
                                  "Connection: close\r\n\r\n".encode())
    second = int(re.fullmatch(rb"ID: (\d+)\n", body).group(1))  # type: ignore[union-attr]
    results = {r["number"]: r for r in d.results()}
    assert set(results) >= {"+447700900123", "+447700900124"}
    for ident in (first, second):
        wait_for(lambda: get(d, f"/querymsg?{creds()}&apimsgid={ident}")
                 == f"ID: {ident} Status: 0", what=f"message {ident} sent")
    # A POST form, names in odd case, Latin-1 text.
    body_bytes = f"USER={USER}&Passwd={PW}&TO=%2B447700900125&Text=caf%E9".encode()
    status, _, body = raw_http(d, b"POST /sendmsg HTTP/1.1\r\nHost: box\r\nContent-Type: "
                               b"application/x-www-form-urlencoded\r\nContent-Length: "
                               + str(len(body_bytes)).encode() + b"\r\n\r\n" + body_bytes)
    assert re.fullmatch(rb"ID: \d+\n", body), body
    # Wrong password and a huge body: the documented errors, nothing queued.
    assert get(d, f"/sendmsg?user={USER}&passwd=wrong&to=1&text=x") == "Err: 601"
    huge = b"user=x&text=" + b"y" * (200 * 1024)
    status, _, body = raw_http(d, b"POST /sendmsg HTTP/1.1\r\nContent-Length: "
                               + str(len(huge)).encode() + b"\r\n\r\n" + huge)
    assert body == b"Err: 602\n"
    assert len(d.results()) == 3


def test_texts_arrive_as_meant(make_daemon) -> None:  # type: ignore[no-untyped-def]
    """Send to the box's own second SIM: what the network delivers is what the client meant."""
    d = make_daemon(ports=2).start()
    add_isms_user(d)
    own = wait_for(lambda: d.api("get_port_info", query="info_type=number&port=1")["info"][0]
                   ["number"], what="SIM number")
    to = own.replace("+", "")   # national form is fine; keep `+` out of the raw URL on purpose
    # Spaces as '+' (a raw space would end the request line), the rest unencoded.
    assert get(d, f"/sendmsg?{creds()}&to=%2B{to}&text=R&D+95%+#1+50%25").startswith("ID: ")
    got = wait_for(lambda: d.api("query_incoming_sms", query="flag=all")["sms"], timeout=30,
                   what="loopback SMS")
    assert got[0]["text"] == "R&D 95% #1 50%"


# --- the monitoring side ------------------------------------------------------------------------
class MonitoringCgi:
    """A stand-in for the monitoring server's smsack.cgi (test-only).

    It reads a post as the isms plugin does: the part after the last '&', minus 'XMLDATA=',
    with %XX decoded and nothing else, CR/LF turned into spaces; the document must start with an
    XML declaration; MessageNotification gives SenderNumber, Date, Time and Message. A message
    starting "ACK " names '<host>,<service>>' after the notification type and becomes an
    external command line; the answer is ACCEPTED."""

    def __init__(self, fail_first: int = 0) -> None:
        self.commands: list[str] = []
        self.posts = 0
        self.fail_first = fail_first
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.posts += 1
                if outer.posts <= outer.fail_first:
                    self._answer(503, b"busy")
                    return
                self._answer(200, outer.handle(data.decode("latin-1")).encode())

            def _answer(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/smsack.cgi"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, post: str) -> str:
        data = post[post.rfind("&") + 1:]
        data = data[len("XMLDATA="):] if data.startswith("XMLDATA=") else data
        raw = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), data)
        raw = raw.replace("\r", " ").replace("\n", " ")
        if not re.match(r"^\s*<\?xml .*>", raw, re.IGNORECASE):
            return "Invalid XML Format"
        note = ET.fromstring(raw.encode("latin-1"))
        fields = {child.tag: child.text or "" for child in note}
        message, sender = fields["Message"], fields["SenderNumber"]
        target = re.match(r"^\s*\S+\s+\S+\s+([^,>]+),*([^>]*)>", message)
        if not message.startswith("ACK ") or target is None:
            return "NOT ACCEPTED"
        host, service = target.group(1), target.group(2)
        self.commands.append(f"ACKNOWLEDGE_SVC_PROBLEM;{host};{service};1;1;1;{sender};"
                             f"Acknowledged by {sender} at {fields['Date']} {fields['Time']} "
                             f"{message}")
        return "ACCEPTED"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def plugin_urlencode(text: str) -> str:
    """The notification plugin encodes every character but letters and digits."""
    return "".join(c if c.isascii() and c.isalnum() else f"%{ord(c):02X}" for c in text)


def test_acknowledgement_workflow(make_daemon) -> None:  # type: ignore[no-untyped-def]
    cgi = MonitoringCgi(fail_first=2)
    try:
        d = make_daemon(ports=2).start()
        add_isms_user(d)
        smsd_cli(d, "route", "add", cgi.url, "--protocol", "isms")
        # 1. The monitoring system notifies the admin through the iSMS send API.
        alert = "PROBLEM web01,HTTP> is CRITICAL /2026-11-23 02:36/ connection refused"
        reply = get(d, f"/sendmsg?{creds()}&cat=1&to={ADMIN_PHONE}&text={plugin_urlencode(alert)}")
        ident = int(reply.removeprefix("ID: "))
        wait_for(lambda: get(d, f"/querymsg?{creds()}&apimsgid={ident}") == f"ID: {ident} Status: 0",
                 what="alert sent")
        # 2. The admin answers "ACK " + the alert; the box receives it on port 1.
        d.request("/sim/sms", ('{"port": 1, "from": "%s", "text": "ACK %s"}'
                               % (ADMIN_PHONE, alert)).encode())
        # 3. The routing rule forwards it in the iSMS protocol, retried until the CGI accepts it.
        wait_for(lambda: cgi.commands, timeout=40, what="acknowledgement at the monitoring CGI")
        command = cgi.commands[0]
        assert command.startswith(f"ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;1;1;1;{ADMIN_PHONE};")
        assert command.endswith(f"ACK {alert}")
        assert re.search(r" at \d\d/\d\d/\d\d \d\d:\d\d:\d\d ", command)
        assert cgi.posts == 3 and len(cgi.commands) == 1
    finally:
        cgi.close()


# --- polling receive ----------------------------------------------------------------------------
def recvmsg_texts(answer: str) -> list[str]:
    """The message lines of a /recvmsg answer (ASCII texts: six lines per message)."""
    lines = answer.split("\n")
    count = int(lines[2])
    assert len(lines) == 3 + 6 * count, answer
    return [lines[3 + 6 * i + 5] for i in range(count)]


def test_recvmsg_count_leaves_the_rest_for_the_next_poll(make_daemon) -> None:  # type: ignore[no-untyped-def]
    d = make_daemon(ports=1).start()
    add_isms_user(d)
    sent = ["disk full on db01", "web01 back up", "ACK db01,DISK> thanks"]
    for text in sent:
        status, _ = d.request("/sim/sms", json.dumps({"port": 0, "from": ADMIN_PHONE,
                                                      "text": text}).encode())
        assert status == 200
    wait_for(lambda: get(d, f"/querycount?{creds()}") == "Count: 3", timeout=30,
             what="three SMS received")
    first = get(d, f"/recvmsg?{creds()}&count=2")
    assert first.split("\n")[:2] == ["0", "1"]           # more packets waiting, unread shown
    got = recvmsg_texts(first)
    assert len(got) == 2
    assert get(d, f"/querycount?{creds()}") == "Count: 1"
    last = get(d, f"/recvmsg?{creds()}&count=2")
    assert last.split("\n")[:2] == ["1", "1"]
    got += recvmsg_texts(last)
    assert sorted(got) == sorted(sent)
    assert get(d, f"/querycount?{creds()}") == "Count: 0"
    assert get(d, f"/recvmsg?{creds()}&count=0") == "Err: 617"
