"""A hostile pass over the surfaces added lately (docs/security.md): one real daemon on a
simulated board, strangers and users who reach past what is theirs, over real sockets. Each row
of the denial table is a refusal checked against the running daemon, whether it held before the
review or was opened by it (the SMTP listener's forged senders, a `ports` user making provider
connections, URL templates whose host a message could choose).
"""
from __future__ import annotations

import base64
import http.client
import http.server
import smtplib
import socket
import sqlite3
import threading
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import smpplib.consts as C

from e2e.drp_harness import Client as DrpClient, Relay, box as drp_box, drp, relay_raw
from e2e.harness import ADMIN_PW, Daemon, reserved_port, smsd_cli, wait_for
from e2e.test_smpp import Raw
from smsd.connections.base import Outgoing
from smsd.connections.http_client import HttpClientConnection
from smsd.connections.smtp import SmtpConnection

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from console_front import Client  # noqa: E402

PW = "pw8chars"
LONG_PW = "longer-than-eight"
pytestmark = pytest.mark.xdist_group("denials")     # one daemon (and one relay) for the module
DEST = "447700900123"


class Box:
    def __init__(self, d: Daemon, smpp_port: int, smtp_port: int) -> None:
        self.d, self.smpp_port, self.smtp_port = d, smpp_port, smtp_port

    def raw(self) -> Raw:
        return Raw(socket.create_connection(("127.0.0.1", self.smpp_port), timeout=10))

    def json(self, user: str, call: str, query: str = "", obj: Any = None) -> dict[str, Any]:
        return self.d.api(call, obj, query=query, auth=(user, PW))

    def ozeki(self, user: str, action: str, **params: str) -> str:
        query = urllib.parse.urlencode({"action": action, "username": user,
                                        "password": ADMIN_PW if user == "admin" else PW,
                                        **params})
        status, body = self.d.request(f"/api?{query}")
        assert status == 200, body
        return body.decode()

    def tasks(self, dialect: str) -> list[tuple[str, str]]:
        db = sqlite3.connect(str(Path(self.d.state_dir) / "smsd.db"), timeout=10)
        try:
            return [(r[0], r[1]) for r in db.execute(
                "SELECT user, text FROM tasks WHERE dialect = ? ORDER BY id", (dialect,))]
        finally:
            db.close()


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("denials")
    smpp_port, smtp_port = reserved_port(), reserved_port()
    conf = root / "smsd.conf"
    conf.write_text(f"[smpp]\nlisten = 127.0.0.1:{smpp_port}\n")
    d = Daemon(str(root / "state"), ports=2, latency=0.05, extra=("--config", str(conf)))
    try:
        d.start()
        for name, perms in (("alice", "api:json,api:ozeki,smpp,web"), ("bob", "api:json,smpp"),
                            ("porter", "api:json,api:ozeki,ports,web"),
                            ("nosmpp", "api:json"), ("dave", "smpp"),
                            ("mailer", "email"), ("plain", "api:json")):
            smsd_cli(d, "user", "add", name, "--password", PW, "--perm", perms)
        smsd_cli(d, "user", "add", "longpw", "--password", LONG_PW, "--perm", "smpp")
        smsd_cli(d, "user", "assign", "alice", "--ports", "0")
        smsd_cli(d, "user", "assign", "bob", "--ports", "1")
        smsd_cli(d, "user", "disable", "dave")
        box = Box(d, smpp_port, smtp_port)
        for user in ("alice", "bob", "porter"):      # each a trusted pair of the address now,
            box.json(user, "get_port_info", "port=0")    # so the strangers' failures below
        open_smtp(box)                                   # cannot block them (smsd/throttle.py)
        with smtp_client(smtp_port) as c:
            c.login("mailer", PW)
        yield box
    finally:
        d.stop()
        log = "".join(d.output)
        at = log.find("Traceback")
        assert at < 0, log[max(0, at - 1500):at + 3000]


# --- SMPP ---------------------------------------------------------------------------------------
def bound(box: Box, user: str) -> Raw:
    raw = box.raw()
    assert raw.bind(user, PW) == 0
    return raw


def submitted(raw: Raw) -> str:
    raw.send("submit_sm", source_addr_ton=5, source_addr="shop", dest_addr_ton=1,
             dest_addr_npi=1, destination_addr=DEST, short_message=b"mine",
             registered_delivery=1)
    resp = raw.read()
    assert resp.command == "submit_sm_resp" and resp.status == 0, resp
    return resp.message_id.decode() if isinstance(resp.message_id, bytes) else resp.message_id


@pytest.mark.parametrize("user", ["dave", "nosmpp", "nobody"])
def test_smpp_bind_refused_to_disabled_users_users_without_smpp_and_strangers(
        box: Box, user: str) -> None:
    raw = box.raw()
    try:
        assert raw.bind(user, PW) != 0
    finally:
        raw.close()


@pytest.mark.parametrize("password", [LONG_PW[:8], LONG_PW[:9], LONG_PW])
def test_smpp_a_long_password_never_binds_cut_or_whole(box: Box, password: str) -> None:
    """A bind carries 8 characters: a user with a longer password binds with an SMPP password
    of its own, never with the first 8 characters of the real one (nor anything longer)."""
    raw = box.raw()
    try:
        assert raw.bind("longpw", password) != 0
    except (OSError, AttributeError):
        pass                                    # closed without an answer: refused too
    finally:
        raw.close()


def test_smpp_a_bind_cannot_query_or_cancel_another_users_message(box: Box) -> None:
    alice, bob = bound(box, "alice"), bound(box, "bob")
    try:
        mid = submitted(alice)
        bob.send("query_sm", message_id=mid, source_addr="shop", source_addr_ton=5)
        assert bob.read().status == C.SMPP_ESME_RQUERYFAIL
        bob.send("cancel_sm", message_id=mid, source_addr="shop", source_addr_ton=5,
                 destination_addr=DEST)
        assert bob.read().status == C.SMPP_ESME_RCANCELFAIL
        alice.send("query_sm", message_id=mid, source_addr="shop", source_addr_ton=5)
        assert alice.read().status == 0          # the owner still may
    finally:
        alice.close()
        bob.close()


def smpp_queue(box: Box, user: str, kind: str) -> int:
    db = sqlite3.connect(str(Path(box.d.state_dir) / "smsd.db"), timeout=10)
    try:
        return int(db.execute("SELECT count(*) FROM smpp_queue WHERE user = ? AND kind = ?",
                              (user, kind)).fetchone()[0])
    finally:
        db.close()


def test_smpp_inbound_and_receipts_wait_only_for_their_own_user(box: Box) -> None:
    alice = bound(box, "alice")
    try:
        submitted(alice)
    finally:
        alice.close()
    status, _ = box.d.request("/sim/sms", b'{"port": 1, "from": "+447700900555", '
                              b'"text": "for bob"}', method="POST",
                              headers={"Content-Type": "application/json"})
    assert status == 200
    wait_for(lambda: smpp_queue(box, "bob", "sms") >= 1, what="bob's received SMS queued")
    wait_for(lambda: smpp_queue(box, "alice", "receipt") >= 1, what="alice's receipt queued")
    assert smpp_queue(box, "alice", "sms") == 0         # port 1 is not hers
    assert smpp_queue(box, "bob", "receipt") == 0       # nor her receipts his
    assert smpp_queue(box, "porter", "sms") == 0        # no smpp permission: nothing waits


def test_smpp_one_address_cannot_hold_every_connection_without_binding(box: Box) -> None:
    """Before, 64 idle sockets from one stranger shut everyone out of SMPP (for 30 s each,
    longer when trickling bytes); now an address holds at most 4 connections not bound yet."""
    def from_other(source: str) -> socket.socket:
        s = socket.socket()
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", box.smpp_port))
        return s

    idle = [from_other("127.0.0.2") for _ in range(4)]
    try:
        extra = from_other("127.0.0.2")
        assert extra.recv(1) == b""                       # closed at once, nothing said
        extra.close()
        ok = bound(box, "alice")                          # another address still binds
        ok.close()
    finally:
        for s in idle:
            s.close()

    def binds_again() -> bool:
        raw = Raw(from_other("127.0.0.2"))
        try:
            raw.send("bind_transceiver", system_id="alice", password=PW, system_type="")
            answer = raw.read()
            return answer is not None and answer.status == 0
        except OSError:
            return False
        finally:
            raw.close()
    wait_for(binds_again, what="the address to bind again once its idle sockets closed")


# --- SMTP e-mail to SMS -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smtp(box: Box) -> int:
    return box.smtp_port


def open_smtp(box: Box) -> None:
    """An SMTP connection receiving e-mail to SMS, SENDERS naming the admin and `mailer`."""
    box.ozeki("admin", "createdriver", type="SMTP", name="mail")
    box.ozeki("admin", "configdriver", name="mail", LISTEN=f"127.0.0.1:{box.smtp_port}",
              MAILDOMAIN="box.example.org", SENDERS="boss@example.com=admin, "
              "mailer@example.com=mailer")
    assert "Connection started" in box.ozeki("admin", "startdriver", name="mail")


def smtp_client(port: int) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", port, timeout=10)


def test_smtp_a_forged_envelope_sender_sends_nothing(box: Box, smtp: int) -> None:
    with smtp_client(smtp) as c:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            c.sendmail("boss@example.com", [f"+{DEST}@box.example.org"], b"\r\nforged\r\n")
        assert refused.value.smtp_code == 530
    assert box.tasks("smtp") == []


@pytest.mark.parametrize("user,password", [("plain", PW), ("mailer", "wrong-pw"),
                                           ("nobody", PW)])
def test_smtp_auth_needs_the_email_permission_and_the_password(
        smtp: int, user: str, password: str) -> None:
    with smtp_client(smtp) as c:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            c.login(user, password)


def test_smtp_an_authenticated_user_sends_as_themself_from_their_own_address(
        box: Box, smtp: int) -> None:
    with smtp_client(smtp) as c:
        c.login("mailer", PW)
        with pytest.raises(smtplib.SMTPSenderRefused):     # the admin's address is not theirs
            c.sendmail("boss@example.com", [f"+{DEST}@box.example.org"], b"\r\nas admin\r\n")
    with smtp_client(smtp) as c:
        c.login("mailer", PW)
        c.sendmail("mailer@example.com", [f"+{DEST}@box.example.org"],
                   b"Subject: s\r\n\r\nfrom mailer\r\n")
    assert box.tasks("smtp") == [("mailer", "from mailer")]


def test_smtp_without_login_the_mapped_user_still_needs_the_email_permission(box: Box) -> None:
    port = reserved_port()
    box.ozeki("admin", "createdriver", type="SMTP", name="open")
    box.ozeki("admin", "configdriver", name="open", LISTEN=f"127.0.0.1:{port}", MAILAUTH="off",
              SENDERS="plain@example.com=plain, mailer@example.com=mailer")
    assert "Connection started" in box.ozeki("admin", "startdriver", name="open")
    try:
        with smtp_client(port) as c:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                c.sendmail("plain@example.com", [f"+{DEST}@x.org"], b"\r\nno email perm\r\n")
            assert refused.value.smtp_code == 554
            c.sendmail("mailer@example.com", [f"+{DEST}@x.org"], b"\r\nmapped mailer\r\n")
    finally:
        box.ozeki("admin", "stopdriver", name="open")
    assert ("plain", "no email perm") not in box.tasks("smtp")
    assert ("mailer", "mapped mailer") in box.tasks("smtp")


class AnyLogin:
    """An Inbound that would let anyone log in and take any mail (what must not be reached)."""
    taken: list[str] = []

    def mail(self, connection: str, user: str, numbers: list[str], text: str) -> None:
        self.taken.append(text)

    def mail_login(self, user: str, password: str, remote: str) -> bool:
        return True

    def received(self, *args: Any) -> None: ...

    def receipt(self, *args: Any) -> None: ...


def test_smtp_off_loopback_offers_no_auth_in_the_clear_so_takes_nothing() -> None:
    port = reserved_port()
    inbound = AnyLogin()
    conn = SmtpConnection("m", {"LISTEN": f"0.0.0.0:{port}"}, inbound)
    conn.start()
    try:
        assert "refusing all" in conn.status().detail
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            c.ehlo()
            assert not c.has_extn("auth")
            with pytest.raises(smtplib.SMTPSenderRefused):
                c.sendmail("x@example.com", [f"{DEST}@x.org"], b"\r\nplain text login\r\n")
    finally:
        conn.stop()
    assert inbound.taken == []


# --- provider connections -----------------------------------------------------------------------
@pytest.mark.parametrize("action,params", [
    ("createdriver", {"type": "HTTPClient", "name": "mine"}),
    ("configdriver", {"name": "mail", "SENDERS": "x@example.com=admin", "MAILAUTH": "off"}),
    ("deletedriver", {"name": "mail"}),
])
def test_only_an_admin_makes_or_changes_provider_connections(
        box: Box, smtp: int, action: str, params: dict[str, str]) -> None:
    body = box.ozeki("porter", action, **params)
    status = ET.fromstring(body.split("\n", 2)[2]).find(".//statuscode")
    assert status is not None and status.text != "0", body
    assert "mine" not in box.ozeki("admin", "listdrivers")
    assert "MAILAUTH>on<" in box.ozeki("admin", "listdrivers").replace("<mailauth>", "MAILAUTH>")


def test_http_server_connection_refuses_a_wrong_secret(box: Box) -> None:
    box.ozeki("admin", "createdriver", type="HTTPServer", name="hs")
    box.ozeki("admin", "startdriver", name="hs")
    assert "no SECRET: anyone" in box.ozeki("admin", "listdrivers")   # says it is open
    box.ozeki("admin", "stopdriver", name="hs")
    box.ozeki("admin", "configdriver", name="hs", SECRET="s3cret-value")
    box.ozeki("admin", "startdriver", name="hs")
    status, _ = box.d.request("/connections/hs?secret=guess", b"originator=1&msg=x",
                              method="POST")
    assert status in (403, 429)
    status, _ = box.d.request("/connections/hs", b"originator=1&msg=x", method="POST")
    assert status in (403, 429)


def test_http_client_values_cannot_choose_the_host_or_add_parameters() -> None:
    msg = Outgoing(id=7, number="+447700900123", text="a&to=999#@evil.example/x", sender="")
    conn = HttpClientConnection("web", {"TARGETURL": "http://provider.example/send?to="
                                        "$recipient&text=$messagetext"}, None)  # type: ignore
    [(url, _)] = conn.requests(msg)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert urllib.parse.urlsplit(url).hostname == "provider.example"
    assert query == {"to": ["+447700900123"], "text": ["a&to=999#@evil.example/x"]}
    raw = HttpClientConnection("web", {"TARGETURL": "http://$messagetext/send",
                                       "NOURLENCODING": "on"}, None)  # type: ignore
    raw.start()
    outcome = raw.submit(Outgoing(id=8, number="+447700900123", text="127.0.0.1:22", sender=""))
    assert not outcome.ok and "host" in outcome.reason


class Recorder(http.server.BaseHTTPRequestHandler):
    """A loopback HTTP server: keeps each request's path and Authorization; answers 302 to
    `location` when set, else 200."""
    seen: list[tuple[str, str]] = []
    location = ""

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        self.send_response(302 if self.location else 200)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def serve(location: str = "") -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (Recorder,), {"seen": [], "location": location})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_http_client_follows_no_redirect_of_the_provider() -> None:
    inner = serve()                                  # e.g. a service on the box's loopback
    provider = serve(f"http://127.0.0.1:{inner.server_port}/internal")
    try:
        conn = HttpClientConnection("web", {
            "TARGETURL": f"http://127.0.0.1:{provider.server_port}/send?to=$recipient",
            "HTTPAUTHORIZATIONMETHOD": "Basic", "HTTPAUTHORIZATIONUSER": "box",
            "HTTPAUTHORIZATIONPASSWORD": "provider-secret"}, None)  # type: ignore[arg-type]
        conn.start()
        outcome = conn.submit(Outgoing(id=9, number="+447700900123", text="hi", sender=""))
        assert not outcome.ok and "302" in outcome.reason
        assert len(provider.RequestHandlerClass.seen) == 1           # type: ignore[attr-defined]
        assert inner.RequestHandlerClass.seen == []                  # type: ignore[attr-defined]
    finally:
        for server in (inner, provider):
            server.shutdown()
            server.server_close()


def test_a_url_template_whose_host_is_a_variable_is_refused(box: Box) -> None:
    box.ozeki("admin", "createdriver", type="HTTPClient", name="web")
    body = box.ozeki("admin", "configdriver", name="web",
                     TARGETURL="http://$recipient.example.org/send?text=$messagetext")
    assert "<statuscode>0</statuscode>" not in body and "host" in body, body


# --- ports, calls, STK --------------------------------------------------------------------------
DENIED_JSON: list[tuple[str, str]] = [
    ("get_cdr", "port=1"),                                            # bob's port
    ("get_cdr", ""),                                                  # every port's
    ("set_port_info", "port=0&action=CallForward&param=Unconditional&number=+447700900999"),
    ("set_port_info", "port=1&action=CallForward&param=Unconditional&number=+447700900999"),
    ("set_port_info", "port=0&action=imei&param=356938035643809"),
    ("set_port_info", "port=0&action=number&param=+447700900111"),
    ("set_port_info", "port=1&action=block"),
]


@pytest.mark.parametrize("call,query", DENIED_JSON)
def test_json_port_and_call_routes_refuse_a_user_without_port_control(
        box: Box, call: str, query: str) -> None:
    reply = box.json("alice", call, query)
    assert reply["error_code"] == 403, reply


@pytest.mark.parametrize("request_", [
    lambda d: d.request("/GetSTKView?port=1", auth=("alice", PW)),
    lambda d: d.request("/GetSTKCurrFrameIndex?port=1", auth=("alice", PW)),
    lambda d: d.request("/STKGo", b'{"port": 1, "item": 1}', auth=("alice", PW),
                        headers={"Content-Type": "application/json"}),
    lambda d: d.request("/GetSTKView?port=0", auth=("nobody", PW)),
])
def test_stk_routes_refuse_other_users_ports_and_strangers(
        box: Box, request_: Callable[[Daemon], tuple[int, bytes]]) -> None:
    status, body = request_(box.d)
    assert status in (401, 403) or b'"error_code":403' in body.replace(b" ", b"") \
        or b'"error_code":401' in body.replace(b" ", b""), (status, body)


# --- console pages, /health ---------------------------------------------------------------------
@pytest.mark.parametrize("path,fields", [
    ("/routing/forward", {"fwd_numbers": "+447700900999", "fwd_owner": "alice", "fwd_port": "1",
                          "fwd_rate": "10", "fwd_sender": "", "fwd_keyword": ""}),
    ("/routing/rule", {"prefix": "+44", "target1": "conn:mail"}),
])
def test_routing_page_is_an_admins(box: Box, path: str, fields: dict[str, str]) -> None:
    host, port = box.d.base.removeprefix("http://").split(":")
    c = Client(host, int(port))
    assert c.login("porter", PW).status == 303
    assert c.post(path, fields).status == 403
    assert c.get("/routing").status == 403


@pytest.fixture(autouse=True)
def _daemon_alive(box: Box) -> Iterator[None]:
    yield
    assert box.d.proc is not None and box.d.proc.poll() is None, "".join(box.d.output)[-3000:]


@pytest.mark.parametrize("path,fields", [
    ("/ports/action", {"port": "1", "action": "power_off"}),
    ("/ports/block", {"port": "1", "slot": "0", "blocked": "1"}),
    ("/ports/sim", {"port": "1", "slot": "0", "number": "+447700900111"}),
    ("/ports/settings", {"port": "1"}),
])
def test_ports_page_needs_port_control(box: Box, path: str, fields: dict[str, str]) -> None:
    host, port = box.d.base.removeprefix("http://").split(":")
    c = Client(host, int(port))
    assert c.login("alice", PW).status == 303           # web, port 0 assigned, no `ports`
    assert c.get("/ports").status == 403
    assert c.post(path, fields).status == 403


def from_address(box: Box, source: str, path: str, auth: tuple[str, str] | None = None
                 ) -> tuple[int, bytes]:
    """GET `path` from another loopback address (as the remote relay's requests come)."""
    host, port = box.d.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    headers = {}
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    try:
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@pytest.mark.parametrize("auth", [None, ("plain", PW), ("nobody", PW)])
def test_metrics_from_another_address_need_the_metrics_permission(
        box: Box, auth: tuple[str, str] | None) -> None:
    status, body = from_address(box, "127.0.0.2", "/metrics", auth)
    assert status in (401, 403) and b"smsd_" not in body, (status, body[:200])


def test_stranger_health(box: Box) -> None:
    status, body = box.d.request("/health", auth=("nobody", "x"))
    assert (status, body) == (200, b"ok\n")


# --- the remote relay (smsd drp-server) -----------------------------------------------------------
class Tunnel:
    def __init__(self, relay: Relay, d: Daemon) -> None:
        self.relay, self.d = relay, d


@pytest.fixture(scope="module")
def tunnel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tunnel]:
    root = tmp_path_factory.mktemp("relay")
    relay = Relay(str(root / "relay"))
    drp(relay.state_dir, "user", "add", "owner", "--password", "owner-pw")
    drp(relay.state_dir, "user", "add", "other", "--password", "other-pw")
    relay.start()
    d = drp_box(str(root / "box" / "state"), relay, "owner", ports=1)
    try:
        d.start()
        wait_for(lambda: (d.api("get_status").get("remote") or {}).get("connected"), 20,
                 interval=0.2, what="box connected to the relay")
        yield Tunnel(relay, d)
    finally:
        d.stop()
        relay.stop()


def test_relay_session_fixation_another_account_and_a_forged_cookie(tunnel: Tunnel) -> None:
    sn = tunnel.d.sn  # type: ignore[attr-defined]
    c = DrpClient(tunnel.relay)
    c.cookie = "DRPSESSION=chosen-by-the-attacker"
    assert c.login("owner", "owner-pw") == 200
    assert c.cookie.startswith("DRPSESSION=") and "chosen-by-the-attacker" not in c.cookie
    c.cookie = "DRPSESSION=chosen-by-the-attacker"               # the planted one is no session
    assert c.choose(sn) == 401
    c.close()
    other = DrpClient(tunnel.relay)
    assert other.login("other", "other-pw") == 200
    assert other.choose(sn) == 404                               # not this account's device
    assert other.api("get_status")[0] == 409
    other.close()


def test_relay_conflicting_framing_smuggles_nothing_to_the_box(tunnel: Tunnel) -> None:
    sn = tunnel.d.sn  # type: ignore[attr-defined]
    c = DrpClient(tunnel.relay)
    assert c.login("owner", "owner-pw") == 200 and c.choose(sn) == 200
    hidden = b"GET /api/smuggled HTTP/1.1\r\nHost: box\r\n\r\n"
    for framing in (b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % (5 + len(hidden)),
                    b"Content-Length: 5\r\nContent-Length: %d\r\n" % (5 + len(hidden)),
                    b"Transfer-Encoding: gzip, chunked\r\n"):
        request = (b"POST /api/get_status HTTP/1.1\r\nHost: relay\r\nCookie: "
                   + c.cookie.encode() + b"\r\nConnection: close\r\n" + framing
                   + b"\r\n0\r\n\r\n" + hidden)
        answer = relay_raw(tunnel.relay, request)
        assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    # A request after them reaches the box and is logged: once its line is there, so would be
    # a smuggled one's (the box writes a busy stretch's INFO lines up to 20 ms late)
    c.request("GET", "/api/get_status?after-the-framings")
    wait_for(lambda: any("after-the-framings" in line for line in tunnel.d.output),
             what="the box's access line of the request after them")
    c.close()
    assert not any("smuggled" in line for line in tunnel.d.output), "".join(tunnel.d.output)
