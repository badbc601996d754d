"""The simulated SMSC's relay step: an SMS-SUBMIT TPDU becomes the SMS-DELIVER the recipient gets.

The user data (with any UDH, e.g. concatenation) is carried over byte for byte, as a real SMSC
does, so a multipart message arrives as the same parts. The SUBMIT was already validated by
smsd.pdu.decode; this only re-lays the header (TS 23.040 9.2.2.1 vs 9.2.2.2).
"""
from __future__ import annotations

import datetime as dt

_VP_OCTETS = {0: 0, 1: 7, 2: 1, 3: 7}      # by TP-VPF: none, enhanced, relative, absolute


def _semi_octets(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2)))


def address(number: str) -> bytes:
    """TP-OA/DA field of a numeric address: digit count, type of address, swapped BCD."""
    digits = "".join(ch for ch in number if ch.isdigit())
    toa = 0x91 if number.startswith("+") else 0x81
    return bytes((len(digits), toa)) + _semi_octets(digits)


def smsc_field(number: str) -> str:
    """The SMSC field that prefixes PDUs in +CMGR/+CMT/+CDS (length counts octets incl. TOA)."""
    body = address(number)[1:]
    return f"{len(body):02X}" + body.hex().upper()


def scts(stamp: dt.datetime) -> bytes:
    """TP-SCTS: six swapped-BCD fields and the zone in quarter hours (bit 3 = negative)."""
    fields = [stamp.year % 100, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second]
    out = _semi_octets("".join(f"{v:02d}" for v in fields))
    offset = stamp.utcoffset() or dt.timedelta(0)
    quarters = int(offset.total_seconds() // 900)
    zone = _semi_octets(f"{abs(quarters):02d}")[0] | (0x08 if quarters < 0 else 0)
    return out + bytes((zone,))


def _user_data_start(tpdu: bytes) -> int:
    """Offset of TP-UDL in an SMS-SUBMIT TPDU."""
    fo = tpdu[0]
    return 6 + (tpdu[2] + 1) // 2 + _VP_OCTETS[(fo >> 3) & 3]


def _septets(dcs: int) -> bool:
    """True when the DCS says GSM 7-bit (TS 23.038 4): UDL then counts septets, not octets."""
    group = dcs & 0xF0
    if group == 0xF0:
        return not dcs & 0x04
    if group in (0xC0, 0xD0, 0xE0):             # message waiting: discard/store GSM-7, UCS2
        return group != 0xE0
    return dcs & 0x0C == 0


def user_data_fits(tpdu: bytes) -> bool:
    """Does TP-UDL agree with the octets that follow? A module refuses a submit that lies."""
    if len(tpdu) < 7:
        return False
    udl_at = _user_data_start(tpdu)
    if udl_at >= len(tpdu):
        return False
    udl, dcs = tpdu[udl_at], tpdu[udl_at - 1 - _VP_OCTETS[(tpdu[0] >> 3) & 3]]
    needed = (udl * 7 + 7) // 8 if _septets(dcs) else udl
    return len(tpdu) - udl_at - 1 == needed


def submit_to_deliver(tpdu: bytes, originator: str, stamp: dt.datetime) -> bytes:
    """The SMS-DELIVER TPDU for a validated SMS-SUBMIT TPDU sent by `originator`."""
    fo = tpdu[0]
    pos = 4 + (tpdu[2] + 1) // 2                # first octet, MR, DA length, TOA, DA digits
    pid, dcs = tpdu[pos], tpdu[pos + 1]
    pos = _user_data_start(tpdu)
    # MTI 00 (deliver), MMS set (no more messages), UDHI copied, SRI when a report was requested.
    first = 0x04 | (fo & 0x40) | (fo & 0x20)
    return bytes((first,)) + address(originator) + bytes((pid, dcs)) + scts(stamp) + tpdu[pos:]


def tpdu_len(pdu_hex: str) -> int:
    """Octets after the SMSC field: what +CMGR/+CMT/+CDS print as <length>."""
    return max(0, len(pdu_hex) // 2 - 1 - int(pdu_hex[:2], 16))   # >= 0 for a lying SMSC length
