"""The SMPP 3.4 server end to end (issue 18 point 1): smpplib's client against the real daemon
on the simulated board, over loopback.

One daemon serves the module (`[smpp] listen` in a config file, two simulated ports); each test
binds its own connections. The throttling test slows the simulated ports down and comes last.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import struct
import subprocess
import time
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import smpplib.client
import smpplib.consts as C
from smpplib import exceptions

from e2e.harness import Daemon, reserved_port, smsd_cli, wait_for
from smsd.pdu import gsm7
from smsd.smpp import pdus

PW8 = "pw8chars"                  # 8 characters: binds with the user's own password
LONG_PW = "a-much-longer-password"
DEST = "+447700900123"            # not a simulated SIM: a delivery report comes back
DEST_FAIL = "+447700900000"       # ends in 0000: the simulated network reports failure


class Box:
    def __init__(self, d: Daemon, smpp_port: int, long_pw: str) -> None:
        self.d, self.smpp_port, self.long_pw = d, smpp_port, long_pw

    def client(self) -> smpplib.client.Client:
        c = smpplib.client.Client("127.0.0.1", self.smpp_port, timeout=10,
                                  allow_unknown_opt_params=True)
        c.connect()
        return c

    def raw(self) -> "Raw":
        return Raw(socket.create_connection(("127.0.0.1", self.smpp_port), timeout=10))


class Raw:
    """A bare ESME on a socket: PDUs from smpplib's classes (and our cancel_sm), read whole."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.seq = 0

    def send(self, name: str, **fields: Any) -> int:
        self.seq += 1
        self.sock.sendall(pdus.encode(pdus.make(name, sequence=self.seq, **fields)))
        return self.seq

    def read(self) -> Any:
        head = self._exact(4)
        if head is None:
            return None
        body = self._exact(struct.unpack(">L", head)[0] - 4)
        assert body is not None
        return pdus.decode(head + body)

    def _exact(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def bind(self, name: str, password: str, command: str = "bind_transceiver",
             system_type: str = "") -> int:
        self.send(command, system_id=name, password=password, system_type=system_type)
        return int(self.read().status)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("smpp")
    smpp_port = reserved_port()
    conf = root / "smsd.conf"
    conf.write_text(f"[smpp]\nlisten = 127.0.0.1:{smpp_port}\nmax_queue = 20\n")
    d = Daemon(str(root / "state"), ports=2, latency=0.05, extra=("--config", str(conf)))
    try:
        d.start()
        smsd_cli(d, "user", "add", "esme", "--password", PW8, "--perm", "smpp")
        smsd_cli(d, "user", "assign", "esme", "--ports", "0,1")
        smsd_cli(d, "user", "add", "longpw", "--password", LONG_PW, "--perm", "smpp")
        smsd_cli(d, "user", "add", "noperm", "--password", "pw", "--perm", "api:json")
        out = smsd_cli(d, "user", "smpp-password", "longpw")
        long_pw = out.split(": ", 1)[1].split()[0]
        yield Box(d, smpp_port, long_pw)
    finally:
        d.stop()
        log = "".join(d.output)
        at = log.find("Traceback")
        assert at < 0, log[max(0, at - 1500):at + 3000]


def bound(box: Box, name: str = "esme", password: str = PW8,
          how: str = "bind_transceiver") -> smpplib.client.Client:
    c = box.client()
    getattr(c, how)(system_id=name, password=password)
    return c


def read_until(c: smpplib.client.Client, command: str, timeout: float = 20.0) -> Any:
    """The next PDU named `command` (enquire links answered, anything else kept out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c._socket.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            pdu = c.read_pdu()
        except socket.timeout:
            break
        if pdu.command == command:
            return pdu
    raise AssertionError(f"timed out after {timeout}s waiting for {command}")


def submit(c: smpplib.client.Client, dest: str = DEST, **fields: Any) -> Any:
    fields.setdefault("short_message", b"hello")
    c.send_message(source_addr_ton=5, source_addr="shop", dest_addr_ton=1, dest_addr_npi=1,
                   destination_addr=dest.lstrip("+"), **fields)
    return read_until(c, "submit_sm_resp")


def message(box: Box, message_id: str) -> dict[str, Any]:
    """The message's row as the daemon committed it (read from its database file)."""
    db = sqlite3.connect(os.path.join(box.d.state_dir, "smsd.db"), timeout=10)
    try:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT m.*, t.text AS task_text, t.srr, t.dialect, t.data, t.udh "
                         "FROM messages m "
                         "JOIN tasks t ON t.id = m.task_id WHERE m.id = ?",
                         (int(message_id),)).fetchone()
        assert row is not None, f"message {message_id} is not in the database"
        return dict(row)
    finally:
        db.close()


def queued(box: Box, user: str) -> int:
    db = sqlite3.connect(os.path.join(box.d.state_dir, "smsd.db"), timeout=10)
    try:
        return int(db.execute("SELECT count(*) FROM smpp_queue WHERE user = ?",
                              (user,)).fetchone()[0])
    finally:
        db.close()


# --- binds ----------------------------------------------------------------------------------------
def test_bind_with_own_short_password(box: Box) -> None:
    for how in ("bind_transmitter", "bind_receiver", "bind_transceiver"):
        c = bound(box, how=how)
        assert c.unbind().command == "unbind_resp"
        c.disconnect()


def test_bad_password_refused_and_connection_dropped(box: Box) -> None:
    r = box.raw()
    assert r.bind("esme", "wrong") == C.SMPP_ESME_RINVPASWD
    assert r.read() is None                   # the server closed the connection
    r.close()


def test_user_without_smpp_permission_refused(box: Box) -> None:
    r = box.raw()
    assert r.bind("noperm", "pw") == C.SMPP_ESME_RBINDFAIL
    r.close()


def test_long_password_needs_the_smpp_password(box: Box) -> None:
    r = box.raw()
    assert r.bind("longpw", LONG_PW[:8]) == C.SMPP_ESME_RINVPASWD
    r.close()
    assert len(box.long_pw) == 8
    c = bound(box, "longpw", box.long_pw)
    resp = submit(c)
    assert resp.status == C.SMPP_ESME_ROK
    c.disconnect()


def test_commands_before_bind_and_twice_bound(box: Box) -> None:
    r = box.raw()
    r.send("submit_sm", destination_addr="447700900123", short_message=b"x")
    assert r.read().status == C.SMPP_ESME_RINVBNDSTS
    assert r.bind("esme", PW8) == C.SMPP_ESME_ROK
    assert r.bind("esme", PW8) == C.SMPP_ESME_RALYBND
    r.close()


# --- submissions ----------------------------------------------------------------------------------
def test_submit_gsm7_is_committed_before_the_answer(box: Box) -> None:
    c = bound(box)
    # GSM 03.38 septets, one an octet: "Hi @ £5 {" (0x00 is '@', 0x01 '£', 0x1B 0x28 '{')
    resp = submit(c, short_message=bytes([0x48, 0x69, 0x20, 0x00, 0x20, 0x01, 0x35, 0x20,
                                          0x1B, 0x28]), data_coding=0)
    assert resp.status == C.SMPP_ESME_ROK
    # the answer came after the commit: the message is in the database under that id
    row = message(box, pdus.text(resp.message_id))
    assert row["number"] == DEST and row["task_text"] == "Hi @ £5 {" and row["dialect"] == "smpp"
    wait_for(lambda: message(box, pdus.text(resp.message_id))["encoding"] == "gsm7",
             what="sent in GSM-7")
    c.disconnect()


def test_submit_ucs2(box: Box) -> None:
    c = bound(box)
    resp = submit(c, short_message="Привет 👋".encode("utf-16-be"), data_coding=8)
    assert resp.status == C.SMPP_ESME_ROK
    mid = pdus.text(resp.message_id)
    wait_for(lambda: message(box, mid)["encoding"] == "ucs2", what="ucs2 message encoded")
    c.disconnect()


def test_submit_8bit_with_a_port_udh(box: Box) -> None:
    c = bound(box)
    udh = bytes((6, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0))       # application ports 2948 <- 9200
    resp = submit(c, esm_class=0x40, data_coding=4, short_message=udh + b"\x01\x06\xff binary")
    assert resp.status == C.SMPP_ESME_ROK
    mid = pdus.text(resp.message_id)
    row = message(box, mid)
    assert row["data"] == b"\x01\x06\xff binary" and row["udh"] == udh[1:]
    wait_for(lambda: message(box, mid)["encoding"] == "8bit", what="sent as 8-bit")
    c.disconnect()


def test_submit_long_by_udh_sar_and_message_payload(box: Box) -> None:
    c = bound(box)
    text = ("This message is long enough to need three parts. " * 7)[:400]
    septets = text.encode("ascii")
    # UDH concatenation: both segments answered with the one message's id
    c.send_message(dest_addr_ton=1, dest_addr_npi=1, destination_addr=DEST[1:], esm_class=0x40,
                   short_message=bytes((5, 0, 3, 7, 2, 1)) + septets[:153])
    c.send_message(dest_addr_ton=1, dest_addr_npi=1, destination_addr=DEST[1:], esm_class=0x40,
                   short_message=bytes((5, 0, 3, 7, 2, 2)) + septets[153:300])
    a, b = read_until(c, "submit_sm_resp"), read_until(c, "submit_sm_resp")
    assert a.status == b.status == C.SMPP_ESME_ROK and a.message_id == b.message_id
    assert message(box, pdus.text(a.message_id))["count"] == 2
    # sar_* TLVs
    for seq, chunk in ((1, septets[:150]), (2, septets[150:300]), (3, septets[300:])):
        c.send_message(dest_addr_ton=1, dest_addr_npi=1, destination_addr=DEST[1:],
                       short_message=chunk, sar_msg_ref_num=300, sar_total_segments=3,
                       sar_segment_seqnum=seq)
    ids = {pdus.text(read_until(c, "submit_sm_resp").message_id) for _ in range(3)}
    assert len(ids) == 1 and message(box, ids.pop())["count"] == 3
    # message_payload: the whole text in one PDU
    resp = submit(c, short_message=None, message_payload=septets)
    assert resp.status == C.SMPP_ESME_ROK
    assert message(box, pdus.text(resp.message_id))["count"] == 3
    c.disconnect()


def test_bad_destination_and_reserved_registered_delivery(box: Box) -> None:
    c = bound(box)
    c.send_message(dest_addr_ton=5, destination_addr="shop", short_message=b"x")
    assert read_until(c, "submit_sm_resp").status == C.SMPP_ESME_RINVDSTADR
    assert submit(c, registered_delivery=3).status == C.SMPP_ESME_RINVREGDLVFLG
    c.disconnect()


def test_receipt_after_delivered_with_tlvs(box: Box) -> None:
    c = bound(box)
    resp = submit(c, registered_delivery=1, short_message=b"receipt please")
    mid = pdus.text(resp.message_id)
    dlr = read_until(c, "deliver_sm", timeout=30)
    c.send_pdu(_resp_to(c, dlr))
    assert dlr.esm_class == 0x04
    body = pdus.text(dlr.short_message)
    assert body.startswith(f"id:{mid} sub:001 dlvrd:001 submit date:"), body
    assert " stat:DELIVRD err:000 text:receipt please" in body
    assert pdus.text(dlr.receipted_message_id) == mid
    assert dlr.message_state == 2
    c.disconnect()


def test_receipt_of_a_failure_is_undeliv(box: Box) -> None:
    c = bound(box)
    resp = submit(c, DEST_FAIL, registered_delivery=2)
    mid = pdus.text(resp.message_id)
    dlr = read_until(c, "deliver_sm", timeout=30)
    c.send_pdu(_resp_to(c, dlr))
    assert pdus.text(dlr.receipted_message_id) == mid
    assert "stat:UNDELIV" in pdus.text(dlr.short_message)
    assert dlr.message_state == 5
    c.disconnect()


def test_receipt_waits_for_a_receiver_bind(box: Box) -> None:
    tx = bound(box, how="bind_transmitter")
    resp = submit(tx, registered_delivery=1, short_message=b"later")
    mid = pdus.text(resp.message_id)
    tx.unbind()
    tx.disconnect()
    wait_for(lambda: message(box, mid)["status"] == "DELIVERED", 30, what="delivered")
    time.sleep(0.5)                     # the receipt is queued by now, nobody bound to take it
    rx = bound(box, how="bind_receiver")
    dlr = read_until(rx, "deliver_sm", timeout=30)
    assert pdus.text(dlr.receipted_message_id) == mid
    rx.send_pdu(_resp_to(rx, dlr))
    rx.disconnect()


def test_unanswered_delivery_is_sent_again_at_the_next_bind(box: Box) -> None:
    status, _ = box.d.request("/sim/sms", b'{"port": 1, "from": "+447700900555", "text": "again"}',
                              method="POST", headers={"Content-Type": "application/json"})
    assert status == 200
    first = bound(box, how="bind_receiver")
    sms = read_until(first, "deliver_sm", timeout=30)
    assert pdus.text(sms.short_message) == "again"
    first._socket.close()                 # gone without a deliver_sm_resp
    second = bound(box, how="bind_receiver")
    again = read_until(second, "deliver_sm", timeout=30)
    assert pdus.text(again.short_message) == "again"
    second.send_pdu(_resp_to(second, again))
    second.unbind()
    second.disconnect()


def test_inbound_sms_long_reassembled_or_as_parts(box: Box) -> None:
    long_text = "A long inbound message " * 20
    status, _ = box.d.request("/sim/sms", ('{"port": 0, "from": "+447700900777", "text": "%s"}'
                                          % long_text).encode(),
                              method="POST", headers={"Content-Type": "application/json"})
    assert status == 200
    c = bound(box, how="bind_receiver")                 # reassembled, in message_payload
    sms = read_until(c, "deliver_sm", timeout=30)
    assert pdus.text(sms.source_addr) == "447700900777" and sms.source_addr_ton == 1
    assert pdus.text(sms.message_payload) == long_text
    c._socket.close()                                   # not acknowledged: still queued
    r = box.raw()                                       # this bind asks for UDH segments
    assert r.bind("esme", PW8, "bind_receiver", system_type="parts") == C.SMPP_ESME_ROK
    parts: list[Any] = []      # smpplib PDUs, untyped
    while len(parts) < 4:
        pdu = r.read()
        assert pdu is not None and pdu.command == "deliver_sm" and pdu.esm_class & 0x40
        parts.append(pdu)
    udhs = [p.short_message[:6] for p in parts]
    assert [u[5] for u in udhs] == [1, 2, 3, 4] and {u[4] for u in udhs} == {4}
    assert len({u[3] for u in udhs}) == 1                # one reference
    assert "".join(gsm7.from_septets(p.short_message[6:]) for p in parts) == long_text
    for p in parts:
        r.sock.sendall(pdus.encode(pdus.make("deliver_sm_resp", sequence=p.sequence)))
    wait_for(lambda: queued(box, "esme") == 0, what="the SMS acknowledged and dequeued")
    r.close()


# --- query, cancel, link, window ------------------------------------------------------------------
def test_query_sm(box: Box) -> None:
    c = bound(box)
    mid = pdus.text(submit(c).message_id)
    wait_for(lambda: message(box, mid)["status"] in ("SENT_OK", "DELIVERED"), 30, what="sent")
    r = box.raw()
    r.bind("esme", PW8)
    r.send("query_sm", message_id=mid)
    resp = r.read()
    assert resp.command == "query_sm_resp" and resp.status == 0
    assert pdus.text(resp.message_id) == mid and resp.message_state in (1, 2)
    r.send("query_sm", message_id="999999999")
    assert r.read().status == C.SMPP_ESME_RQUERYFAIL
    r.send("query_sm", message_id="\xb2")      # a superscript two: isdigit(), yet not int()
    assert r.read().status == C.SMPP_ESME_RQUERYFAIL
    r.close()
    c.disconnect()


def test_cancel_sm(box: Box) -> None:
    r = box.raw()
    r.bind("esme", PW8)
    # a sent message cannot be cancelled, nor a message that does not exist
    r.send("submit_sm", dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900124",
           short_message=b"sent")
    sent = pdus.text(r.read().message_id)
    wait_for(lambda: message(box, sent)["status"] != "SENDING", 30, what="sent")
    r.send("cancel_sm", message_id=sent)
    assert r.read().status == C.SMPP_ESME_RCANCELFAIL
    r.send("cancel_sm", message_id="nonsense")
    assert r.read().status == C.SMPP_ESME_RCANCELFAIL
    r.close()


def test_enquire_link_and_unknown_command(box: Box) -> None:
    r = box.raw()
    r.bind("esme", PW8)
    seq = r.send("enquire_link")
    resp = r.read()
    assert resp.command == "enquire_link_resp" and resp.sequence == seq
    r.sock.sendall(struct.pack(">LLLL", 16, 0x00000099, 0, 77))
    nack = r.read()
    assert nack.command == "generic_nack" and nack.status == C.SMPP_ESME_RINVCMDID
    assert nack.sequence == 77
    r.sock.sendall(struct.pack(">LLLL", 8, 0x00000015, 0, 78)[:8])   # command_length 8
    nack = r.read()
    assert nack.command == "generic_nack" and nack.status == C.SMPP_ESME_RINVCMDLEN
    assert r.read() is None                                         # then dropped
    r.close()


def test_a_half_closed_esme_still_gets_its_answers(box: Box) -> None:
    r = box.raw()
    r.bind("esme", PW8)
    seqs = [r.send("submit_sm", dest_addr_ton=1, dest_addr_npi=1,
                   destination_addr="447700900129", short_message=b"half") for _ in range(5)]
    r.sock.shutdown(socket.SHUT_WR)
    answers = [r.read() for _ in seqs]
    assert sorted(a.sequence for a in answers) == seqs
    assert all(a.status == C.SMPP_ESME_ROK for a in answers)
    assert r.read() is None                   # then the server closes
    for a in answers:
        assert message(box, pdus.text(a.message_id))["task_text"] == "half"
    r.close()


def test_window_of_ten_and_overrun(box: Box) -> None:
    r = box.raw()
    r.bind("esme", PW8)
    # ten first segments: each waits (in the window) for its message's second segment
    for ref in range(10):
        r.send("submit_sm", dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900125",
               esm_class=0x40, short_message=bytes((5, 0, 3, ref, 2, 1)) + b"first half ")
    seq = r.send("submit_sm", dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900125",
                 short_message=b"one too many")
    over = r.read()
    assert over.command == "submit_sm_resp" and over.status == C.SMPP_ESME_RTHROTTLED
    assert over.sequence == seq
    for ref in range(10):
        r.send("submit_sm", dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900125",
               esm_class=0x40, short_message=bytes((5, 0, 3, ref, 2, 2)) + b"second half")
    answers = [r.read() for _ in range(20)]
    assert all(a.status == C.SMPP_ESME_ROK for a in answers)
    assert len({pdus.text(a.message_id) for a in answers}) == 10
    r.close()


def test_zz_throttled_when_the_queue_is_full(box: Box) -> None:
    for port in (0, 1):
        status, _ = box.d.request("/sim/fault", b'{"port": %d, "submit_time": 3}' % port,
                                  method="POST", headers={"Content-Type": "application/json"})
        assert status == 200
    r = box.raw()
    r.bind("esme", PW8)
    # three messages on two slow ports: the third waits, so it can be cancelled
    ids = []
    for _ in range(3):
        r.send("submit_sm", dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900128",
               short_message=b"cancel me")
        ids.append(pdus.text(r.read().message_id))
    r.send("cancel_sm", message_id=ids[-1])
    assert r.read().status == C.SMPP_ESME_ROK
    assert message(box, ids[-1])["reason"] == "stopped"
    statuses = []
    for _ in range(30):
        r.send("submit_sm", dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900126",
               short_message=b"flood")
        statuses.append(r.read().status)
    assert C.SMPP_ESME_ROK in statuses and C.SMPP_ESME_RTHROTTLED in statuses
    assert set(statuses) == {C.SMPP_ESME_ROK, C.SMPP_ESME_RTHROTTLED}
    r.close()
    for port in (0, 1):
        box.d.request("/sim/fault", b'{"port": %d, "submit_time": null}' % port, method="POST",
                      headers={"Content-Type": "application/json"})


def _resp_to(c: smpplib.client.Client, pdu: Any) -> Any:
    resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=c)
    resp.sequence = pdu.sequence
    return resp


# --- fuzzing: random and mutated PDUs over a socket -----------------------------------------------
VALID = [pdus.encode(pdus.make(name, sequence=9, **fields)) for name, fields in (
    ("submit_sm", {"destination_addr": "447700900127", "dest_addr_ton": 1, "short_message": b"fz",
                   "sar_msg_ref_num": 1, "sar_total_segments": 1, "sar_segment_seqnum": 1}),
    ("submit_sm", {"destination_addr": "447700900127", "esm_class": 0x40,
                   "short_message": bytes((5, 0, 3, 1, 2, 1)) + b"fz"}),
    ("query_sm", {"message_id": "1"}),
    ("cancel_sm", {"message_id": "1"}),
    ("deliver_sm_resp", {}),
    ("bind_transceiver", {"system_id": "esme", "password": "x"}),
)]


@st.composite
def garbage(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    frame = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 6))):
        how = draw(st.sampled_from(("flip", "cut", "grow", "length")))
        if how == "flip" and frame:
            frame[draw(st.integers(0, len(frame) - 1))] = draw(st.integers(0, 255))
        elif how == "cut":
            frame = frame[:draw(st.integers(0, len(frame)))]
        elif how == "grow":
            frame += draw(st.binary(max_size=40))
        elif len(frame) >= 4:
            frame[:4] = struct.pack(">L", draw(st.integers(0, 2 ** 32 - 1)))
    return bytes(frame)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=garbage())
def test_fuzzed_pdus_never_stick_a_bind(box: Box, data: bytes) -> None:
    r = box.raw()
    assert r.bind("esme", PW8) == C.SMPP_ESME_ROK
    try:
        r.sock.sendall(data + pdus.encode(pdus.make("enquire_link", sequence=4242)))
        r.sock.shutdown(socket.SHUT_WR)       # half-closed: the server must finish and close
    except OSError:                           # it already closed (a length it cannot frame)
        pass
    r.sock.settimeout(15)
    while True:
        try:
            pdu = r.read()
        except ConnectionResetError:
            break
        if pdu is None:
            break                             # the server closed: nothing stuck
    r.close()
    again = box.raw()                         # and it still serves the next connection
    assert again.bind("esme", PW8) == C.SMPP_ESME_ROK
    again.send("enquire_link")
    assert again.read().command == "enquire_link_resp"
    again.close()


def test_a_taken_smpp_port_stops_the_start_in_one_line(tmp_path: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        conf = tmp_path / "smsd.conf"
        conf.write_text(f"[smpp]\nlisten = 127.0.0.1:{port}\n")
        d = Daemon(str(tmp_path / "state"), ports=1, extra=("--config", str(conf)))
        out = subprocess.run(d.args, capture_output=True, text=True, timeout=60, env=d.env)
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr


def test_a_user_disabled_while_bound_loses_the_bind(box: Box) -> None:
    smsd_cli(box.d, "user", "add", "gone", "--password", "gone-pw", "--perm", "smpp")
    tx, rx = box.raw(), box.raw()
    assert tx.bind("gone", "gone-pw", "bind_transmitter") == C.SMPP_ESME_ROK
    assert rx.bind("gone", "gone-pw", "bind_receiver") == C.SMPP_ESME_ROK
    smsd_cli(box.d, "user", "disable", "gone")     # another process: no listener hears it
    time.sleep(1.1)
    tx.send("submit_sm", dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900130",
            short_message=b"no longer")
    assert tx.read().status == C.SMPP_ESME_RINVBNDSTS
    assert tx.read() is None
    assert rx.read() is None                   # the receiver's bind is dropped too
    tx.close()
    rx.close()


def test_zz_bad_binds_are_throttled(box: Box) -> None:
    """Last (it blocks binds from this address for a while): the service's login throttle."""
    smsd_cli(box.d, "user", "add", "victim", "--password", "victim-pw", "--perm", "smpp")
    for _ in range(12):
        r = box.raw()
        assert r.bind("victim", "guess") == C.SMPP_ESME_RINVPASWD
        r.close()
    r = box.raw()
    assert r.bind("victim", "victim-pw") == C.SMPP_ESME_RINVPASWD     # blocked, right or wrong
    r.close()
    assert "blocked" in "".join(box.d.output).lower() or "throttl" in "".join(box.d.output).lower()
