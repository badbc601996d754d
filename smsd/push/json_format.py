"""JSON gateway API push bodies (spec section 17) from the store's dialect-neutral events."""
from __future__ import annotations

import json
from typing import Any, Mapping

_FIELDS = {
    "sms": ("incoming_sms_id", "port", "number", "smsc", "timestamp", "text"),
    "sms_result": ("port", "number", "user_id", "time", "status", "count", "succ_count",
                   "ref_id", "imsi", "encoding"),
    "sms_deliver_status": ("port", "number", "time", "ref_id", "status_code", "imsi"),
    "ussd": ("port", "text"),
    "register": ("port", "iccid", "imsi", "number", "status", "sequence", "slot"),
    "cdr": ("port", "start_date", "answer_date", "duration", "source_number",
            "destination_number", "direction", "ip", "codec", "hangup", "gsm_code", "bcch"),
}
# Section 17's device and exception_info bodies carry one object, not an array: one per POST.
SINGLE: dict[str, tuple[str, ...]] = {
    "device": ("port_number", "IP", "MAC", "status"),
    "exception_info": ("port", "type", "action", "slot"),
}
KINDS = frozenset(_FIELDS) | frozenset(SINGLE)
# Our extension to the spec's sms_result: the alphabet that went out, named with the words of
# send_sms's "encoding" parameter (8-bit data, which that API cannot send, as "8bit"). The key
# is left out while nothing is encoded yet, and in events stored before it existed.
ENCODING_WORDS = {"gsm7": "gsm-7bit", "ucs2": "unicode", "8bit": "8bit"}
# The spec's statuses are FAILED, SENDING, SENT_OK, DELIVERED. A message whose outcome is unknown
# (UNKNOWN: handed to the modem, never answered) shows as SENT_OK, its succ_count counting only
# the parts the network confirmed: FAILED would invite the client to send it again, which is
# what the state exists to prevent (docs/durability.md).
NEAREST_STATUS = {"UNKNOWN": "SENT_OK"}


def status_word(status: str) -> str:
    """A message status as the JSON API shows it."""
    return NEAREST_STATUS.get(status, status)


def item(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """One array element of a push body, with exactly the spec's keys for that event kind."""
    out = {k: payload[k] for k in _FIELDS[kind] if k in payload}
    if kind == "sms_result":
        if out.get("user_id") is None:
            out.pop("user_id", None)
        if "status" in out:
            out["status"] = status_word(str(out["status"]))
        word = ENCODING_WORDS.get(out.pop("encoding", None) or "")
        if word is not None:
            out["encoding"] = word
    if kind == "register" and out.get("slot") in (None, 255):
        out.pop("slot", None)     # only multi-SIM gateways push "slot"
    return out


def single(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The object of a device or exception_info push (the slot only on a multi-SIM port)."""
    out = {k: payload[k] for k in SINGLE[kind] if k in payload}
    if out.get("slot") in (None, 255):
        out.pop("slot", None)
    return out


def body(sn: str, kind: str, payloads: list[Mapping[str, Any]]) -> dict[str, Any]:
    if kind in SINGLE:
        return {"sn": sn, kind: single(kind, payloads[0])}
    return {"sn": sn, kind: [item(kind, p) for p in payloads]}


BATCH = True     # the spec's bodies carry arrays: consecutive events of one kind share a POST


def render(sn: str, kind: str, payloads: list[Mapping[str, Any]]) -> tuple[bytes, str]:
    data = json.dumps(body(sn, kind, payloads), ensure_ascii=False, separators=(",", ":"))
    return data.encode("utf-8"), "application/json; charset=utf-8"
