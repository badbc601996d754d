"""Pure-Python SMS PDU codec (TS 23.040 / TS 23.038); the C backend `_c.py` mirrors it.

Decoding reads through a bounds-checked cursor, so a truncated PDU or a length field that points
past the end raises CodecError naming the field. Decisions made where peers differ:
- TP-MTI 00 = SMS-DELIVER, 01 = SMS-SUBMIT, 10 = SMS-STATUS-REPORT (the MS-side view); 11 is
  rejected.
- TP-UDL is honoured exactly: nothing after it is read, and a PDU that ends before the octets
  TP-UDL announces raises CodecError (the caller keeps the raw PDU; a guessed shorter text would
  pass for the whole message). A UDH that does not fit the user data raises CodecError too.
- DCS (TS 23.038 4): reserved alphabets and reserved groups read as GSM-7; compressed user data
  (bit 5 in groups 00xx/01xx) is not decompressed: it comes back as 8-bit data.
- 8-bit user data leaves `text` empty and puts the octets in `data`. `data` always holds the
  user data after the UDH as transmitted (GSM-7 still packed, fill bits included).
- Concatenation IEs with total 0, seq 0 or seq > total are ignored (TS 23.040 9.2.3.24.1); when an
  IE repeats, the last one counts.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from smsd.errors import CodecError
from smsd.pdu import fields, gsm7, text as segment
from smsd.pdu.fields import Reader
from smsd.pdu.gsm7 import ussd_decode, ussd_encode
from smsd.pdu.types import (ENC_8BIT, ENC_GSM7, ENC_UCS2, KIND_DELIVER, KIND_STATUS_REPORT,
                            KIND_SUBMIT, Decoded, InfoElement, SubmitPart)

__all__ = ["decode", "encode_submit", "encode_deliver", "encode_status_report", "count_parts",
           "choose_encoding", "ussd_encode", "ussd_decode", "status_category"]

_MTI_DELIVER, _MTI_SUBMIT, _MTI_STATUS = 0, 1, 2
_UDHI = 0x40


# --- decoding ------------------------------------------------------------------------------------
def _dcs_info(dcs: int) -> tuple[str, int | None]:
    """(alphabet, message class) of TS 23.038 section 4."""
    group = dcs >> 4
    if group <= 0x7:
        cls = dcs & 3 if dcs & 0x10 else None
        if dcs & 0x20:
            return ENC_8BIT, cls                      # compressed: handed over as data
        return (ENC_GSM7, ENC_8BIT, ENC_UCS2, ENC_GSM7)[(dcs >> 2) & 3], cls
    if group == 0xF:
        return (ENC_8BIT if dcs & 0x04 else ENC_GSM7), dcs & 3
    if group == 0xE:
        return ENC_UCS2, None
    return ENC_GSM7, None                             # 0xC, 0xD (MWI) and reserved 0x8-0xB


class _UserData:
    """Decoded TP-UD: text, payload after the UDH, IEs and what they mean."""

    __slots__ = ("text", "data", "udh", "concat", "ports")

    def __init__(self) -> None:
        self.text = ""
        self.data = b""
        self.udh: list[InfoElement] = []
        self.concat: tuple[int, int, int] | None = None
        self.ports: tuple[int, int] | None = None


def _apply_ies(ud: _UserData, ies: list[tuple[int, bytes]]) -> tuple[int, int]:
    lock = shift = 0
    for iei, data in ies:
        ud.udh.append(InfoElement(iei, data))
        if iei == segment.IEI_CONCAT8 and len(data) == 3:
            ud.concat = _concat(data[0], data[1], data[2], ud.concat)
        elif iei == segment.IEI_CONCAT16 and len(data) == 4:
            ud.concat = _concat((data[0] << 8) | data[1], data[2], data[3], ud.concat)
        elif iei == segment.IEI_PORTS8 and len(data) == 2:
            ud.ports = (data[0], data[1])
        elif iei == segment.IEI_PORTS16 and len(data) == 4:
            ud.ports = ((data[0] << 8) | data[1], (data[2] << 8) | data[3])
        elif iei == segment.IEI_SINGLE_SHIFT and len(data) == 1:
            shift = data[0]
        elif iei == segment.IEI_LOCKING_SHIFT and len(data) == 1:
            lock = data[0]
    return lock, shift


def _concat(ref: int, total: int, seq: int,
            previous: tuple[int, int, int] | None) -> tuple[int, int, int] | None:
    return (ref, total, seq) if total and 1 <= seq <= total else previous


def _user_data(r: Reader, udhi: bool, alphabet: str) -> _UserData:
    udl = r.octet("TP-UDL")
    septet_mode = alphabet == ENC_GSM7
    size = (udl * 7 + 7) // 8 if septet_mode else udl
    raw = r.take(size, "TP-UD (as TP-UDL says)")
    ud = _UserData()
    lock = shift = header = 0
    if udhi:
        if not raw or raw[0] + 1 > size or (septet_mode and (raw[0] + 1) * 8 > udl * 7):
            raise CodecError("user data header is longer than the user data")
        header = raw[0] + 1
        lock, shift = _apply_ies(ud, fields.parse_udh(raw[1:header]))
    ud.data = raw[header:]
    if septet_mode:
        skip = (header * 8 + 6) // 7                  # septets taken by UDH + fill bits
        fill = skip * 7 - header * 8
        ud.text = gsm7.from_septets(gsm7.unpack(ud.data, udl - skip, fill), lock, shift)
    elif alphabet == ENC_UCS2:
        even = ud.data[:len(ud.data) & ~1]
        ud.text = even.decode("utf-16-be", "replace")
    return ud


def _decoded(kind: str, smsc: str | None, number: str, toa: int, pid: int, dcs: int,
             ud: _UserData | None, **extra: object) -> Decoded:
    alphabet, cls = _dcs_info(dcs)
    if ud is None:
        ud = _UserData()
    return Decoded(kind=kind, smsc=smsc, number=number, text=ud.text, dcs=dcs, pid=pid,
                   concat=ud.concat, udh=ud.udh, encoding=alphabet, data=ud.data,
                   number_toa=toa, message_class=cls, ports=ud.ports,
                   **extra)  # type: ignore[arg-type]


def _deliver(r: Reader, smsc: str | None, first: int) -> Decoded:
    number, toa = fields.read_address(r, "TP-OA")
    pid = r.octet("TP-PID")
    dcs = r.octet("TP-DCS")
    scts = fields.read_timestamp(r.take(7, "TP-SCTS"))
    ud = _user_data(r, bool(first & _UDHI), _dcs_info(dcs)[0])
    return _decoded(KIND_DELIVER, smsc, number, toa, pid, dcs, ud, scts=scts, mr=None,
                    status=None, status_report_requested=bool(first & 0x20))


def _validity(r: Reader, vpf: int) -> object | None:
    if vpf == 2:
        return fields.relative_vp(r.octet("TP-VP"))
    if vpf == 3:
        return fields.read_timestamp(r.take(7, "TP-VP (absolute)"))
    if vpf == 1:
        return fields.read_enhanced_vp(r.take(7, "TP-VP (enhanced)"))
    return None


def _submit(r: Reader, smsc: str | None, first: int) -> Decoded:
    mr = r.octet("TP-MR")
    number, toa = fields.read_address(r, "TP-DA")
    pid = r.octet("TP-PID")
    dcs = r.octet("TP-DCS")
    validity = _validity(r, (first >> 3) & 3)
    ud = _user_data(r, bool(first & _UDHI), _dcs_info(dcs)[0])
    return _decoded(KIND_SUBMIT, smsc, number, toa, pid, dcs, ud, scts=None, mr=mr,
                    status=None, validity=validity, status_report_requested=bool(first & 0x20))


def _status_report(r: Reader, smsc: str | None, first: int) -> Decoded:
    mr = r.octet("TP-MR")
    number, toa = fields.read_address(r, "TP-RA")
    scts = fields.read_timestamp(r.take(7, "TP-SCTS"))
    discharge = fields.read_timestamp(r.take(7, "TP-DT"))
    status = r.octet("TP-ST")
    pid, dcs, ud = 0, 0, None
    if r.pos < len(r.data):
        # Optional TP-PI part (9.2.3.27): fields it announces but that are missing count as absent.
        pi = ext = r.octet("TP-PI")
        while ext & 0x80 and r.pos < len(r.data):
            ext = r.octet("TP-PI extension")
        more = lambda: r.pos < len(r.data)  # noqa: E731
        pid = r.octet("TP-PID") if pi & 0x01 and more() else 0
        dcs = r.octet("TP-DCS") if pi & 0x02 and more() else 0
        if pi & 0x04 and more():
            # optional user data that does not hold together counts as absent: the report's
            # status is what matters, and losing it would leave the message undelivered
            try:
                ud = _user_data(r, bool(first & _UDHI), _dcs_info(dcs)[0])
            except CodecError:
                ud = None
    return _decoded(KIND_STATUS_REPORT, smsc, number, toa, pid, dcs, ud, scts=scts, mr=mr,
                    status=status, discharge=discharge)


def decode(pdu: str | bytes, smsc: bool = True) -> Decoded:
    """Decode an SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT (hex string or raw octets)."""
    r = Reader(fields.pdu_octets(pdu))
    centre = fields.read_smsc(r) if smsc else None
    first = r.octet("first octet")
    mti = first & 3
    if mti == _MTI_DELIVER:
        return _deliver(r, centre, first)
    if mti == _MTI_SUBMIT:
        return _submit(r, centre, first)
    if mti == _MTI_STATUS:
        return _status_report(r, centre, first)
    raise CodecError("TP-MTI 11 is reserved")


# --- encoding ------------------------------------------------------------------------------------
_tuple_new = tuple.__new__


def _dcs(encoding: str, flash: bool) -> int:
    base = {ENC_GSM7: 0x00, ENC_8BIT: 0x04, ENC_UCS2: 0x08}[encoding]
    return base | 0x10 if flash else base


def _part_ies(plan: segment.Plan, seq: int, ref: int, concat16: bool) -> list[tuple[int, bytes]]:
    ies: list[tuple[int, bytes]] = []
    total = len(plan.chunks)
    if total > 1:
        if concat16:
            ies.append((segment.IEI_CONCAT16, bytes([ref >> 8 & 0xFF, ref & 0xFF, total, seq])))
        else:
            ies.append((segment.IEI_CONCAT8, bytes([ref & 0xFF, total, seq])))
    if plan.lock:
        ies.append((segment.IEI_LOCKING_SHIFT, bytes([plan.lock])))
    if plan.shift:
        ies.append((segment.IEI_SINGLE_SHIFT, bytes([plan.shift])))
    return ies


def _ud(plan: segment.Plan, chunk: bytes, udh: bytes) -> bytes:
    """TP-UDL + TP-UD for one part."""
    if plan.encoding != ENC_GSM7:
        return bytes([len(udh) + len(chunk)]) + udh + chunk
    skip = (len(udh) * 8 + 6) // 7
    return bytes([skip + len(chunk)]) + udh + gsm7.pack(chunk, skip * 7 - len(udh) * 8)


def _parts(plan: segment.Plan, ref: int, concat16: bool) -> list[tuple[bool, bytes]]:
    """(has UDH, TP-UDL+TP-UD) for every part."""
    out = []
    for seq, chunk in enumerate(plan.chunks, 1):
        udh = fields.build_udh(_part_ies(plan, seq, ref, concat16))
        out.append((bool(udh), _ud(plan, chunk, udh)))
    return out


def _vp(validity: dt.timedelta | dt.datetime | None) -> tuple[int, bytes]:
    """(TP-VPF bits of the first octet, TP-VP octets)."""
    if validity is None:
        return 0x00, b""
    if isinstance(validity, dt.datetime):
        return 0x18, fields.timestamp(validity)
    if isinstance(validity, dt.timedelta):
        return 0x10, bytes([fields.relative_vp_code(validity)])
    raise CodecError(f"validity must be timedelta, datetime or None, not {type(validity).__name__}")


def encode_submit(number: str, text: str, *, encoding: str = "auto", smsc: str | None = None,
                  request_status_report: bool = False,
                  validity: dt.timedelta | dt.datetime | None = None, flash: bool = False,
                  mr: int = 0, concat_ref: int = 0, concat16: bool = False,
                  reject_duplicates: bool = False, reply_path: bool = False,
                  pid: int = 0, languages: Collection[int] = ()) -> list[SubmitPart]:
    """SMS-SUBMIT parts ready for AT+CMGS (refs and MR are taken modulo their field size).

    `languages`: the national language ids (TS 23.038 6.2.1.2.4) whose tables may be used."""
    plan = segment.plan(text, encoding, concat16, segment.language_mask(languages))
    vpf, vp = _vp(validity)
    first = 0x01 | vpf | (0x04 if reject_duplicates else 0) | \
        (0x20 if request_status_report else 0) | (0x80 if reply_path else 0)
    head = fields.address(number) + bytes([pid & 0xFF, _dcs(plan.encoding, flash)]) + vp
    sc = fields.smsc_field(smsc)
    out = []
    total = len(plan.chunks)
    for (seq, (has_udh, ud)), part_text in zip(enumerate(_parts(plan, concat_ref, concat16), 1),
                                               plan.texts):
        tpdu = bytes([first | (_UDHI if has_udh else 0), mr & 0xFF]) + head + ud
        # field order of SubmitPart: hex, tpdu_len, seq, total, text (tuple.__new__ is the
        # cheap way to build a NamedTuple)
        out.append(_tuple_new(SubmitPart, ((sc + tpdu).hex().upper(), len(tpdu), seq, total,
                                           part_text)))
    return out


def encode_deliver(originator: str, text: str, *, scts: dt.datetime, smsc: str | None = None,
                   encoding: str = "auto", concat_ref: int = 0,
                   status_report_indication: bool = False,
                   languages: Collection[int] = ()) -> list[str]:
    """SMS-DELIVER PDUs (hex, SMSC field included) as a network would hand them to a modem."""
    plan = segment.plan(text, encoding, False, segment.language_mask(languages))
    first = 0x04 | (0x20 if status_report_indication else 0)   # 0x04: no more messages
    head = fields.address(originator) + bytes([0, _dcs(plan.encoding, False)]) + \
        fields.timestamp(scts)
    sc = fields.smsc_field(smsc)
    return [(sc + bytes([first | (_UDHI if has_udh else 0)]) + head + ud).hex().upper()
            for has_udh, ud in _parts(plan, concat_ref, False)]


def encode_status_report(recipient: str, mr: int, status: int, *, scts: dt.datetime,
                         discharge: dt.datetime, smsc: str | None = None) -> str:
    """SMS-STATUS-REPORT (hex, SMSC field included) without the optional TP-PI part."""
    if not 0 <= status <= 0xFF:
        raise CodecError(f"TP-ST {status} is out of range 0..255")
    tpdu = bytes([0x06, mr & 0xFF]) + fields.address(recipient) + fields.timestamp(scts) + \
        fields.timestamp(discharge) + bytes([status])
    return (fields.smsc_field(smsc) + tpdu).hex().upper()


def count_parts(text: str, encoding: str = "auto", languages: Collection[int] = ()) -> int:
    return len(segment.plan(text, encoding, False, segment.language_mask(languages)).chunks)


def choose_encoding(text: str, languages: Collection[int] = ()) -> str:
    """gsm7 (with an allowed national table pair if need be) or ucs2, as encode_submit picks."""
    return segment.plan(text, "auto", False, segment.language_mask(languages)).encoding


def status_category(st: int) -> str:
    """TS 23.040 9.2.3.15: 0x00-0x1F delivered, 0x20-0x3F still trying, the rest failed."""
    if not 0 <= st <= 0xFF:
        raise CodecError(f"TP-ST {st} is out of range 0..255")
    if st <= 0x1F:
        return "delivered"
    return "pending" if st <= 0x3F else "failed"
