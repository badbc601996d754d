"""TPDU fields of TS 23.040: addresses (9.1.2.5), time stamps (9.2.3.11), validity (9.2.3.12),
user data header (9.2.3.24), and a bounds-checked reader that turns every overrun into CodecError.

Choices the C backend mirrors:
- Two-digit years: 80..99 -> 19xx, 00..79 -> 20xx (a fixed window 1980-2079: the codec has no
  clock; SMS did not exist before 1992 and handsets with an unset clock report 1980 or 2000).
- An impossible time stamp (month 13, hex digits, ...) decodes as None rather than failing the
  whole message: the text matters more than the SMSC's clock.
- Address digits use the TS 23.040 9.1.2.3 semi-octet alphabet: 0-9, A="*", B="#", C="a",
  D="b", E="c"; F is the filler.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from smsd.errors import CodecError, EncodingError
from smsd.pdu import gsm7

TOA_INTERNATIONAL = 0x91
TOA_UNKNOWN = 0x81
TOA_ALPHANUMERIC = 0xD0

_NIBBLE = "0123456789*#abc"
# Octet -> its two semi-octets in reading order (low nibble first); the filler F reads as "".
_SEMI = tuple((_NIBBLE + "?")[b & 0xF].replace("?", "") + (_NIBBLE + "?")[b >> 4].replace("?", "")
              for b in range(256))
_DIGITS = re.compile(r"[0-9*#]*")
_TO_NIBBLE = {ord(c): f"{i:X}" for i, c in enumerate(_NIBBLE)}


class Reader:
    """Cursor over the PDU octets; every read past the end raises CodecError naming the field."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def octet(self, what: str) -> int:
        if self.pos >= len(self.data):
            raise CodecError(f"PDU truncated: missing {what} at octet {self.pos}")
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise CodecError(f"PDU truncated: {what} needs {n} octets at octet {self.pos}, "
                             f"only {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk


# --- semi-octets ---------------------------------------------------------------------------------
def pdu_octets(pdu: str | bytes) -> bytes:
    """A PDU given as hex text (surrounding whitespace allowed) or as bytes."""
    if isinstance(pdu, (bytes, bytearray, memoryview)):
        data = bytes(pdu)
    elif isinstance(pdu, str):
        try:
            data = bytes.fromhex(pdu.strip())
        except ValueError:
            raise CodecError("PDU is not an even-length hex string") from None
    else:
        raise CodecError(f"PDU must be str or bytes, not {type(pdu).__name__}")
    if not data:
        raise CodecError("empty PDU")
    return data


def semi_octets(data: bytes) -> str:
    return "".join(map(_SEMI.__getitem__, data))


def to_semi_octets(digits: str) -> bytes:
    nibbles = digits.translate(_TO_NIBBLE)
    if len(nibbles) % 2:
        nibbles += "F"
    return bytes.fromhex("".join(nibbles[i + 1] + nibbles[i] for i in range(0, len(nibbles), 2)))


# --- addresses -----------------------------------------------------------------------------------
def format_number(digits: str, toa: int) -> str:
    return "+" + digits if (toa >> 4) & 7 == 1 and digits else digits


def read_address(r: Reader, what: str) -> tuple[str, int]:
    """TP-OA / TP-DA / TP-RA: (number, type-of-address)."""
    length = r.octet(f"{what} length")
    toa = r.octet(f"{what} type")
    body = r.take((length + 1) // 2, what)
    if (toa >> 4) & 7 == 5:
        return _alnum(body, length), toa
    return format_number(semi_octets(body)[:length], toa), toa


def _alnum(body: bytes, length: int) -> str:
    count = length * 4 // 7
    septets = gsm7.unpack(body, count)
    if length * 4 % 56 == 0 and septets[-1:] in (b"\x00", b"\r"):
        # Encoders that give the length as 2 x octets make 7 septets look like 8: the last one
        # is then the 7 fill bits, zero (a phantom "@") or the CR of the CBS/USSD padding rule.
        septets = septets[:-1]
    return gsm7.from_septets(septets)


def read_smsc(r: Reader) -> str | None:
    length = r.octet("SMSC length")
    if length == 0:
        return None
    toa = r.octet("SMSC type")
    digits = semi_octets(r.take(length - 1, "SMSC address"))
    return format_number(digits, toa) or None


def classify(number: str) -> tuple[str, int]:
    """Interface rule: "+" -> international, digits (and * #) -> unknown, else alphanumeric."""
    if not number:
        raise CodecError("empty address")
    if number[0] == "+" and len(number) > 1 and _is_digits(number[1:]):
        return number[1:], TOA_INTERNATIONAL
    if _is_digits(number):
        return number, TOA_UNKNOWN
    return number, TOA_ALPHANUMERIC


def _is_digits(s: str) -> bool:
    return _DIGITS.fullmatch(s) is not None


@lru_cache(maxsize=1024)
def address(number: str) -> bytes:
    digits, toa = classify(number)
    if toa == TOA_ALPHANUMERIC:
        septets = gsm7.require_septets(number)
        if len(septets) > 11:
            raise EncodingError(f"alphanumeric address {number!r} exceeds 11 septets")
        return bytes([(len(septets) * 7 + 3) // 4, toa]) + gsm7.pack(septets)
    if len(digits) > 20:
        raise EncodingError(f"address {number!r} exceeds 20 digits")
    return bytes([len(digits), toa]) + to_semi_octets(digits)


def smsc_field(smsc: str | None) -> bytes:
    if not smsc:
        return b"\x00"
    digits, toa = classify(smsc)
    if toa == TOA_ALPHANUMERIC or len(digits) > 20:
        raise EncodingError(f"invalid SMSC number {smsc!r}")
    body = to_semi_octets(digits)
    return bytes([len(body) + 1, toa]) + body


# --- time stamps ---------------------------------------------------------------------------------
def read_timestamp(raw: bytes) -> dt.datetime | None:
    """7-octet TP-SCTS / TP-DT / absolute TP-VP; None when the digits are not a real time."""
    digits = [((b & 0xF) * 10 + (b >> 4)) for b in raw[:6]]
    if any((b & 0xF) > 9 or (b >> 4) > 9 for b in raw[:6]):
        return None
    tz = raw[6]
    quarters = (tz & 0x7) * 10 + (tz >> 4)
    if (tz >> 4) > 9 or quarters > 79:
        return None
    if tz & 0x8:
        quarters = -quarters
    year = digits[0] + (1900 if digits[0] >= 80 else 2000)
    try:
        return dt.datetime(year, digits[1], digits[2], digits[3], digits[4], digits[5],
                           tzinfo=_zone(quarters))
    except ValueError:
        return None


@lru_cache(maxsize=None)
def _zone(quarters: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=15 * quarters))


def timestamp(when: dt.datetime) -> bytes:
    """Encode an aware datetime (naive counts as UTC) to 7 semi-octet swapped octets."""
    offset = when.utcoffset() or dt.timedelta(0)
    quarters = int(offset.total_seconds() // 60) // 15 if offset >= dt.timedelta(0) else \
        -(int(-offset.total_seconds() // 60) // 15)
    if abs(quarters) > 79:
        raise CodecError(f"time zone offset {offset} is out of range")
    fields = (when.year % 100, when.month, when.day, when.hour, when.minute, when.second,
              abs(quarters))
    out = bytes(((v % 10) << 4) | (v // 10) for v in fields)
    return out[:6] + bytes([out[6] | (0x08 if quarters < 0 else 0)])


# --- validity period -----------------------------------------------------------------------------
def relative_vp(vp: int) -> dt.timedelta:
    if vp <= 143:
        return dt.timedelta(minutes=(vp + 1) * 5)
    if vp <= 167:
        return dt.timedelta(hours=12, minutes=(vp - 143) * 30)
    if vp <= 196:
        return dt.timedelta(days=vp - 166)
    return dt.timedelta(weeks=vp - 192)


def relative_vp_code(period: dt.timedelta) -> int:
    """Smallest TP-VP whose period is at least `period` (255 = 63 weeks at most)."""
    minutes = -(-period.total_seconds() // 60)
    if minutes <= 720:
        return max(0, int(-(-minutes // 5)) - 1)
    if minutes <= 1440:
        return 143 + int(-(-(minutes - 720) // 30))
    days = -(-minutes // 1440)
    if days <= 30:
        return int(166 + days)
    return min(255, int(192 + -(-days // 7)))


def read_enhanced_vp(raw: bytes) -> dt.timedelta | None:
    """TS 23.040 9.2.3.12.3; None for "no validity period" and reserved formats."""
    fmt = raw[0] & 0x07
    if fmt == 1:
        return relative_vp(raw[1])
    if fmt == 2:
        return dt.timedelta(seconds=raw[1])
    if fmt == 3:
        h, m, s = (((b & 0xF) * 10 + (b >> 4)) for b in raw[1:4])
        return dt.timedelta(hours=h, minutes=m, seconds=s)
    return None


# --- user data header ----------------------------------------------------------------------------
def parse_udh(header: bytes) -> list[tuple[int, bytes]]:
    """IEs of a UDH body (without its length octet); overruns raise CodecError."""
    out: list[tuple[int, bytes]] = []
    i, end = 0, len(header)
    while i < end:
        if i + 1 >= end:
            raise CodecError(f"UDH truncated: IE 0x{header[i]:02X} has no length")
        iei, length = header[i], header[i + 1]
        if i + 2 + length > end:
            raise CodecError(f"UDH IE 0x{iei:02X} length {length} overruns the header")
        out.append((iei, header[i + 2:i + 2 + length]))
        i += 2 + length
    return out


def build_udh(ies: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(bytes([iei, len(data)]) + data for iei, data in ies)
    return bytes([len(body)]) + body if body else b""
