"""USSD request and reply text, per profile.

Choice: both shipped profiles run in "text" mode: the worker sets AT+CSCS="GSM" at init and
sends `AT+CUSD=1,"<text>",15` with the string as typed; a reply with DCS 15 (GSM 7-bit,
language unspecified) comes back as plain text. A profile in "packed" mode sends the packed
GSM 7-bit septets as hex (smsd.pdu.ussd_encode) and unpacks replies with ussd_decode. Whatever
the mode, a reply whose DCS says UCS2 (e.g. 72) is hex of UTF-16BE and is decoded as such.
"""
from __future__ import annotations

from smsd.at.responses import Cusd

from .quirks import Profile

GSM7, EIGHT_BIT, UCS2 = "gsm7", "8bit", "ucs2"


def can_send(profile: Profile, text: str) -> bool:
    """Text mode types the string inside quotes in the GSM charset: ASCII without quotes only."""
    if not text:
        return False
    if profile.ussd_mode == "packed":
        return True
    return text.isascii() and text.isprintable() and '"' not in text


def request_command(profile: Profile, text: str) -> str:
    if profile.ussd_mode == "packed":
        from smsd.pdu import ussd_encode
        return f'AT+CUSD=1,"{ussd_encode(text).hex().upper()}",15'
    return f'AT+CUSD=1,"{text}",15'


def alphabet(dcs: int | None) -> str:
    """The alphabet of a CBS/USSD data coding scheme (TS 23.038 clause 5)."""
    if dcs is None or dcs < 0x10 or 0x20 <= dcs < 0x30 or dcs == 0x10:
        return GSM7
    if dcs == 0x11:
        return UCS2
    if 0x40 <= dcs < 0x80 or 0x90 <= dcs < 0xA0:
        return (GSM7, EIGHT_BIT, UCS2, GSM7)[(dcs >> 2) & 3]
    if dcs >= 0xF0:
        return EIGHT_BIT if dcs & 0x04 else GSM7
    return GSM7


def decode_reply(profile: Profile, cusd: Cusd) -> str:
    kind = alphabet(cusd.dcs)
    raw = _hex_bytes(cusd.text)
    if kind == UCS2 and raw is not None:
        return raw.decode("utf-16-be", errors="replace")
    if kind == GSM7 and profile.ussd_mode == "packed" and raw is not None:
        from smsd.pdu import ussd_decode
        return ussd_decode(raw)
    if kind == EIGHT_BIT and raw is not None:
        return raw.decode("latin-1")
    return cusd.text


def _hex_bytes(text: str) -> bytes | None:
    if not text or len(text) % 2:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None
