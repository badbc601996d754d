"""A SIM whose message storage is full takes no more messages: the network keeps them (and
says +CMS ERROR: 322 to a modem that tries to store one), so nothing arrives until the host
makes room. Nothing announces it; the periodic refresh asks AT+CPMS? and drains a full store.
"""
from __future__ import annotations

from smsd.at import Command, Response
from smsd.at import responses as r

from .channel import Channel


def is_full(channel: Channel, timeout: float) -> str:
    """"used/total" of the first (reading) storage when it is full, else ""."""
    answer = channel.run(Command("AT+CPMS?", timeout))
    if not isinstance(answer, Response):
        return ""
    stores = r.parse_cpms(answer.lines)
    if stores and 0 < stores[0].total <= stores[0].used:
        return f"{stores[0].used}/{stores[0].total}"
    return ""
