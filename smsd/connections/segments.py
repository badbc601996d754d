"""A message as a provider takes it: its alphabet (data coding) and its segments, each with the
concatenation UDH it needs. Shared by the SMPP client and the HTTP client's binary template.

GSM 7-bit goes as one octet per septet (SMPP's default alphabet, unpacked), UCS2 as UTF-16BE,
8-bit data as it is. A message longer than one SMS is cut into segments of at most 153 septets,
67 UCS2 characters or 133 octets (never inside a GSM escape pair or a surrogate pair) with an
8-bit-reference concatenation element before any UDH elements the message already has.
"""
from __future__ import annotations

from dataclasses import dataclass

from smsd.pdu import gsm7

DC_DEFAULT, DC_BINARY, DC_UCS2 = 0x00, 0x04, 0x08
SINGLE = {DC_DEFAULT: 160, DC_UCS2: 140, DC_BINARY: 140}       # octets of one whole SMS
PART = {DC_DEFAULT: 153, DC_UCS2: 134, DC_BINARY: 134}         # beside a 6-octet UDH


@dataclass(frozen=True)
class Segment:
    udh: bytes                     # with its UDHL octet; b"" when there is none
    ud: bytes                      # user data after the UDH
    seq: int
    total: int


@dataclass(frozen=True)
class Encoded:
    dcs: int
    segments: tuple[Segment, ...]
    whole: bytes                   # the message's user data unsplit (message_payload)


def encode(text: str, encoding: str = "auto", data: bytes | None = None) -> tuple[int, bytes]:
    """(data coding, user data) of a message."""
    if data is not None:
        return DC_BINARY, data
    if encoding != "ucs2":
        septets = gsm7.to_septets(text)
        if septets is not None:
            return DC_DEFAULT, septets
    return DC_UCS2, text.encode("utf-16-be")


def _cuts(dcs: int, ud: bytes, size: int) -> list[bytes]:
    out, start = [], 0
    while start < len(ud):
        end = min(start + size, len(ud))
        if dcs == DC_DEFAULT and end < len(ud) and ud[end - 1] == gsm7.ESC:
            end -= 1                               # an escape pair stays whole
        if dcs == DC_UCS2:
            end -= (end - start) % 2
            if end < len(ud) and 0xD8 <= ud[end - 2] <= 0xDB:
                end -= 2                           # a surrogate pair stays whole
        out.append(ud[start:end])
        start = end
    return out or [b""]


def split(text: str, encoding: str = "auto", data: bytes | None = None, udh: bytes = b"",
          ref: int = 0) -> Encoded:
    dcs, ud = encode(text, encoding, data)
    room = SINGLE[dcs] - (len(udh) + 1 if udh else 0)
    if len(ud) <= room:
        head = bytes([len(udh)]) + udh if udh else b""
        return Encoded(dcs, (Segment(head, ud, 1, 1),), ud)
    pieces = _cuts(dcs, ud, PART[dcs] - len(udh))
    total = len(pieces)
    segs = []
    for i, piece in enumerate(pieces, start=1):
        ies = bytes([0x00, 0x03, ref & 0xFF, total, i]) + udh
        segs.append(Segment(bytes([len(ies)]) + ies, piece, i, total))
    return Encoded(dcs, tuple(segs), ud)


def decode(dcs: int, ud: bytes) -> str:
    """Text of received user data (UDH already removed)."""
    coding = dcs & 0x0F if dcs & 0xF0 in (0x00, 0xF0) else dcs
    if coding == DC_UCS2 or dcs == DC_UCS2:
        return ud.decode("utf-16-be", errors="replace")
    if coding in (0x03, 0x01):
        return ud.decode("latin-1")
    if coding in (DC_BINARY, 0x02):
        return ud.hex().upper()
    try:
        return gsm7.from_septets(ud)
    except (ValueError, KeyError, IndexError):
        return ud.decode("latin-1")


def concat_of(udh: bytes) -> tuple[int, int, int] | None:
    """(reference, total, sequence) of a UDH (with its UDHL) holding a concatenation element."""
    i = 1
    while i + 1 < len(udh):
        iei, size = udh[i], udh[i + 1]
        body = udh[i + 2:i + 2 + size]
        if iei == 0x00 and size == 3 and len(body) == 3:
            return body[0], body[1], body[2]
        if iei == 0x08 and size == 4 and len(body) == 4:
            return (body[0] << 8) | body[1], body[2], body[3]
        i += 2 + size
    return None
