"""submit_sm -> the service's SendRequest: alphabets, segments, addresses, registered delivery.

A long message comes either whole (message_payload) or in segments, each its own submit_sm,
tied together by a UDH concatenation element (esm_class UDHI) or by the sar_* TLVs. Segments are
held (`Assembler`) until the last one arrives; the whole message is then committed once, and
only then is every segment's submit_sm_resp sent, all with that message's id. A message whose
segments stop coming is refused after `SEGMENT_WAIT` seconds (nothing was accepted).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from smpplib import consts
from smpplib.command import Command

from smsd import numbers
from smsd.errors import CodecError
from smsd.model import Recipient, SendRequest
from smsd.pdu import gsm7
from smsd.service.smpp import FAILURE_ONLY
from smsd.smpp.pdus import PduError, number, text

DC_DEFAULT, DC_IA5, DC_BINARY, DC_LATIN1, DC_BINARY2, DC_UCS2 = 0, 1, 2, 3, 4, 8
ESM_UDHI = 0x40
SEGMENT_WAIT = 60.0
MAX_SEGMENTS = 16


@dataclass(frozen=True)
class Piece:
    """One submit_sm's contribution: a whole message (total 1) or one segment."""

    key: tuple[Any, ...]          # what ties segments together (per user)
    total: int
    seq: int
    data: bytes                   # the segment's user data, UDH removed
    coding: int
    udh: bytes = b""              # information elements other than concatenation


def piece(pdu: Command, user: str) -> Piece:
    coding = _coding(number(pdu.data_coding))
    short = pdu.short_message or b""
    payload = pdu.message_payload
    if payload and short:
        raise PduError(consts.SMPP_ESME_RINVPARLEN, "short_message and message_payload both set")
    data = bytes(payload or short)
    if not data:
        raise PduError(consts.SMPP_ESME_RINVMSGLEN, "empty message")
    base = (user, text(pdu.source_addr), text(pdu.destination_addr))
    udh = b""
    if number(pdu.esm_class) & ESM_UDHI:
        concat, udh, data = _split_udh(data)
        if concat is not None:
            ref, total, seq = concat
            return _segment(base + ("udh", ref), total, seq, data, coding, udh)
    if pdu.sar_msg_ref_num is not None and pdu.sar_total_segments is not None:
        return _segment(base + ("sar", pdu.sar_msg_ref_num), pdu.sar_total_segments,
                        pdu.sar_segment_seqnum or 0, data, coding, udh)
    return Piece(base, 1, 1, data, coding, udh)


def _coding(dc: int) -> int:
    """The alphabet of a data_coding: 0x00-0x0E as SMPP 3.4 (5.2.19) numbers them; 0xF0-0xFF
    (a message class) is 8-bit data with bit 2 set, else the GSM 7-bit default alphabet. Any other
    value is kept, and refused when its text is decoded."""
    if dc >= 0xF0:
        return DC_BINARY2 if dc & 0x04 else DC_DEFAULT
    return dc


def _segment(key: tuple[Any, ...], total: int, seq: int, data: bytes, coding: int,
             udh: bytes) -> Piece:
    if not 1 <= total <= MAX_SEGMENTS or not 1 <= seq <= total:
        raise PduError(consts.SMPP_ESME_RINVOPTPARAMVAL, f"segment {seq} of {total}")
    return Piece(key + (total,), total, seq, data, coding, udh)


def _split_udh(data: bytes) -> tuple[tuple[int, int, int] | None, bytes, bytes]:
    """(concatenation (ref, total, seq) or None, the other IEs, the user data after the UDH)."""
    udhl = data[0]
    if udhl + 1 > len(data):
        raise PduError(consts.SMPP_ESME_RINVESMCLASS, "UDH longer than the message")
    ies, rest = data[1:udhl + 1], data[udhl + 1:]
    concat, others, pos = None, b"", 0
    while pos < len(ies):
        if pos + 2 > len(ies) or pos + 2 + ies[pos + 1] > len(ies):
            raise PduError(consts.SMPP_ESME_RINVESMCLASS, "broken UDH element")
        iei, size = ies[pos], ies[pos + 1]
        value = ies[pos + 2:pos + 2 + size]
        if iei == 0x00 and size == 3:
            concat = (value[0], value[1], value[2])
        elif iei == 0x08 and size == 4:
            concat = ((value[0] << 8) | value[1], value[2], value[3])
        else:
            others += ies[pos:pos + 2 + size]
        pos += 2 + size
    return concat, others, rest


def decode_text(data: bytes, coding: int) -> str:
    if coding == DC_DEFAULT:
        if any(b > 0x7F for b in data):
            raise PduError(consts.SMPP_ESME_RSUBMITFAIL, "GSM 7-bit data has octets over 0x7F")
        return gsm7.from_septets(data)
    if coding == DC_UCS2:
        if len(data) % 2:
            raise PduError(consts.SMPP_ESME_RINVMSGLEN, "UCS2 data of an odd length")
        return data.decode("utf-16-be", errors="replace")
    if coding == DC_IA5:
        return data.decode("ascii", errors="replace")
    if coding == DC_LATIN1:
        return data.decode("latin-1")
    raise PduError(consts.SMPP_ESME_RSUBMITFAIL, f"data_coding {coding} is not served")


def address(value: Any, ton: int, npi: int, status: int) -> str:
    """A destination number under the smpp number policy (TON/NPI honoured)."""
    found = numbers.smpp_number(text(value), ton, npi)
    if found is None:
        raise PduError(status, f"address {text(value)!r} (TON {ton}, NPI {npi})")
    return found


def request(pdu: Command, pieces: list[Piece]) -> SendRequest:
    """The SendRequest of a whole message (its pieces in order)."""
    first = pieces[0]
    rd = number(pdu.registered_delivery) & 0x03
    if rd == 3:
        raise PduError(consts.SMPP_ESME_RINVREGDLVFLG, "registered_delivery 3 is reserved")
    if text(pdu.schedule_delivery_time):
        raise PduError(consts.SMPP_ESME_RINVSCHED, "scheduled delivery is not served")
    dest = address(pdu.destination_addr, number(pdu.dest_addr_ton), number(pdu.dest_addr_npi),
                   consts.SMPP_ESME_RINVDSTADR)
    sender = text(pdu.source_addr) or None
    common: dict[str, Any] = {
        "recipients": (Recipient(dest),), "request_status_report": rd != 0,
        "sender": sender, "priority": number(pdu.priority_flag), "dialect": "smpp",
        "usercontext": FAILURE_ONLY if rd == 2 else ""}
    data = b"".join(p.data for p in pieces)
    if first.coding in (DC_BINARY, DC_BINARY2):
        return SendRequest(text=f"[{len(data)} octets]", data=data, udh=first.udh, **common)
    try:
        if first.coding == DC_DEFAULT:
            body = "".join(decode_text(p.data, DC_DEFAULT) for p in pieces)
        else:
            body = decode_text(data, first.coding)
    except CodecError as exc:
        raise PduError(consts.SMPP_ESME_RSUBMITFAIL, str(exc)) from None
    encoding = {DC_DEFAULT: "gsm7", DC_UCS2: "ucs2"}.get(first.coding, "auto")
    return SendRequest(text=body, encoding=encoding, **common)


Answer = Callable[[int, str], None]      # (status, message id) -> the segment's submit_sm_resp


@dataclass
class _Pending:
    total: int
    started: float
    pieces: dict[int, tuple[Piece, Command, Answer]] = field(default_factory=dict)
    owners: dict[int, object] = field(default_factory=dict)     # segment -> its connection


class Assembler:
    """Segments waiting for the rest of their message, across the binds of one server."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[tuple[Any, ...], _Pending] = {}
        self._clock = clock

    def add(self, item: Piece, pdu: Command, answer: Answer,
            owner: object = None) -> list[tuple[Piece, Command, Answer]] | None:
        """All the segments once `item` completes its message (in order), else None."""
        with self._lock:
            pending = self._waiting.setdefault(item.key, _Pending(item.total, self._clock()))
            if item.seq in pending.pieces:       # a repeat: the earlier one is refused
                _, _, earlier = pending.pieces[item.seq]
                earlier(consts.SMPP_ESME_RSUBMITFAIL, "")
            pending.pieces[item.seq] = (item, pdu, answer)
            pending.owners[item.seq] = owner
            if len(pending.pieces) < pending.total:
                return None
            del self._waiting[item.key]
        return [pending.pieces[i] for i in sorted(pending.pieces)]

    def held(self, owner: object) -> int:
        """Segments of `owner` waiting for the rest of their message."""
        with self._lock:
            return sum(1 for p in self._waiting.values() for o in p.owners.values() if o is owner)

    def waiting(self, key: tuple[Any, ...]) -> bool:
        """Do segments of this message wait for the rest?"""
        with self._lock:
            return key in self._waiting

    def expire(self) -> None:
        """Refuse the segments of messages that stopped coming."""
        now = self._clock()
        with self._lock:
            old = [k for k, p in self._waiting.items() if now - p.started > SEGMENT_WAIT]
            expired = [self._waiting.pop(k) for k in old]
        for pending in expired:
            for _, _, answer in pending.pieces.values():
                answer(consts.SMPP_ESME_RSUBMITFAIL, "")
