"""Inbound SMS and status reports: read, hand to the sink (durable on return), then delete.

The order is the whole point: a message leaves the SIM only after `deliver` returned True, i.e.
after the sink has committed it. A sink failure leaves the message stored; the next drain
(AT+CMGL=4 at init) offers it again.
"""
from __future__ import annotations

from collections.abc import Callable

from smsd.at import Command, Response
from smsd.at import responses as r

from .channel import Channel

Deliver = Callable[[str, str], bool]        # (pdu_hex, kind) -> committed?

READ_TIMEOUT = 10.0
STAT_RECEIVED = (0, 1)                      # TS 27.005 <stat>: received unread / read


def pdu_kind(pdu_hex: str) -> str | None:
    """`deliver`, `status_report` or None (a stored SUBMIT or junk), from the TP-MTI bits."""
    try:
        smsc_len = int(pdu_hex[0:2], 16)
        first = int(pdu_hex[2 + 2 * smsc_len:4 + 2 * smsc_len], 16)
    except ValueError:
        return None
    return {0: "deliver", 2: "status_report"}.get(first & 0x03)


def read_and_delete(channel: Channel, deliver: Deliver, mem: str, index: int) -> None:
    """Handle one +CMTI/+CDSI announcement."""
    other_storage = mem.upper() != "SM"
    if other_storage:
        channel.ok(f'AT+CPMS="{mem}"')
    result = channel.run(Command(f"AT+CMGR={index}", READ_TIMEOUT))
    stored = r.parse_cmgr(result.lines, index) if isinstance(result, Response) else None
    if stored is not None and _deliver(deliver, stored.pdu, mem):
        channel.ok(f"AT+CMGD={index}")
    if other_storage:
        channel.ok('AT+CPMS="SM","SM","SM"')


def drain(channel: Channel, deliver: Deliver) -> int:
    """Offer everything already stored (AT+CMGL=4: all messages) and delete what was taken."""
    result = channel.run(Command("AT+CMGL=4", READ_TIMEOUT * 3))
    if not isinstance(result, Response):
        return 0
    taken = 0
    for stored in r.parse_cmgl(result.lines):
        if stored.stat in STAT_RECEIVED and _deliver(deliver, stored.pdu, "SM"):
            channel.ok(f"AT+CMGD={stored.index}")
            taken += 1
    return taken


def _deliver(deliver: Deliver, pdu_hex: str, mem: str) -> bool:
    # A received slot whose PDU is junk (no readable TP-MTI) still goes to the sink, which
    # keeps it as undecodable: left on the SIM it would come back at every drain and fill it.
    kind = pdu_kind(pdu_hex) or ("status_report" if mem.upper() == "SR" else "deliver")
    return deliver(pdu_hex, kind)
