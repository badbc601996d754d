"""Binary (8-bit) SMS-SUBMIT parts with caller-given UDH information elements (TS 23.040).

Pure and sans-I/O like the rest of `smsd.pdu`. The caller's `udh` is a run of information
elements *without* the UDHL octet (e.g. application port addressing `05 04 0B 84 23 F0` for
WAP Push). When the payload does not fit one part, an 8-bit (or 16-bit) concatenation IE is put
in front of the caller's IEs in every part and the payload is cut into equal-capacity octet
chunks; the caller's IEs repeat in every part, as TS 23.040 9.2.3.24 expects for port
addressing (each part must reach the same application).

DCS: 0x04 (8-bit data, no class), 0x14 with `flash` (class 0, shown at once and not stored).
"""
from __future__ import annotations

import datetime as dt

from smsd.errors import CodecError, EncodingError
from smsd.pdu import fields
from smsd.pdu.types import SubmitPart

MAX_TPUD = 140            # octets of TP-UD in one SMS
MAX_PARTS = 255           # the concatenation IE counts parts in one octet
IEI_CONCAT8 = 0x00
IEI_CONCAT16 = 0x08
_UDHI, _SRR, _SUBMIT = 0x40, 0x20, 0x01
_RESERVED_IEIS = frozenset({IEI_CONCAT8, IEI_CONCAT16})


def check_ies(udh: bytes) -> list[tuple[int, bytes]]:
    """The caller's IEs, parsed; CodecError when malformed or when they hold a concat IE."""
    ies = fields.parse_udh(udh)
    if any(iei in _RESERVED_IEIS for iei, _ in ies):
        raise CodecError("concatenation IEs are added by the codec, not given by the caller")
    if len(udh) + 1 > MAX_TPUD:
        raise EncodingError(f"UDH of {len(udh)} octets leaves no room for data")
    return ies


def strip_udhl(udh: bytes) -> bytes:
    """Accept a UDH with or without its leading length octet (clients send both)."""
    if udh and udh[0] == len(udh) - 1:
        try:
            fields.parse_udh(udh[1:])
            return udh[1:]
        except CodecError:
            pass
    return udh


def _capacity(udh_len: int, concat: bool, concat16: bool) -> int:
    """Data octets per part given the caller's IE octets (UDHL counted when any UDH exists)."""
    header = udh_len + (6 if concat16 else 5 if concat else 0)
    return MAX_TPUD - (header + 1 if header else 0)


def chunks(data: bytes, udh: bytes = b"", concat16: bool = False) -> list[bytes]:
    """How `data` is cut into parts (one chunk per part)."""
    check_ies(udh)
    if len(data) <= _capacity(len(udh), False, concat16):
        return [data]
    size = _capacity(len(udh), True, concat16)
    if size <= 0:
        raise EncodingError("UDH too long to add a concatenation IE")
    out = [data[i:i + size] for i in range(0, len(data), size)]
    if len(out) > MAX_PARTS:
        raise EncodingError(f"{len(data)} octets need {len(out)} parts, at most {MAX_PARTS}")
    return out


def count_parts(data: bytes, udh: bytes = b"", concat16: bool = False) -> int:
    """Number of SMS parts `encode_submit` would make (same rules)."""
    return len(chunks(data, udh, concat16))


def _concat_ie(ref: int, total: int, seq: int, concat16: bool) -> bytes:
    if concat16:
        return bytes([IEI_CONCAT16, 4, ref >> 8 & 0xFF, ref & 0xFF, total, seq])
    return bytes([IEI_CONCAT8, 3, ref & 0xFF, total, seq])


def _user_data(chunk: bytes, udh: bytes, seq: int, total: int, ref: int,
               concat16: bool) -> bytes:
    """TP-UDL + TP-UD of one part."""
    ies = (_concat_ie(ref, total, seq, concat16) if total > 1 else b"") + udh
    header = bytes([len(ies)]) + ies if ies else b""
    return bytes([len(header) + len(chunk)]) + header + chunk


def _validity(validity: dt.timedelta | None) -> tuple[int, bytes]:
    if validity is None:
        return 0x00, b""
    return 0x10, bytes([fields.relative_vp_code(validity)])


def encode_submit(number: str, data: bytes, *, udh: bytes = b"", flash: bool = False,
                  smsc: str | None = None, request_status_report: bool = False,
                  validity: dt.timedelta | None = None, mr: int = 0, concat_ref: int = 0,
                  concat16: bool = False, pid: int = 0) -> list[SubmitPart]:
    """8-bit SMS-SUBMIT parts ready for AT+CMGS (`text` of each part is empty)."""
    pieces = chunks(data, udh, concat16)
    vpf, vp = _validity(validity)
    first = _SUBMIT | vpf | (_SRR if request_status_report else 0)
    head = fields.address(number) + bytes([pid & 0xFF, 0x14 if flash else 0x04]) + vp
    sc = fields.smsc_field(smsc)
    total = len(pieces)
    out = []
    for seq, chunk in enumerate(pieces, 1):
        has_udh = bool(udh) or total > 1
        tpdu = bytes([first | (_UDHI if has_udh else 0), mr & 0xFF]) + head + \
            _user_data(chunk, udh, seq, total, concat_ref, concat16)
        out.append(SubmitPart(hex=(sc + tpdu).hex().upper(), tpdu_len=len(tpdu), seq=seq,
                              total=total))
    return out
