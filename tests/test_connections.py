"""Connections to providers (smsd/connections, svc.connections, docs/connections.md): segments and
templates, the SMPP client's PDUs and its reconnection against a small SMSC on loopback, the
dispatcher with the scheduler (a connection first, the GSM ports as the rule's next tier), the
store's claims across a restart, settings validation, and the SMTP listener's refusals.
"""
from __future__ import annotations

import smtplib
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from connection_fakes import Provider
from e2e.harness import reserved_port, wait_for
from fakes import ready_info
from smsd.connections import segments
from smsd.connections.base import Outgoing, Received, Receipt
from smsd.connections.http_client import HttpClientConnection, fill
from smsd.connections.manager import ConnectionManager
from smsd.connections.smpp_client import SmppConnection, receipt_of, received_of
from smsd.connections.smtp import SmtpConnection, mail_text
from smsd.errors import AuthError, BadRequest, NotFound, Throttled
from smsd.model import ModemJob, PortInfo, Recipient, SendRequest
from smsd.modem.jobs import SendPart
from smsd.routing import CONNECTION_BASE, Connection, OutboundRule, PortGroup, route
from smsd.scheduler import Scheduler
from smsd.smpp import pdus
from smsd.service import Service
from smsd.service.ports import UnsupportedConnection
from smsd.store import Store


# --- segments and templates ---------------------------------------------------------------------
def test_a_long_gsm_message_is_cut_into_parts_with_a_concatenation_udh() -> None:
    enc = segments.split("x" * 152 + "€" + "y" * 10, ref=7)
    assert enc.dcs == segments.DC_DEFAULT and len(enc.segments) == 2
    first, second = enc.segments
    assert first.udh == bytes([5, 0, 3, 7, 2, 1]) and second.udh == bytes([5, 0, 3, 7, 2, 2])
    assert len(first.ud) == 152                  # the escape pair of € is not split
    assert segments.concat_of(second.udh) == (7, 2, 2)
    short = segments.split("hello")
    assert short.segments[0].udh == b"" and short.whole == b"hello"


def test_ucs2_and_binary() -> None:
    enc = segments.split("ж" * 70)
    assert enc.dcs == segments.DC_UCS2 and len(enc.segments) == 1
    emoji = segments.split("😀" * 36)                   # 144 octets of surrogate pairs
    assert len(emoji.segments) == 2 and all(len(s.ud) % 4 == 0 for s in emoji.segments)
    assert "".join(s.ud.decode("utf-16-be") for s in emoji.segments) == "😀" * 36
    data = segments.split("", data=b"\x01\x02", udh=b"\x05\x04\x0b\x84\x23\xf0")
    assert data.dcs == segments.DC_BINARY and data.segments[0].udh == b"\x06\x05\x04\x0b\x84\x23\xf0"
    assert segments.decode(8, "é".encode("utf-16-be")) == "é"


def test_templates_fill_every_variable_url_encoded() -> None:
    values = {"recipient": "+4477", "originator": "shop", "messagedata": "a b&c",
              "messageid": "9", "udhHEX": "050003", "udHEX": "41", "dcsHEX": "00",
              "pidHEX": "00", "messagetype": "SMS:TEXT", "messagetext": "a b&c"}
    url = fill("http://h/s?r=$recipient &o=$originator&m=$messagedata&i=$messageid"
               "&u=$udhHEX&d=$udHEX&c=$dcsHEX&p=$pidHEX&t=$messagetype", values)
    assert url == ("http://h/s?r=%2B4477&o=shop&m=a%20b%26c&i=9&u=050003&d=41&c=00&p=00"
                   "&t=SMS%3ATEXT")
    assert fill("x=$messagedata", values, encode=False) == "x=a b&c"


def test_http_answers_are_judged_by_respsuccess_and_respfailed() -> None:
    conn = HttpClientConnection("h", {"RESPSUCCESS": r"OK id=(\w+)", "RESPFAILED": "ERR"}, None)  # type: ignore[arg-type]
    assert conn.judge(200, "OK id=ab12").remote_id == "ab12"
    assert not conn.judge(200, "ERR OK id=1").ok
    assert not conn.judge(200, "accepted").ok
    plain = HttpClientConnection("h", {}, None)  # type: ignore[arg-type]
    assert plain.judge(204, "").ok and not plain.judge(500, "").ok


def test_post_sends_the_query_as_the_body() -> None:
    conn = HttpClientConnection("h", {"TARGETURL": "http://h/send?to=$recipient&m=$messagedata",
                                      "REQUESTMETHOD": "Post"}, None)  # type: ignore[arg-type]
    [(url, body)] = conn.requests(Outgoing(1, "+44", "hi there", ""))
    assert url == "http://h/send" and body == "to=%2B44&m=hi%20there"


# --- SMPP PDUs ----------------------------------------------------------------------------------
def test_submits_use_sar_udh_or_message_payload_as_set() -> None:
    msg = Outgoing(300, "+447700900001", "z" * 200, "shop")
    sar = SmppConnection("s", {"USESAR": "on"}, None).submits(msg)  # type: ignore[arg-type]
    assert [f["sar_segment_seqnum"] for f in sar] == [1, 2] and sar[0]["sar_msg_ref_num"] == 300
    assert sar[0]["destination_addr"] == "447700900001" and sar[0]["dest_addr_ton"] == 1
    assert sar[0]["source_addr_ton"] == 5 and sar[0]["registered_delivery"] == 1
    udh = SmppConnection("s", {"USESAR": "off"}, None).submits(msg)  # type: ignore[arg-type]
    assert udh[0]["esm_class"] == 0x40 and udh[0]["short_message"][:3] == b"\x05\x00\x03"
    whole = SmppConnection("s", {"USETLVMESSAGEPAYLOAD": "on"}, None).submits(msg)  # type: ignore[arg-type]
    assert len(whole) == 1 and whole[0]["message_payload"] == b"z" * 200


class _Pdu:
    """A deliver_sm as smpplib parses one: attributes by field name."""

    def __init__(self, **fields: Any) -> None:
        self.esm_class, self.data_coding, self.source_addr_ton = 0, 0, 1
        self.source_addr, self.destination_addr = b"447700900555", b"4411"
        self.short_message = b""
        self.__dict__.update(fields)


def test_receipts_and_received_messages_are_read() -> None:
    text = b"id:42 sub:001 dlvrd:001 submit date:2401010000 done date:2401010000 stat:DELIVRD err:000"
    assert receipt_of(_Pdu(esm_class=4, short_message=text)) == Receipt("42", True, "DELIVRD")
    assert receipt_of(_Pdu(esm_class=4, short_message=text.replace(b"DELIVRD", b"UNDELIV"),
                           receipted_message_id=b"43")) == Receipt("43", False, "UNDELIV")
    assert receipt_of(_Pdu(esm_class=4, short_message=b"id:1 stat:ENROUTE")) is None
    part = received_of(_Pdu(esm_class=0x40, short_message=b"\x05\x00\x03\x09\x02\x01hel"), "")
    assert part == Received("+447700900555", "4411", "hel", part.sent, (9, 2, 1))


# A small SMSC on loopback, written with the SMPP server's PDU helpers (smpplib's classes): it binds anyone, answers each
# submit_sm with the id "m<n>" and a receipt, and drops the first connection after its bind.
class Smsc:
    def __init__(self, drop_first: bool = False, garbage_first: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.binds: list[str] = []
        self.submits: list[Any] = []
        self.drop_first = drop_first
        self.garbage_first = garbage_first
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn: socket.socket) -> Any:
        head = conn.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            return None
        body = conn.recv(struct.unpack(">L", head)[0] - 4, socket.MSG_WAITALL)
        return pdus.decode(head + body)

    @staticmethod
    def _send(conn: socket.socket, name: str, seq: int, **fields: Any) -> None:
        conn.sendall(pdus.encode(pdus.make(name, sequence=seq, **fields)))

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._serve_one(conn)
        except OSError:
            pass                             # the client went away: the test is over

    def _serve_one(self, conn: socket.socket) -> None:
        with conn:
            while True:
                pdu = self._read(conn)
                if pdu is None:
                    return
                if pdu.command.startswith("bind_"):
                    self.binds.append(pdu.command)
                    self._send(conn, pdu.command + "_resp", pdu.sequence, system_id="smsc")
                    if self.drop_first and len(self.binds) == 1:
                        return
                    if self.garbage_first and len(self.binds) == 1:
                        conn.sendall(b"\xff\xff\xff\xf0" + b"\0" * 64)   # 4 GiB claimed
                elif pdu.command == "submit_sm":
                    self.submits.append(pdu)
                    mid = f"m{len(self.submits)}"
                    self._send(conn, "submit_sm_resp", pdu.sequence, message_id=mid)
                    self._send(conn, "deliver_sm", 1000 + len(self.submits), esm_class=4,
                               source_addr="447700900001", destination_addr="shop",
                               short_message=f"id:{mid} stat:DELIVRD err:000".encode())
                elif pdu.command == "enquire_link":
                    self._send(conn, "enquire_link_resp", pdu.sequence)

    def close(self) -> None:
        self.sock.close()


class Collect:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.receipts: list[Receipt] = []

    def received(self, connection: str, message: Received) -> None:
        self.messages.append(message)

    def receipt(self, connection: str, receipt: Receipt) -> None:
        self.receipts.append(receipt)


def test_smpp_client_binds_again_after_losing_the_bind_and_gets_receipts() -> None:
    smsc, inbound = Smsc(drop_first=True), Collect()
    conn = SmppConnection("up", {"HOST": "127.0.0.1", "PORT": str(smsc.port), "SYSTEMID": "me",
                                 "SMPPPASSWORD": "pw", "MODE": "Transmitter"}, inbound)
    conn.start()
    try:
        wait_for(lambda: len(smsc.binds) == 2 and conn.status().up, what="the second bind")
        assert smsc.binds == ["bind_transmitter", "bind_transmitter"]
        outcome = conn.submit(Outgoing(5, "+447700900001", "hello", "shop"))
        assert outcome.ok and outcome.remote_id == "m1"
        assert smsc.submits[0].short_message == b"hello"
        wait_for(lambda: inbound.receipts, what="the receipt")
        assert inbound.receipts == [Receipt("m1", True, "DELIVRD")]
    finally:
        conn.stop()
        smsc.close()
    assert not conn.submit(Outgoing(6, "+447700900001", "x", "")).on_air   # unbound: waits


def test_a_pdu_claiming_a_huge_length_drops_the_bind_and_it_binds_again() -> None:
    smsc = Smsc(garbage_first=True)
    conn = SmppConnection("g", {"HOST": "127.0.0.1", "PORT": str(smsc.port)}, Collect())
    conn.start()
    try:
        wait_for(lambda: len(smsc.binds) == 2 and conn.status().up, what="a new bind")
        assert conn.submit(Outgoing(1, "+447700900001", "ok", "")).remote_id == "m1"
    finally:
        conn.stop()
        smsc.close()


def test_an_unreachable_smsc_is_retried_with_growing_waits() -> None:
    port = reserved_port()
    conn = SmppConnection("down", {"HOST": "127.0.0.1", "PORT": str(port)}, Collect())
    conn.start()
    try:
        wait_for(lambda: "again in 2 s" in conn.status().detail, what="the second wait")
        assert not conn.status().up
    finally:
        conn.stop()


# --- routing, dispatch and the store -----------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self, port: int) -> None:
        self.port = port
        self.jobs: list[ModemJob] = []

    @property
    def info(self) -> PortInfo:
        return ready_info(self.port)

    def submit(self, job: ModemJob) -> None:
        self.jobs.append(job)


class Rig:
    def __init__(self, path: Path) -> None:
        self.clock = Clock()
        self.store = Store(str(path))
        self.sched = Scheduler(self.store, depth=20, clock=self.clock)
        self.workers = {p: Recorder(p) for p in range(2)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers, clock=self.clock)
        self.manager = ConnectionManager(self.svc.connections.rows, self.svc.connections,
                                         clock=self.clock, on_unable=self.sched.reread)
        self.svc.connections.attach(self.manager)
        self.sched.connection_able = self.manager.able

    def send(self, number: str, text: str = "hi") -> int:
        accepted = self.svc.sending.send_sms(SendRequest(text, (Recipient(number),)))
        return accepted.message_ids[0]

    def status(self, message_id: int) -> str:
        row = self.store.db.conn().execute("SELECT status, stage FROM messages WHERE id = ?",
                                           (message_id,)).fetchone()
        return f"{row[0]}/{row[1]}"

    def handed(self) -> int:
        self.sched.dispatch_once()
        return sum(isinstance(j, SendPart) for w in self.workers.values() for j in w.jobs)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path / "db.sqlite")
    yield r
    r.manager.stop()
    r.store.close()


def test_route_puts_a_connection_tier_beside_port_groups() -> None:
    rule = OutboundRule(1, 1, "+44", "", "", (Connection("up"), PortGroup("g")))
    decision = route([rule], {"g": (0, 1)}, "+4477", None, "json", requested=None, allowed=None,
                     connections={"up": CONNECTION_BASE + 3})
    assert decision.tiers == ((CONNECTION_BASE + 3,), (0, 1))
    named = route([rule], {"g": (0, 1)}, "+4477", None, "json", requested=[1], allowed=None,
                  connections={"up": CONNECTION_BASE + 3})
    assert named.tiers == ((1,),)                # a request naming ports wants those ports


def test_connection_first_then_the_ports_while_it_is_stopped(rig: Rig) -> None:
    provider = Provider()
    try:
        rig.svc.connections.create("HTTPClient", "web")
        rig.svc.connections.configure("web", {
            "TARGETURL": f"http://127.0.0.1:{provider.port}/s?to=$recipient&m=$messagedata",
            "RESPSUCCESS": r"OK id=(\w+)"})
        rig.svc.routing.set_group("gsm", [0])
        rig.svc.routing.add_outbound(["conn:web", "gsm"], prefix="+44")
        rig.svc.connections.run("web", True)
        first = rig.send("+447700900001", "via web")
        wait_for(lambda: rig.status(first) == "SENT_OK/2", what="the HTTP send")
        assert rig.handed() == 0 and provider.paths == ["/s?to=%2B447700900001&m=via%20web"]
        assert rig.svc.connections.rows.state(first) == ("sent", "P1", "")
        # The connection reports its receipts: DELIVERED, with a delivery report row.
        rig.svc.connections.receipt("web", Receipt("P1", True, "DELIVRD"))
        assert rig.status(first) == "DELIVERED/2"
        rig.svc.connections.run("web", False)
        second = rig.send("+447700900002", "via gsm")
        assert rig.handed() == 1                     # the rule's next tier: port 0
        assert rig.workers[0].jobs and rig.status(second) == "SENDING/1"
    finally:
        provider.close()


def test_messages_a_connection_sends_do_not_fill_the_schedulers_look_ahead(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smsd.scheduler.LOOKAHEAD", 3)
    provider = Provider()
    try:
        rig.svc.connections.create("HTTPClient", "web")
        rig.svc.connections.configure("web", {
            "TARGETURL": f"http://127.0.0.1:{provider.port}/s?to=$recipient"})
        rig.svc.routing.add_outbound(["conn:web"], prefix="+4477")
        rig.svc.connections.run("web", True)
        wait_for(lambda: rig.svc.connections.info("web").up, what="the connection")
        sent = [rig.send(f"+44770090010{i}") for i in range(4)]
        assert rig.handed() == 0
        wait_for(lambda: all(rig.status(m) == "SENT_OK/2" for m in sent), what="the sends")
        other = rig.send("+33600000001")            # no rule: any port
        assert rig.handed() == 1 and rig.status(other) == "SENDING/1"
    finally:
        provider.close()


def test_an_unreachable_provider_rests_and_the_next_tier_takes_its_messages(rig: Rig) -> None:
    closed = reserved_port()                         # nothing listens there
    rig.svc.connections.create("HTTPClient", "web")
    rig.svc.connections.configure("web", {"TARGETURL": f"http://127.0.0.1:{closed}/s"})
    rig.svc.routing.set_group("gsm", [1])
    rig.svc.routing.add_outbound(["conn:web", "gsm"], prefix="+44")
    rig.svc.connections.run("web", True)
    wait_for(lambda: rig.svc.connections.info("web").up, what="the connection")
    msg = rig.send("+447700900009")
    assert rig.handed() == 0                         # the connection's, while it is able
    wait_for(lambda: "unreachable" in rig.svc.connections.info("web").detail, what="a rest")
    assert rig.svc.connections.rows.state(msg) is None and rig.status(msg) == "SENDING/0"
    assert rig.handed() == 1 and rig.workers[1].jobs  # the rule's next tier: port 1


def test_a_request_may_name_a_connection_as_its_port(rig: Rig) -> None:
    provider = Provider()
    try:
        made = rig.svc.connections.create("HTTPClient", "web")
        rig.svc.connections.configure("web", {
            "TARGETURL": f"http://127.0.0.1:{provider.port}/s?to=$recipient"})
        rig.svc.connections.run("web", True)
        with pytest.raises(BadRequest, match="no port"):
            rig.svc.sending.send_sms(SendRequest("x", (Recipient("+3312"),),
                                                 ports=(made.number + 1,)))
        accepted = rig.svc.sending.send_sms(SendRequest("named", (Recipient("+3312"),),
                                                        ports=(made.number,)))
        msg = accepted.message_ids[0]
        assert rig.handed() == 0
        wait_for(lambda: rig.status(msg) == "SENT_OK/2", what="the send")
        assert provider.paths == ["/s?to=%2B3312"]
    finally:
        provider.close()


def test_without_a_next_tier_a_message_waits_for_its_connection(rig: Rig) -> None:
    rig.svc.connections.create("HTTPClient", "web")
    rig.svc.connections.configure("web", {"TARGETURL": "http://127.0.0.1:9/s?to=$recipient"})
    rig.svc.routing.add_outbound(["conn:web"], prefix="+44")
    msg = rig.send("+447700900003")          # accepted while the connection is stopped
    assert rig.handed() == 0 and rig.status(msg) == "SENDING/0"
    rig.svc.connections.run("web", True)     # nothing listens on port 9: never reached it
    time.sleep(0.8)
    assert rig.status(msg) == "SENDING/0" and rig.svc.connections.rows.state(msg) is None


def test_deleting_a_connection_leaves_no_message_waiting_for_it(rig: Rig) -> None:
    made = rig.svc.connections.create("HTTPClient", "web")
    rig.svc.routing.set_group("gsm", [0])
    rig.svc.routing.add_outbound(["conn:web", "gsm"], prefix="+44")
    falls_back = rig.send("+447700900011")
    only = rig.svc.sending.send_sms(SendRequest("x", (Recipient("+3312"),),
                                                ports=(made.number,))).message_ids[0]
    rig.svc.routing.delete_outbound(rig.svc.routing.outbound()[0].id)
    rig.svc.connections.delete("web")
    assert rig.status(only) == "FAILED/2"
    assert rig.handed() == 1 and rig.status(falls_back) == "SENDING/1"


def test_a_claim_on_the_air_at_a_restart_is_unknown(rig: Rig, tmp_path: Path) -> None:
    rig.svc.connections.create("SMTP", "mail")
    rig.svc.routing.add_outbound(["conn:mail"], prefix="+44")
    msg = rig.send("+447700900004")
    row = rig.svc.connections.rows.get("mail")
    assert row is not None
    assert rig.svc.connections.rows.claim(msg, row.id, CONNECTION_BASE + row.id, rig.clock())
    assert not rig.svc.connections.rows.claim(msg, row.id, CONNECTION_BASE + row.id, 0.0)
    again = ConnectionManager(rig.svc.connections.rows, rig.svc.connections)
    again.start()
    again.stop()
    assert rig.status(msg) == "UNKNOWN/2"           # outcome unknown (docs/durability.md)
    assert rig.svc.connections.rows.state(msg)[0] == "failed"  # type: ignore[index]


def test_http_server_posts_go_to_the_inbox_and_wrong_secrets_are_throttled(rig: Rig) -> None:
    rig.svc.connections.create("HTTPServer", "hs")
    rig.svc.connections.configure("hs", {"SECRET": "k", "PARAMNAMEORIGINATOR": "from"})
    with pytest.raises(NotFound):
        rig.svc.connections.http_post("hs", {"secret": "k"})        # not started
    rig.svc.connections.run("hs", True)
    post = {"from": "+447700900010", "msg": "hello", "secret": "k"}
    answer = rig.svc.connections.http_post("hs", post, remote="10.0.0.1")
    inbox = rig.store.db.conn().execute("SELECT id, port, number, text FROM inbound").fetchall()
    assert answer == f"Message was accepted id: {inbox[0][0]}"
    assert inbox[0][1:] == (CONNECTION_BASE + 1, "+447700900010", "hello")
    with pytest.raises(BadRequest, match="originator"):
        rig.svc.connections.http_post("hs", {"msg": "x", "secret": "k"}, remote="10.0.0.1")
    for _ in range(5):
        with pytest.raises(AuthError) as refused:
            rig.svc.connections.http_post("hs", dict(post, secret="guess"), remote="10.0.0.9")
        assert not isinstance(refused.value, Throttled)
    with pytest.raises(Throttled):                  # even the right secret, from there, now
        rig.svc.connections.http_post("hs", post, remote="10.0.0.9")


def test_settings_are_checked_before_anything_is_stored(rig: Rig) -> None:
    with pytest.raises(UnsupportedConnection, match="UCP is not supported"):
        rig.svc.connections.create("ucp")
    made = rig.svc.connections.create("smpp")
    assert made.name == "SMPP0" and made.kind == "SMPP" and not made.running
    with pytest.raises(BadRequest, match="NOPE"):
        rig.svc.connections.configure("SMPP0", {"HOST": "h", "NOPE": "1"})
    with pytest.raises(BadRequest, match="on or off"):
        rig.svc.connections.configure("SMPP0", {"USESAR": "maybe"})
    with pytest.raises(BadRequest, match="TCP port"):      # '²' passes isdigit(), not int()
        rig.svc.connections.configure("SMPP0", {"PORT": "\u00b2"})
    assert rig.svc.connections.info("SMPP0").settings["HOST"] == "127.0.0.1"
    done = rig.svc.connections.configure("SMPP0", {"host": "smsc", "SMPPPASSWORD": "x",
                                                   "LOGMAXFILESIZE": "1"})
    assert done.used == {"HOST": "smsc", "SMPPPASSWORD": "x"}
    assert done.no_effect == {"LOGMAXFILESIZE": "1"}
    assert done.info.settings["SMPPPASSWORD"] == "********"
    with pytest.raises(BadRequest, match="exists"):
        rig.svc.connections.create("HTTPClient", "GSMModem0")     # a modem port's name
    rig.svc.routing.add_outbound(["conn:SMPP0"])
    with pytest.raises(BadRequest, match="outbound rule"):
        rig.svc.connections.delete("SMPP0")
    with pytest.raises(BadRequest, match="no connection"):
        rig.svc.routing.add_outbound(["conn:nope"])
    with pytest.raises(NotFound):
        rig.svc.connections.run("nope", True)


# --- SMTP ---------------------------------------------------------------------------------------
class Mails(Collect):
    def __init__(self) -> None:
        super().__init__()
        self.mails: list[tuple[str, list[str], str]] = []

    def mail(self, connection: str, user: str, numbers: list[str], text: str) -> None:
        if text == "refuse me":
            raise BadRequest("no credit left")
        self.mails.append((user, numbers, text))

    def mail_login(self, user: str, password: str, remote: str) -> bool:
        return (user, password) == ("ops", "ops-pw")


def test_the_smtp_listener_takes_permitted_senders_only() -> None:
    """MAILAUTH off: SENDERS alone decides (an explicit choice; see the next test)."""
    port = reserved_port()
    inbound = Mails()
    conn = SmtpConnection("m", {"LISTEN": f"127.0.0.1:{port}", "RECEIVE": "on",
                                "MAILDOMAIN": "box.lan", "SENDERS": "ops@x.org=ops",
                                "MAILAUTH": "off"}, inbound)
    conn.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.sendmail("OPS@x.org", ["+447700900001@box.lan", "447700900002@box.lan"],
                          b"Subject: s\r\nContent-Type: text/plain\r\n\r\nalarm 3\r\n")
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("ops@x.org", ["447700900001@elsewhere.org"], b"\r\nx\r\n")
            with pytest.raises(smtplib.SMTPDataError, match="no credit"):
                smtp.sendmail("ops@x.org", ["447700900001@box.lan"], b"\r\nrefuse me\r\n")
            with pytest.raises(smtplib.SMTPSenderRefused):
                smtp.sendmail("eve@x.org", ["447700900001@box.lan"], b"\r\nx\r\n")
    finally:
        conn.stop()
    assert inbound.mails == [("ops", ["+447700900001", "447700900002"], "alarm 3")]
    assert mail_text(b"Subject: only a subject\r\n\r\n") == "only a subject"


def test_the_smtp_listener_wants_a_login_by_default() -> None:
    port = reserved_port()
    inbound = Mails()
    conn = SmtpConnection("m", {"LISTEN": f"127.0.0.1:{port}", "MAILDOMAIN": "box.lan"}, inbound)
    conn.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            with pytest.raises(smtplib.SMTPSenderRefused, match="Authentication required"):
                smtp.sendmail("ops@x.org", ["447700900001@box.lan"], b"\r\nforged\r\n")
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login("ops", "guess")
            smtp.login("ops", "ops-pw")
            smtp.sendmail("anyone@x.org", ["447700900001@box.lan"], b"\r\nsigned in\r\n")
    finally:
        conn.stop()
    assert inbound.mails == [("ops", ["447700900001"], "signed in")]


def test_sms_to_email_logs_in_when_smtpauth_is_on() -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    got: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(envelope.original_content or b"")
            return "250 OK"

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"box", b"pw")
        return AuthResult(success=ok)

    port = reserved_port()
    sink = Controller(Sink(), hostname="127.0.0.1", port=port, authenticator=check,
                      auth_require_tls=False)
    sink.start()
    # SUBMITTIMEOUT 1: the sink leaves a failed AUTH unanswered, the TLS one a clear client.
    settings = {"SMTPSERVER": "127.0.0.1", "SMTPPORT": str(port), "SMTPAUTH": "on",
                "SUBMITTIMEOUT": "1",
                "USERNAMESMTP": "box", "PASSWORDSMTP": "pw", "MAILFROM": "sms@box.lan",
                "MAILTO": "$recipient@mail.lan", "MAILSUBJECT": "SMS $messageid from $originator",
                "MAILBODY": "$messagetext"}
    try:
        conn = SmtpConnection("m", settings, Mails())
        conn.start()
        assert conn.submit(Outgoing(7, "+4477", "body text", "shop")).ok
        assert b"Subject: SMS 7 from shop" in got[0] and b"To: 4477@mail.lan" in got[0]
        wrong = SmtpConnection("w", dict(settings, PASSWORDSMTP="no"), Mails())
        wrong.start()
        refused = wrong.submit(Outgoing(8, "+4477", "x", ""))
        assert not refused.ok and "SMTP" in refused.reason and len(got) == 1
    finally:
        sink.stop()


def test_a_configuration_backup_carries_the_connections(tmp_path: Path) -> None:
    from smsd.store import backup
    from smsd.store.connections import Connections as Rows
    a = Store(str(tmp_path / "a.db"))
    try:
        Rows(a.db, a.events, a.outbox).add("up", "SMPP", {"HOST": "smsc.lan"}, 1.0)
        a.backup(str(tmp_path / "cfg.smsdbak"), config_only=True)
    finally:
        a.close()
    Store(str(tmp_path / "b.db")).close()
    backup.restore(str(tmp_path / "cfg.smsdbak"), str(tmp_path / "b.db"))
    b = Store(str(tmp_path / "b.db"))
    try:
        [row] = Rows(b.db, b.events, b.outbox).all()
        assert (row.name, row.kind, row.settings) == ("up", "SMPP", {"HOST": "smsc.lan"})
    finally:
        b.close()


def test_sms_to_email_over_tls_from_the_first_byte(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime
    import ipaddress

    from aiosmtpd.controller import Controller

    from smsd.system.tls import make_self_signed, server_context

    cert, key = make_self_signed("mail.test", [], [ipaddress.ip_address("127.0.0.1")],
                                 datetime.datetime.now(datetime.timezone.utc))
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))   # the box trusts it
    got: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(envelope.original_content or b"")
            return "250 OK"

    port = reserved_port()
    sink = Controller(Sink(), hostname="127.0.0.1", port=port,
                      ssl_context=server_context(str(tmp_path / "cert.pem"),
                                                 str(tmp_path / "key.pem")))
    sink.start()
    settings = {"SMTPSERVER": "127.0.0.1", "SMTPPORT": str(port), "SMTPSSL": "on",
                "SUBMITTIMEOUT": "1",
                "MAILFROM": "sms@box.lan", "MAILTO": "$recipient@mail.lan",
                "MAILSUBJECT": "$messagetext", "MAILBODY": "$messagetext"}
    try:
        conn = SmtpConnection("tls", settings, Mails())
        conn.start()
        assert conn.submit(Outgoing(9, "+4478", "over TLS", "")).ok
        assert b"over TLS" in got[0]
        plain = SmtpConnection("plain", dict(settings, SMTPSSL="off"), Mails())
        plain.start()
        assert not plain.submit(Outgoing(10, "+4478", "in clear", "")).ok
    finally:
        sink.stop()

