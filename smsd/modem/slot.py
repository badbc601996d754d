"""SIM slot switching: the profile's slot command, or the board's SIM multiplexer.

Two ways to put another SIM in front of the module. Dual-SIM modules switch themselves with a
vendor command (Quectel AT+QDSIM). Multi-SIM boards route one of up to four card holders to the
module's single SIM interface with GPIO multiplexer lines; the module must not be talking to a
card while its contacts change under it, so the sequence is: power the SIM interface down
(AT+CFUN=0, minimum functionality per TS 27.007), drive the mux lines, power it up again
(AT+CFUN=1, which makes the module read the card afresh).

Either way the new SIM needs a moment to come up; we wait for +CPIN: READY (asking with AT+CPIN?
and listening for the URC in between, never sleeping blind). The caller then re-reads IMSI,
ICCID and number, which belong to the new SIM.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from smsd.at import Command, Response
from smsd.at import responses as r

from .channel import Channel
from .quirks import Profile

log = logging.getLogger("smsd.modem")

POLL = 0.5
SIM_OFF = "AT+CFUN=0"      # CFUN=4 (flight mode) would keep the card powered: not enough
SIM_ON = "AT+CFUN=1"
CFUN_TIMEOUT = 15.0        # the slowest modules take this long to change functionality
SimMux = Callable[[int, int], None]   # (port, slot): drive the board's SIM multiplexer


def switch(channel: Channel, profile: Profile, slot: int, timeout: float) -> bool:
    if not profile.slot_set:
        return False
    if not channel.ok(profile.slot_set.format(slot=slot), timeout):
        return False
    wait_sim_ready(channel, timeout, channel.clock)
    return True


def switch_mux(channel: Channel, mux: SimMux, port: int, slot: int, timeout: float) -> bool:
    """Switch the SIM with the board's multiplexer lines; True when `slot` is now selected."""
    log.info("port %d: SIM interface off (%s) for the switch to slot %d", port, SIM_OFF, slot)
    if not channel.ok(SIM_OFF, CFUN_TIMEOUT):
        log.warning("port %d: %s refused; the multiplexer stays as it is", port, SIM_OFF)
        return False
    if not _drive_mux(mux, port, slot):
        channel.ok(SIM_ON, CFUN_TIMEOUT)      # back to work on the SIM that is still selected
        return False
    log.info("port %d: SIM interface on (%s)", port, SIM_ON)
    if not channel.ok(SIM_ON, CFUN_TIMEOUT):
        log.warning("port %d: %s refused after the switch to slot %d", port, SIM_ON, slot)
        return False
    ready = wait_sim_ready(channel, timeout, channel.clock)
    log.info("port %d: slot %d SIM %s", port, slot, "ready" if ready else "not ready in time")
    return True


def _drive_mux(mux: SimMux, port: int, slot: int) -> bool:
    log.info("port %d: SIM multiplexer to slot %d", port, slot)
    try:
        mux(port, slot)
    except Exception:       # a line fault (or a slot the lines cannot address): keep the old SIM
        log.exception("port %d: cannot drive the SIM multiplexer to slot %d", port, slot)
        return False
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
