"""MultiModem iSMS non-polling receive: one received SMS -> one form POST ending in XMLDATA.

The box posts `application/x-www-form-urlencoded` with the field XMLDATA last, its value a
percent-encoded `MessageNotification` document (ModemNumber "<modem index>:<SIM number>",
SenderNumber, Date yy/mm/dd, Time hh:mm:ss, Message). Receivers written for the box take what
follows the last `&`, drop `XMLDATA=`, decode `%XX` only (a `+` stays a plus) and turn CR/LF into
spaces before parsing, so: every byte but letters, digits and `_.-~` is percent-encoded (a space is %20,
never `+`), no raw `&` is left in the value, and the document is ISO-8859-1 as the box declares,
with characters beyond Latin-1 as XML character references.
"""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

KINDS = frozenset({"sms"})
BATCH = False                  # the box posts one message per request
CONTENT_TYPE = "application/x-www-form-urlencoded"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def xml_text(value: str) -> str:
    """Escape markup; characters XML 1.0 cannot carry (NUL, other C0 controls) become spaces."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 and ch not in "\t\r\n" or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(" ")
        elif ord(ch) > 0xFF:
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def box_date_time(timestamp: str) -> tuple[str, str]:
    """'YYYY-MM-DD HH:MM:SS' -> ('yy/mm/dd', 'hh:mm:ss')."""
    day, _, clock = timestamp.partition(" ")
    return day[2:].replace("-", "/"), clock


def document(payload: Mapping[str, Any]) -> str:
    """The MessageNotification XML for one `sms` event payload."""
    date, time = box_date_time(str(payload.get("timestamp", "")))
    # "<index>:" is what the box sends when it does not know its SIM's number, which the event
    # does not carry; receivers read the index before the colon.
    fields = (("ModemNumber", f"{int(payload['port']) + 1}:"),
              ("SenderNumber", str(payload.get("number", ""))), ("Date", date), ("Time", time),
              ("Message", str(payload.get("text", ""))))
    lines = ['<?xml version="1.0" encoding="ISO-8859-1"?>', "<MessageNotification>"]
    lines += [f"<{name}>{xml_text(value)}</{name}>" for name, value in fields]
    lines.append("</MessageNotification>")
    return "\r\n".join(lines) + "\r\n"


def render(sn: str, kind: str, payloads: list[Mapping[str, Any]]) -> tuple[bytes, str]:
    if kind not in KINDS or len(payloads) != 1:
        raise ValueError(f"iSMS pushes one sms event at a time, not {len(payloads)} {kind}")
    xml = document(payloads[0]).encode("latin-1")
    return b"XMLDATA=" + quote(xml, safe="").encode("ascii"), CONTENT_TYPE
