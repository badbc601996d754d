"""iSMS non-polling receive bodies, read back the way receivers written for the box read them."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from smsd.push import isms_format

PAYLOAD = {"incoming_sms_id": 7, "port": 2, "slot": 0, "number": "+447700900123", "smsc": "",
           "timestamp": "2026-11-23 02:36:20", "text": "ACK web01,HTTP> is CRITICAL",
           "imsi": "234150000000001"}


def read_like_the_box_receivers(body: bytes) -> dict[str, str]:
    """What follows the last '&', minus 'XMLDATA=', %XX decoded (no '+' rule), CR/LF -> space."""
    data = body.decode("ascii")
    data = data[data.rfind("&") + 1:]
    assert data.startswith("XMLDATA=")
    raw = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                 data[len("XMLDATA="):].encode())
    raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
    assert re.match(rb"^\s*<\?xml .*>", raw)
    root = ET.fromstring(raw)
    assert root.tag == "MessageNotification"
    return {child.tag: child.text or "" for child in root}


def test_message_notification_fields() -> None:
    body, ctype = isms_format.render("SN1", "sms", [PAYLOAD])
    assert ctype == "application/x-www-form-urlencoded"
    assert read_like_the_box_receivers(body) == {
        "ModemNumber": "3:", "SenderNumber": "+447700900123", "Date": "26/11/23",
        "Time": "02:36:20", "Message": "ACK web01,HTTP> is CRITICAL"}


def test_only_letters_digits_and_unreserved_travel_unencoded() -> None:
    body, _ = isms_format.render("SN1", "sms", [{**PAYLOAD, "text": "a+b & c=d %41"}])
    value = body.decode("ascii").split("XMLDATA=", 1)[1]
    assert re.fullmatch(r"(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})+", value)
    assert read_like_the_box_receivers(body)["Message"] == "a+b & c=d %41"


@pytest.mark.parametrize("text", ["café", "Привет 😀", "line1\r\nline2", "<tag>&amp;", "tab\tend"])
def test_text_survives(text: str) -> None:
    body, _ = isms_format.render("SN1", "sms", [{**PAYLOAD, "text": text}])
    got = read_like_the_box_receivers(body)["Message"]
    assert got == text.replace("\r", " ").replace("\n", " ")


def test_document_is_latin1_as_declared() -> None:
    xml = isms_format.document({**PAYLOAD, "text": "é Ж"})
    assert xml.startswith('<?xml version="1.0" encoding="ISO-8859-1"?>\r\n')
    assert "<Message>é &#1046;</Message>" in xml
    xml.encode("latin-1")


def test_control_characters_cannot_break_the_document() -> None:
    body, _ = isms_format.render("SN1", "sms", [{**PAYLOAD, "text": "a\x00b\x1bc"}])
    assert read_like_the_box_receivers(body)["Message"] == "a b c"


def test_one_event_per_post() -> None:
    assert isms_format.KINDS == {"sms"} and isms_format.BATCH is False
    with pytest.raises(ValueError):
        isms_format.render("SN1", "sms", [PAYLOAD, PAYLOAD])
    with pytest.raises(ValueError):
        isms_format.render("SN1", "ussd", [{"port": 0, "text": "x"}])
