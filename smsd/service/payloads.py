"""Payload kinds at intake: binary data with a UDH, flash messages, a user context.

`Sending.send_sms` calls `payload_rows` (binary part counts, UDH checks) and `payload_extra` (what
is stored on the task); the scheduler applies the payload when it builds the PDUs.
"""
from __future__ import annotations

from typing import Any

from smsd.errors import BadRequest, CodecError
from smsd.model import SendRequest
from smsd.pdu import binary

Row = tuple[str, "str | None", "int | None", int]     # (number, own text, user_id, parts)
USERCONTEXT_MAX = 255


def payload_rows(request: SendRequest, rows: list[Row]) -> list[Row]:
    """Part counts of a binary payload replace the text's (the text is only a label)."""
    if request.data is None:
        if request.udh:
            raise BadRequest("udh needs binary data")
        return rows
    if not isinstance(request.data, bytes) or not request.data:
        raise BadRequest("binary data must be non-empty bytes")
    try:
        count = binary.count_parts(request.data, request.udh)
    except CodecError as exc:
        raise BadRequest(f"udh: {exc}") from exc
    return [(number, None, user_id, count) for number, _, user_id, _ in rows]


def payload_extra(request: SendRequest) -> dict[str, Any]:
    if len(request.usercontext) > USERCONTEXT_MAX:
        raise BadRequest(f"usercontext: at most {USERCONTEXT_MAX} characters")
    return {"flash": bool(request.flash), "data": request.data, "udh": bytes(request.udh),
            "usercontext": request.usercontext}
