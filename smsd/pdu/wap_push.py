"""WAP Push Service Indication (SI) over SMS: WBXML SI document in a WSP push PDU.

What a phone expects (WAP-167 Service Indication, WAP-192 WBXML 1.2, WAP-230 WSP, WAP-259 WDP):
- the SMS carries 8-bit data with a UDH application port addressing IE, 16-bit ports,
  destination 2948 (WAP Push connectionless) and source 9200 (WAP connectionless session);
- the data is a connectionless WSP Push PDU: transaction id, PDU type 0x06, header length
  (uintvar), content type application/vnd.wap.sic (well-known 0x2E) and the header
  X-Wap-Application-Id: x-wap-application:wml.ua (0x2F = 0x04), then the body;
- the body is the SI document in WBXML 1.2 (public id 0x05 "-//WAPFORUM//DTD SI 1.0//EN",
  charset UTF-8), `<si><indication href="..." action="signal-medium">text</indication></si>`,
  with the href scheme folded into the attribute-start token as the SI code page defines.

Pure (no I/O); the caller sends `(ports_ie, push_pdu)` as `SendRequest(data=..., udh=...)`.
"""
from __future__ import annotations

from smsd.errors import EncodingError

PORT_WAP_PUSH = 2948
PORT_WAP_SESSION = 9200
IEI_PORTS16 = 0x05

WBXML_VERSION_1_2 = 0x02
PUBLIC_ID_SI_1_0 = 0x05
CHARSET_UTF8 = 0x6A
TAG_SI = 0x05
TAG_INDICATION = 0x06
WITH_CONTENT = 0x40
WITH_ATTRIBUTES = 0x80
STR_I = 0x03
END = 0x01
ACTION_SIGNAL_MEDIUM = 0x07

# SI attribute-start tokens for href, longest prefix first.
HREF_TOKENS = (("https://www.", 0x0F), ("http://www.", 0x0D), ("https://", 0x0E),
               ("http://", 0x0C), ("", 0x0B))

WSP_PUSH = 0x06
CONTENT_TYPE_SIC = 0xAE          # application/vnd.wap.sic, well-known 0x2E
HEADER_APP_ID = 0xAF             # X-Wap-Application-Id, well-known 0x2F
APP_ID_WML_UA = 0x84             # x-wap-application:wml.ua, well-known 0x04


def ports_ie(dst: int = PORT_WAP_PUSH, src: int = PORT_WAP_SESSION) -> bytes:
    """UDH IE 0x05: 16-bit application port addressing."""
    return bytes([IEI_PORTS16, 4]) + dst.to_bytes(2, "big") + src.to_bytes(2, "big")


def _inline(value: str) -> bytes:
    raw = value.encode("utf-8")
    if b"\x00" in raw:
        raise EncodingError("WAP Push strings cannot contain NUL")
    return bytes([STR_I]) + raw + b"\x00"


def _href(href: str) -> bytes:
    for prefix, token in HREF_TOKENS:
        if href.lower().startswith(prefix):
            rest = href[len(prefix):]
            return bytes([token]) + (_inline(rest) if rest else b"")
    raise AssertionError("unreachable: the empty prefix matches everything")


def si_document(href: str, text: str) -> bytes:
    """The SI document in WBXML 1.2."""
    head = bytes([WBXML_VERSION_1_2, PUBLIC_ID_SI_1_0, CHARSET_UTF8, 0x00])
    indication = bytes([TAG_INDICATION | WITH_CONTENT | WITH_ATTRIBUTES]) + _href(href) + \
        bytes([ACTION_SIGNAL_MEDIUM, END])
    content = _inline(text) if text else b""
    return head + bytes([TAG_SI | WITH_CONTENT]) + indication + content + bytes([END, END])


def uintvar(value: int) -> bytes:
    """WSP variable-length unsigned integer (7 bits per octet, high bit = more follow)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | value & 0x7F)
        value >>= 7
    return bytes(reversed(out))


def push_pdu(body: bytes, tid: int = 0x01) -> bytes:
    """Connectionless WSP Push PDU carrying an SI body."""
    headers = bytes([CONTENT_TYPE_SIC, HEADER_APP_ID, APP_ID_WML_UA])
    return bytes([tid & 0xFF, WSP_PUSH]) + uintvar(len(headers)) + headers + body


def service_indication(href: str, text: str, tid: int = 0x01) -> tuple[bytes, bytes]:
    """(UDH IEs, 8-bit user data) of a WAP Push SI for `href` with display `text`."""
    return ports_ie(), push_pdu(si_document(href, text), tid)
