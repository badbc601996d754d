"""A SIM whose message storage is full takes no more messages: the network keeps them (and
says +CMS ERROR: 322 to a modem that tries to store one), so nothing arrives until the host
makes room. Nothing announces it; the periodic refresh asks AT+CPMS? and drains a full store. It drains a
store that is not full but holds messages too: one whose +CMTI was lost (garbled) or whose
AT+CMGR failed (no final OK, a timeout) is otherwise read only at the next start.
"""
from __future__ import annotations

from smsd.at import Command, Response
from smsd.at import responses as r

from .channel import Channel


def usage(channel: Channel, timeout: float) -> tuple[int, int]:
    """(used, total) of the first (reading) storage; (0, 0) when the modem does not say."""
    answer = channel.run(Command("AT+CPMS?", timeout))
    if not isinstance(answer, Response):
        return 0, 0
    stores = r.parse_cpms(answer.lines)
    return (stores[0].used, stores[0].total) if stores else (0, 0)

