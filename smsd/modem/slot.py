"""SIM slot switching through the profile's slot command.

After the switch the SIM needs a moment to come up; we wait for +CPIN: READY (asking with
AT+CPIN? and listening for the URC in between, never sleeping blind). The caller then re-reads
IMSI, ICCID and number, which belong to the new SIM.
"""
from __future__ import annotations

from collections.abc import Callable

from smsd.at import Command, Response
from smsd.at import responses as r

from .channel import Channel
from .quirks import Profile

POLL = 0.5


def switch(channel: Channel, profile: Profile, slot: int, timeout: float) -> bool:
    if not profile.slot_set:
        return False
    if not channel.ok(profile.slot_set.format(slot=slot), timeout):
        return False
    wait_sim_ready(channel, timeout, channel.clock)
    return True


def wait_sim_ready(channel: Channel, timeout: float, clock: Callable[[], float]) -> bool:
    deadline = clock() + timeout
    while clock() < deadline:
        result = channel.run(Command("AT+CPIN?", 5.0))
        if isinstance(result, Response) and r.parse_cpin(result.lines) == "":
            return True
        channel.wait_urc(lambda u: u.name == "+CPIN" and "READY" in u.args,
                         min(POLL, max(0.0, deadline - clock())))
    return False
