"""IntelliSoftware HTTP forwarding: one form POST per received SMS, status report or
subscription list event, retried every 5 minutes until the receiver answers 200.

Three push protocols, one per forwarding URL of the vendor's Forwarding tab, each a formatter
(KINDS, BATCH, RETRY, accepts, render) registered with the push worker:

- `intelli-sms`: `sms` events -> from, text, msgid (our incoming SMS id), sent (W3CDTF),
  usercontext when the SMS replies to a message sent with one;
- `intelli-status`: `sms_result` (message sent 3, delivered 4, failed 6) and
  `sms_deliver_status` (pending 2, expired 8, other failures 6) events -> msgid (the ID sendmsg
  answered: the submission's task id, the same for all its recipients), status, toaddr. "Delivered" comes from the message's result, which the
  store raises once every part has a delivered report, so a multipart message is reported
  delivered once, not once per part;
- `intelli-subscription`: `subscription` events -> sublistname, sublisttype, msisdn, action,
  source, timestamp (W3CDTF).

`intelli` is all three kinds at one URL. Status reports that match no message we sent are not
forwarded: the vendor's receivers key everything by msgid.
"""
from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace
from typing import Any, Mapping
from urllib.parse import urlencode

CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
RETRY = 300.0                  # the vendor retries every 5 minutes
BATCH = False                  # one form per event
SMS_KINDS = frozenset({"sms"})
STATUS_KINDS = frozenset({"sms_result", "sms_deliver_status"})
SUBSCRIPTION_KINDS = frozenset({"subscription"})
KINDS = SMS_KINDS | STATUS_KINDS | SUBSCRIPTION_KINDS

STATUS_UNKNOWN = 0          # the spec's "0 - Unknown": outcome unknown (docs/durability.md)
STATUS_QUEUED, STATUS_SENT, STATUS_DELIVERED = 2, 3, 4
STATUS_UNDELIVERABLE, STATUS_EXPIRED = 6, 8
TP_ST_EXPIRED = 0x46           # TS 23.040 9.2.3.15: validity period expired


def w3cdtf(when: dt.datetime) -> str:
    """2010-06-10T14:45:12+01:00 (seconds, numeric offset as the spec's examples)."""
    text = when.isoformat(timespec="seconds")
    return text if when.utcoffset() else text.replace("+00:00", "-00:00")


def from_epoch(seconds: float) -> str:
    return w3cdtf(dt.datetime.fromtimestamp(seconds).astimezone())


def from_local(stamp: str) -> str:
    """'YYYY-MM-DD HH:MM:SS' (the box's local time, as events carry it) -> W3CDTF."""
    try:
        naive = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return from_epoch(time.time())
    return w3cdtf(naive.astimezone())


def number(value: Any) -> str:
    """International numbers without `+`, as the vendor shows them."""
    return str(value or "").lstrip("+")


def status_code(kind: str, payload: Mapping[str, Any]) -> int | None:
    """The vendor's status for a neutral event, or None when it is not forwarded."""
    if payload.get("message_id") is None:
        return None
    if kind == "sms_result":
        return {"SENT_OK": STATUS_SENT, "DELIVERED": STATUS_DELIVERED,
                "FAILED": STATUS_UNDELIVERABLE,
                "UNKNOWN": STATUS_UNKNOWN}.get(str(payload.get("status")))
    st = int(payload.get("status_code") or 0)
    if st <= 0x1F:
        return None                     # the sms_result DELIVERED says it, once per message
    if st <= 0x3F:
        return STATUS_QUEUED
    return STATUS_EXPIRED if st == TP_ST_EXPIRED else STATUS_UNDELIVERABLE


def submission_id(payload: Mapping[str, Any]) -> str:
    """The ID sendmsg answered: the task's, identical for every recipient of the submission.

    A status report event stored before events carried `task_id` falls back to its message id."""
    ident = payload.get("task_id")
    return str(payload.get("message_id") if ident is None else ident)


def accepts(kind: str, payload: Mapping[str, Any]) -> bool:
    """Is this event forwarded at all (the worker skips the others without a POST)?"""
    if kind in STATUS_KINDS:
        return status_code(kind, payload) is not None
    return kind in KINDS


def fields(kind: str, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    if kind == "sms":
        out = [("from", number(payload.get("number"))), ("text", str(payload.get("text", ""))),
               ("msgid", str(payload.get("incoming_sms_id", ""))),
               ("sent", from_local(str(payload.get("timestamp", ""))))]
        if payload.get("usercontext"):
            out.append(("usercontext", str(payload["usercontext"])))
        return out
    if kind in STATUS_KINDS:
        return [("msgid", submission_id(payload)),
                ("status", str(status_code(kind, payload))),
                ("toaddr", number(payload.get("number")))]
    if kind == "subscription":
        return [("sublistname", str(payload.get("sublistname", ""))),
                ("sublisttype", str(payload.get("sublisttype", 2))),
                ("msisdn", number(payload.get("msisdn"))), ("action", str(payload.get("action"))),
                ("source", str(payload.get("source"))),
                ("timestamp", from_epoch(float(payload.get("time") or time.time())))]
    raise ValueError(f"IntelliSoftware forwarding has no form for {kind!r} events")


def render(sn: str, kind: str, payloads: list[Mapping[str, Any]]) -> tuple[bytes, str]:
    if len(payloads) != 1:
        raise ValueError(f"IntelliSoftware forwards one event per POST, not {len(payloads)}")
    return urlencode(fields(kind, payloads[0])).encode("ascii"), CONTENT_TYPE


def _protocol(kinds: frozenset[str]) -> Any:
    return SimpleNamespace(KINDS=kinds, BATCH=BATCH, RETRY=RETRY, accepts=accepts, render=render)


PROTOCOLS: dict[str, Any] = {
    "intelli": _protocol(KINDS),
    "intelli-sms": _protocol(SMS_KINDS),
    "intelli-status": _protocol(STATUS_KINDS),
    "intelli-subscription": _protocol(SUBSCRIPTION_KINDS),
}
