"""The `SMPP` connection: an ESME bound to a provider's SMSC, with smpplib's client and PDUs.

Theory of operation. One thread per connection owns the bind: it connects (from BINDTOHOSTIP /
BINDTOPORT when set), binds as MODE says (transmitter, receiver or transceiver) with SYSTEMID,
SMPPPASSWORD, SYSTEMTYPE, BINDTON/BINDNPI and ADDRESSRANGE, then reads PDUs until the socket fails;
a read that times out (KEEPALIVEPERIOD) sends enquire_link. When the bind is lost or refused it
waits 1, 2, 4 ... seconds (at most RECONNECTMAX) and binds again (at once after a bind that
lasted STABLE seconds).

`submit` runs on the dispatcher's thread: it writes each segment's submit_sm (under the send
lock, which also numbers the sequence) and waits up to SUBMITTIMEOUT for the reader thread to
hand it the submit_sm_resp. The message is accepted when every segment is; its id is the last
segment's (an SMSC that reassembles, as smsd's own server does, gives all segments one id).
While unbound nothing is written and the outcome says so (`on_air` False): the message waits.

deliver_sm: a delivery receipt (esm_class 0x04; receipted_message_id, else the receipt text's
id:) goes to `Inbound.receipt`, anything else to `Inbound.received` (parts with their UDH
concatenation, which the inbox reassembles). A deliver_sm is answered only after the callback
returned; if it raised, the answer is ESME_RX_T_APPN so the SMSC delivers it again: never lost.
"""
from __future__ import annotations

import logging
import re
import socket
import struct
import threading
import time
from typing import Any

from smpplib import client as smpp_client
from smpplib import consts, exceptions, smpp
from smpplib.command import Command

from smsd.connections import segments
from smsd.connections.base import (Inbound, Outcome, Outgoing, Received, Receipt, Status,
                                   number_or, on)

log = logging.getLogger(__name__)
# smpplib's own logger warns at every ordinary close ("disconnecting in the bound state");
# what matters is logged here, in the connection's words.
LIBRARY_LOG = "smsd.connections.smpplib"
logging.getLogger(LIBRARY_LOG).setLevel(logging.ERROR)

ESM_RECEIPT = 0x04
ESM_UDHI = 0x40
ESME_RX_T_APPN = 0x64
FINAL_OK = ("DELIVRD",)
FINAL_BAD = ("UNDELIV", "EXPIRED", "DELETED", "REJECTD", "UNKNOWN")
STABLE = 30.0                # seconds a bind must last for the next one to come without a wait
MAX_PDU = 64 * 1024          # a longer command_length is a broken (or hostile) SMSC: drop the bind
_RECEIPT_ID = re.compile(rb"\bid:(\S+)")
_RECEIPT_STAT = re.compile(rb"\bstat:(\w+)")
BIND = {"transmitter": "bind_transmitter", "receiver": "bind_receiver",
        "transceiver": "bind_transceiver"}
TON = {"": None, "unknown": 0, "international": 1, "national": 2, "network": 3,
       "subscriber": 4, "alphanumeric": 5, "abbreviated": 6}


def _ton(value: str, default: int) -> int:
    value = value.strip().lower()
    if value.isascii() and value.isdigit():       # '²' passes isdigit() alone, not int()
        return int(value)
    found = TON.get(value)
    return default if found is None else found


class _Sequences:
    """smpplib's sequence generator with a lock: both threads number the PDUs they make."""

    MAX = 0x7FFFFFFF

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    @property
    def sequence(self) -> int:
        return self._last

    def next_sequence(self) -> int:
        with self._lock:
            self._last = self._last % self.MAX + 1
            return self._last


class _Client(smpp_client.Client):   # type: ignore[misc]
    """smpplib's client with one lock around writing (two threads write: the reader answers
    enquire_link and deliver_sm, the dispatcher submits) and an optional local address."""

    def __init__(self, host: str, port: int, timeout: float, local: tuple[str, int] | None
                 ) -> None:
        super().__init__(host, port, timeout=timeout, allow_unknown_opt_params=True,
                         sequence_generator=_Sequences(), logger_name=LIBRARY_LOG)
        self.write_lock = threading.RLock()
        self._local = local

    def _create_socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        if self._local is not None:
            sock.bind(self._local)
        return sock

    def send_pdu(self, p: Command) -> bool:
        with self.write_lock:
            return bool(super().send_pdu(p))

    def read_pdu(self) -> Command:
        """smpplib's read_pdu with the command_length checked before the body is read (its
        own reads whatever length the peer claims, up to 4 GiB)."""
        head = self._recv_exact(4)
        length = struct.unpack(">L", head)[0]
        if not 16 <= length <= MAX_PDU:
            raise exceptions.PDUError(f"command_length {length} from the SMSC")
        pdu = smpp.parse_pdu(head + self._recv_exact(length - 4), client=self,
                             allow_unknown_opt_params=True)
        if not pdu.is_error() and pdu.command in consts.STATE_SETTERS:
            self.state = consts.STATE_SETTERS[pdu.command]
        return pdu


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.status: int | None = None
        self.message_id = ""


class SmppConnection:
    kind = "SMPP"

    def __init__(self, name: str, settings: dict[str, str], inbound: Inbound) -> None:
        self.name = name
        self.s = settings
        self.inbound = inbound
        self.mode = settings.get("MODE", "Transceiver").strip().lower()
        if self.mode not in BIND:
            self.mode = "transceiver"
        self._client: _Client | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._detail = "not started"
        self._up = False

    # --- life -------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"conn-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            if on(self.s.get("SENDUNBIND", "off")) and self._up:
                try:
                    client.send_pdu(smpp.make_pdu("unbind", client=client))
                except (exceptions.ConnectionError, exceptions.PDUError, OSError):
                    pass
            self._close(client)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._detail = "stopped"

    def status(self) -> Status:
        return Status(self._up and self.mode != "receiver", self._detail)

    def _run(self) -> None:
        delay = 1.0
        most = float(number_or(self.s.get("RECONNECTMAX", "60"), 60, 1, 3600))
        while not self._stop.is_set():
            try:
                client = self._bind()
            except Exception as exc:    # noqa: BLE001 - whatever the SMSC did, bind again later
                self._detail = f"bind failed, again in {delay:.0f} s: {exc or 'refused'}"
                log.warning("connection %s: %s", self.name, self._detail)
                self._stop.wait(delay)
                delay = min(delay * 2, most)
                continue
            began = time.monotonic()
            self._serve(client)
            # A bind that lasted is bound again at once; one the SMSC drops at once (a broken
            # or hostile peer) waits as a refused bind does, so it is never a busy loop.
            if time.monotonic() - began > STABLE:
                delay = 1.0
            else:
                self._stop.wait(delay)
                delay = min(delay * 2, most)

    def _bind(self) -> _Client:
        host = self.s.get("HOST", "127.0.0.1").strip()
        port = number_or(self.s.get("PORT", "9876"), 9876, 1, 65535)
        local_ip = self.s.get("BINDTOHOSTIP", "0.0.0.0").strip() or "0.0.0.0"
        local_port = number_or(self.s.get("BINDTOPORT", "0"), 0, 0, 65535)
        local = None if (local_ip, local_port) == ("0.0.0.0", 0) else (local_ip, local_port)
        keepalive = number_or(self.s.get("KEEPALIVEPERIOD", "30"), 30, 1, 3600)
        client = _Client(host, port, float(keepalive), local)
        client.set_message_received_handler(self._deliver_sm)
        client.set_message_sent_handler(self._submit_resp)
        client.set_error_pdu_handler(self._error_pdu)
        self._client = client
        try:
            client.connect()
            getattr(client, BIND[self.mode])(
                system_id=self.s.get("SYSTEMID", ""), password=self.s.get("SMPPPASSWORD", ""),
                system_type=self.s.get("SYSTEMTYPE", ""),
                interface_version=0x34,
                addr_ton=_ton(self.s.get("BINDTON", ""), 0),
                addr_npi=number_or(self.s.get("BINDNPI", ""), 0, 0, 18),
                address_range=self.s.get("ADDRESSRANGE", ""))
        except BaseException:
            self._close(client)
            raise
        return client

    def _serve(self, client: _Client) -> None:
        self._up = True
        self._detail = f"bound ({self.mode}) to {client.host}:{client.port}"
        log.info("connection %s: %s", self.name, self._detail)
        keepalive = on(self.s.get("KEEPALIVEREQUEST", "on"))
        try:
            while not self._stop.is_set():
                client.read_once(auto_send_enquire_link=keepalive)
                if client.state == consts.SMPP_CLIENT_STATE_OPEN:
                    raise exceptions.ConnectionError("unbound by the SMSC")
        except socket.timeout:
            self._detail = "no answer from the SMSC"
        except Exception as exc:        # noqa: BLE001 - a broken SMSC: drop the bind, bind again
            if not self._stop.is_set():
                self._detail = f"bind lost: {exc or 'connection closed'}"
                log.warning("connection %s: %s", self.name, self._detail)
        finally:
            self._up = False
            self._close(client)
            self._fail_pending()

    @staticmethod
    def _close(client: _Client) -> None:
        sock = client._socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)      # wakes the reader blocked in recv
            except OSError:
                pass
        try:
            client.disconnect()
        except OSError:
            pass

    def _fail_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for p in pending.values():
            p.done.set()                      # status None: no answer

    # --- from the SMSC ----------------------------------------------------------------------
    def _submit_resp(self, pdu: Command, **_: Any) -> None:
        with self._lock:
            p = self._pending.pop(int(pdu.sequence), None)
        if p is None:
            return
        p.status = int(pdu.status)
        raw = getattr(pdu, "message_id", b"") or b""
        p.message_id = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
        p.done.set()

    def _error_pdu(self, pdu: Command) -> None:
        if pdu.command == "generic_nack":
            self._submit_resp(pdu)
        # submit_sm_resp with an error status reaches _submit_resp next (smpplib's read_once)

    def _deliver_sm(self, pdu: Command, **_: Any) -> int:
        try:
            if int(pdu.esm_class or 0) & ESM_RECEIPT:
                receipt = receipt_of(pdu)
                if receipt is not None:
                    self.inbound.receipt(self.name, receipt)
            else:
                self.inbound.received(self.name, received_of(pdu, self.s.get("PHONENUMBER", "")))
        except Exception:       # noqa: BLE001 - the SMSC must deliver it again: never lost
            log.exception("connection %s: a deliver_sm could not be stored", self.name)
            return ESME_RX_T_APPN
        return int(consts.SMPP_ESME_ROK)

    # --- to the SMSC ------------------------------------------------------------------------
    def submit(self, message: Outgoing) -> Outcome:
        client = self._client
        if not self._up or client is None:
            return Outcome(False, reason=f"connection {self.name} is not bound", on_air=False)
        if self.mode == "receiver":
            return Outcome(False, reason=f"connection {self.name} binds as receiver only",
                           on_air=False)
        wait = float(number_or(self.s.get("SUBMITTIMEOUT", "60"), 60, 1, 600))
        last = ""
        for i, fields in enumerate(self.submits(message)):
            pending = self._send(client, fields)
            if pending is None:
                return Outcome(False, reason="bind lost before sending", on_air=i > 0)
            if not pending.done.wait(wait) or pending.status is None:
                return Outcome(False, reason="no submit_sm_resp from the SMSC")
            if pending.status != consts.SMPP_ESME_ROK:
                desc = consts.DESCRIPTIONS.get(pending.status, "error")
                return Outcome(False, reason=f"SMSC refused: 0x{pending.status:08X} {desc}")
            last = pending.message_id
        return Outcome(True, remote_id=last)

    def _send(self, client: _Client, fields: dict[str, Any]) -> _Pending | None:
        pending = _Pending()
        with client.write_lock:
            try:
                pdu = smpp.make_pdu("submit_sm", client=client, **fields)
                with self._lock:
                    self._pending[int(pdu.sequence)] = pending
                client.send_pdu(pdu)
            except (exceptions.ConnectionError, exceptions.PDUError, OSError):
                with self._lock:
                    self._pending.pop(int(pdu.sequence), None)
                return None
        return pending

    def submits(self, message: Outgoing) -> list[dict[str, Any]]:
        """The submit_sm fields of each segment of `message`."""
        enc = segments.split(message.text, message.encoding, message.data, message.udh,
                             ref=message.id)
        base = self._addresses(message)
        base.update(data_coding=enc.dcs, service_type=self._service_type(),
                    registered_delivery=int(message.srr and on(self.s.get("DELIVERYREPORT",
                                                                             "on"))))
        if on(self.s.get("USETLVMESSAGEPAYLOAD", "off")) and not message.udh:
            return [dict(base, short_message=b"", message_payload=enc.whole)]
        use_sar = on(self.s.get("USESAR", "on")) and not message.udh
        out = []
        for seg in enc.segments:
            fields = dict(base)
            if seg.total > 1 and use_sar:
                fields.update(short_message=seg.ud, sar_msg_ref_num=message.id & 0xFFFF,
                              sar_total_segments=seg.total, sar_segment_seqnum=seg.seq)
            else:
                fields.update(short_message=seg.udh + seg.ud,
                              esm_class=ESM_UDHI if seg.udh else 0)
            out.append(fields)
        return out

    def _service_type(self) -> str:
        raw = self.s.get("SERVICETYPEHEXSTR", "00").strip()
        try:
            return bytes.fromhex(raw).rstrip(b"\0").decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return ""

    def _addresses(self, message: Outgoing) -> dict[str, Any]:
        dest = message.number
        keep_plus = on(self.s.get("LEAVEPLUSSIGNINTELNUM", "off"))
        unspecified = _ton(self.s.get("UNSPECIFIEDTON", "International"), 1)
        dest_ton = _ton(self.s.get("DESTTON", ""), 1 if dest.startswith("+") else unspecified)
        sender = message.sender or self.s.get("PHONENUMBER", "")
        src_default = 1 if sender.startswith("+") else 5 if sender and not sender.isdigit() else 0
        return {
            "source_addr_ton": _ton(self.s.get("SOURCETON", ""), src_default),
            "source_addr_npi": number_or(self.s.get("SOURCENPI", ""), 1 if src_default == 1
                                         else 0, 0, 18),
            "source_addr": sender if keep_plus else sender.lstrip("+"),
            "dest_addr_ton": dest_ton,
            "dest_addr_npi": number_or(self.s.get("DESTNPI", ""), 1, 0, 18),
            "destination_addr": dest if keep_plus else dest.lstrip("+"),
        }


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return "" if value is None else str(value)


def receipt_of(pdu: Command) -> Receipt | None:
    """A delivery receipt's message id and final state (None: not final, or no id)."""
    body = pdu.short_message or getattr(pdu, "message_payload", None) or b""
    body = body if isinstance(body, bytes) else str(body).encode()
    rid = _text(getattr(pdu, "receipted_message_id", None))
    if not rid:
        found = _RECEIPT_ID.search(body)
        rid = found.group(1).decode("ascii", "replace") if found else ""
    stat_m = _RECEIPT_STAT.search(body)
    stat = stat_m.group(1).decode("ascii", "replace").upper() if stat_m else ""
    state = getattr(pdu, "message_state", None)
    if not stat and state is not None:
        stat = {2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 8: "REJECTD"}.get(
            int(state), "")
    if not rid or stat not in FINAL_OK + FINAL_BAD:
        return None
    return Receipt(rid, stat in FINAL_OK, stat)


def received_of(pdu: Command, own_number: str) -> Received:
    """A mobile-originated deliver_sm as a received message (or one part of it)."""
    data = pdu.short_message or b""
    payload = getattr(pdu, "message_payload", None)
    if not data and payload:
        data = payload if isinstance(payload, bytes) else str(payload).encode()
    concat = None
    if int(pdu.esm_class or 0) & ESM_UDHI and data:
        udh, data = data[:data[0] + 1], data[data[0] + 1:]
        concat = segments.concat_of(udh)
    elif getattr(pdu, "sar_total_segments", None):
        concat = (int(pdu.sar_msg_ref_num or 0), int(pdu.sar_total_segments),
                  int(pdu.sar_segment_seqnum or 1))
    sender = _text(pdu.source_addr)
    if int(pdu.source_addr_ton or 0) == 1 and sender.isdigit():
        sender = "+" + sender
    recipient = _text(pdu.destination_addr) or own_number
    return Received(sender, recipient, segments.decode(int(pdu.data_coding or 0), data),
                    time.time(), concat)

