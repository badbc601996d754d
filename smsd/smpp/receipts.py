"""Delivery receipts as SMPP 3.4 Appendix B writes them, and message states (5.2.28).

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
    err:E text:...

`id` is the smsd message id (what submit_sm_resp returned), `sub` the parts submitted, `dlvrd`
the parts delivered, `err` a 3-digit code: the TP-Status of the status report when there was one,
else 000 on success and 001 on failure; `text` the first 20 characters of the message.
"""
from __future__ import annotations

import time
from typing import Any

# message_state values (SMPP 3.4 5.2.28)
ENROUTE, DELIVERED, EXPIRED, DELETED, UNDELIVERABLE, ACCEPTED, UNKNOWN, REJECTED = range(1, 9)
STAT = {DELIVERED: "DELIVRD", UNDELIVERABLE: "UNDELIV", DELETED: "DELETED", EXPIRED: "EXPIRED",
        ENROUTE: "ENROUTE", ACCEPTED: "ACCEPTD", UNKNOWN: "UNKNOWN", REJECTED: "REJECTD"}
STOPPED = "stopped"      # the store's reason for a message whose task was stopped (cancel_sm)


def message_state(status: str, reason: str = "") -> int:
    """The message_state of an smsd message status (SENDING, SENT_OK, DELIVERED, FAILED); the
    rest, UNKNOWN (outcome unknown, docs/durability.md) among them, is SMPP's UNKNOWN."""
    if status == "DELIVERED":
        return DELIVERED
    if status == "FAILED":
        return DELETED if reason == STOPPED else UNDELIVERABLE
    if status in ("SENDING", "SENT_OK"):
        return ENROUTE
    return UNKNOWN


def smpp_date(epoch: float) -> str:
    """YYMMDDhhmm, the receipt's date format, in the box's local time."""
    return time.strftime("%y%m%d%H%M", time.localtime(epoch))


def smpp_final_date(epoch: float) -> str:
    """query_sm_resp's final_date: SMPP absolute time YYMMDDhhmmss000+ (UTC)."""
    return time.strftime("%y%m%d%H%M%S", time.gmtime(epoch)) + "000+"


def error_code(receipt: dict[str, Any]) -> int:
    dr = receipt.get("dr_status")
    if isinstance(dr, int):
        return dr
    return 0 if receipt.get("status") == "DELIVERED" else 1


def receipt_text(receipt: dict[str, Any]) -> str:
    """The receipt's short_message for a queued receipt (svc.smpp's payload)."""
    state = message_state(str(receipt.get("status", "")), str(receipt.get("reason", "")))
    count = int(receipt.get("count") or 0)
    delivered = count if state == DELIVERED else 0
    text = str(receipt.get("text", ""))[:20]
    return (f"id:{receipt['message_id']} sub:{count:03d} dlvrd:{delivered:03d} "
            f"submit date:{smpp_date(float(receipt.get('submitted', 0)))} "
            f"done date:{smpp_date(float(receipt.get('done', 0)))} "
            f"stat:{STAT[state]} err:{error_code(receipt):03d} text:{text}")
