"""deliver_sm PDUs for what the delivery queue holds: a received SMS (whole, or as UDH
segments when the bind asked for parts) or a delivery receipt (receipts.py)."""
from __future__ import annotations

import random
from typing import Any

from smpplib.command import Command

from smsd.pdu import gsm7
from smsd.smpp import pdus, receipts
from smsd.service.smpp import QueuedDelivery

DC_DEFAULT, DC_UCS2 = 0, 8
ESM_RECEIPT, ESM_UDHI = 0x04, 0x40
SHORT_MAX = 254
PART_OCTETS = 134               # user data per segment beside a 6-octet concatenation UDH


def _encoded(text: str) -> tuple[int, bytes]:
    septets = gsm7.to_septets(text)
    if septets is not None:
        return DC_DEFAULT, septets
    return DC_UCS2, text.encode("utf-16-be")


def _address(number: str) -> dict[str, Any]:
    if number.startswith("+"):
        return {"ton": 1, "npi": 1, "addr": number[1:]}
    if number.isdigit():
        return {"ton": 0, "npi": 1, "addr": number}
    return {"ton": 5, "npi": 0, "addr": number[:11]}


def build(item: QueuedDelivery, parts: bool, own_number: str = "") -> list[Command]:
    """The deliver_sm PDUs (sequence 0; the sender numbers them) of one queued delivery."""
    if item.kind == "receipt":
        return [_receipt(item.payload)]
    return _sms(item.payload, parts, own_number)


def _receipt(receipt: dict[str, Any]) -> Command:
    source = _address(str(receipt.get("number", "")))
    body = receipts.receipt_text(receipt)
    septets = gsm7.to_septets(body) or body.encode("ascii", errors="replace")
    state = receipts.message_state(str(receipt.get("status", "")), str(receipt.get("reason", "")))
    return pdus.make("deliver_sm", source_addr_ton=source["ton"], source_addr_npi=source["npi"],
                     source_addr=source["addr"], esm_class=ESM_RECEIPT, data_coding=DC_DEFAULT,
                     short_message=septets[:SHORT_MAX],
                     receipted_message_id=str(receipt["message_id"]), message_state=state)


def _sms(sms: dict[str, Any], parts: bool, own_number: str) -> list[Command]:
    source = _address(str(sms.get("number", "")))
    dest = _address(own_number) if own_number else {"ton": 0, "npi": 0, "addr": ""}
    coding, data = _encoded(str(sms.get("text", "")))
    common = {"source_addr_ton": source["ton"], "source_addr_npi": source["npi"],
              "source_addr": source["addr"], "dest_addr_ton": dest["ton"],
              "dest_addr_npi": dest["npi"], "destination_addr": dest["addr"],
              "data_coding": coding}
    if len(data) <= SHORT_MAX:
        return [pdus.make("deliver_sm", short_message=data, **common)]
    if not parts:
        return [pdus.make("deliver_sm", message_payload=data, **common)]
    chunks = _chunks(data, coding)
    ref = random.randrange(256)
    return [pdus.make("deliver_sm", esm_class=ESM_UDHI,
                      short_message=bytes((5, 0, 3, ref, len(chunks), i + 1)) + chunk, **common)
            for i, chunk in enumerate(chunks)]


def _chunks(data: bytes, coding: int) -> list[bytes]:
    """Segments that never split a GSM escape pair or a UTF-16 surrogate pair."""
    size = 153 if coding == DC_DEFAULT else PART_OCTETS
    out, pos = [], 0
    while pos < len(data):
        end = min(pos + size, len(data))
        if end < len(data):
            if coding == DC_DEFAULT and data[end - 1] == gsm7.ESC:
                end -= 1
            elif coding == DC_UCS2 and 0xD8 <= data[end - 2] <= 0xDB:
                end -= 2
        out.append(data[pos:end])
        pos = end
    return out
