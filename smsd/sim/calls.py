"""Voice calls on the simulated modems: incoming calls, call forwarding, release causes.

Network side: `place_call()` is a call from the outside world to one SIM. The network applies the
SIM's call forwarding the way TS 22.082 describes it: unconditional forwarding takes the call
before anything rings; a SIM whose module is off, unregistered or in another slot is "not
reachable"; a module that already has a call is "busy"; a ringing call nobody answers goes to the
no-reply number after that forwarding's time. A forwarded call never reaches the module. Otherwise
the module rings: `RING` (and `+CLIP: "<number>",<type>` after AT+CLIP=1) every ring interval,
until the caller gives up after `ring_seconds` (`NO CARRIER`, with the caller's cause), the host
answers (ATA) or rejects (ATH / AT+CHUP: cause 21, and busy forwarding, if set, takes the call).

Module side: the handlers below (ATA, ATH, +CHUP, +CLIP, +CLCC, +CEER, +CCFC), looked up by the
modem before the general table. AT+CCFC takes a network round trip (the USSD delay) to answer.

The release causes are TS 24.008 (10.5.4.11) values. The simulator keeps its own cause texts on
purpose: it is the far side of the wire, so a wrong table in the product cannot hide in both.
"""
from __future__ import annotations

import re

from smsd.sim.atcmd import DEFERRED, AtCmd, Reply, cme, int_arg, ok, unquote
from smsd.sim.callstate import (CF_ALL, CF_ALL_CONDITIONAL, CF_BUSY, CF_NO_REPLY,
                                CF_NOT_REACHABLE, CF_REASONS, CF_UNCONDITIONAL,
                                DEFAULT_NO_REPLY_TIME, Call, Forward)
from smsd.sim.commands import sim_gate
from smsd.sim.handler import Handler, Module, by_op
from smsd.sim.network import SimCard

CAUSE_TEXT = {
    0: "No cause information available",
    1: "Unassigned (unallocated) number",
    16: "Normal call clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call rejected",
    27: "Destination out of order",
    31: "Normal, unspecified",
    34: "No circuit/channel available",
    41: "Temporary failure",
    127: "Interworking, unspecified",
}
CAUSE_NORMAL, CAUSE_REJECTED = 16, 21
CME_NOT_ALLOWED, CME_NO_NETWORK, CME_BAD_PARAMS = 3, 30, 50
_NUMBER = re.compile(r"\+?[0-9]{1,20}")
BASE_RING = 1.5          # seconds between RINGs at the default 2 s latency; the rest scales


def ring_interval(m: Module) -> float:
    """Seconds between RINGs: ~1.5 s on a board with the default timing, less on fast ones."""
    return min(2.0, max(0.1, 0.75 * m.timing.latency))


def ceer_line(profile_name: str, cause: int) -> str:
    """The module's AT+CEER report: manufacturer-specific text (TS 27.007 6.10)."""
    text = CAUSE_TEXT.get(cause, CAUSE_TEXT[0])
    if profile_name == "quectel":
        return f'+CEER: "CC INFO","{text}"'
    return f"+CEER: {text}"


# --- the network side ---------------------------------------------------------------------------
def _forward(card: SimCard, reason: int) -> Forward | None:
    fwd = card.forwards.get(reason)
    return fwd if fwd is not None and fwd.active else None


def place_call(m: Module, card: SimCard, number: str, ring_seconds: float, cause: int,
               talk_seconds: float) -> str:
    """A call to `card`, whose board slot feeds module `m`: "ringing", "forwarded", "busy" or
    "unreachable" (what the caller hears of it)."""
    if cause not in CAUSE_TEXT:
        raise ValueError(f"hangup_cause {cause} is not one the simulator knows "
                         f"({', '.join(str(c) for c in sorted(CAUSE_TEXT))})")
    if number and not (number.isascii() and _NUMBER.fullmatch(number)):
        raise ValueError(f"caller {number!r} is not a number (digits, optional +; '' withheld)")
    if _forward(card, CF_UNCONDITIONAL):
        return "forwarded"
    if m.card is not card or not m.registered:
        return "forwarded" if _forward(card, CF_NOT_REACHABLE) else "unreachable"
    if m.calls.call is not None:
        return "forwarded" if _forward(card, CF_BUSY) else "busy"
    call = Call(number, (card.port, card.slot), talk_seconds, cause)
    m.calls.call = call
    _ring(m, call)
    m.network.call_later(ring_seconds, lambda: _caller_gives_up(m, call))
    no_reply = _forward(card, CF_NO_REPLY)
    if no_reply is not None:
        scale = ring_interval(m) / BASE_RING
        m.network.call_later(no_reply.time * scale, lambda: _no_reply(m, call))
    return "ringing"


def _ringing(m: Module, call: Call) -> bool:
    return m.calls.call is call and call.state == "ringing"


def _ring(m: Module, call: Call) -> None:
    if not _ringing(m, call):
        return
    m.urc("RING")
    if m.calls.clip:
        m.urc(f'+CLIP: "{call.number}",{call.toa}')
    m.later(ring_interval(m), lambda: _ring(m, call))


def _caller_gives_up(m: Module, call: Call) -> None:
    if _ringing(m, call):
        _remote_release(m, call.hangup_cause)


def _no_reply(m: Module, call: Call) -> None:
    # The network takes the call to the no-reply number and clears the leg to this module.
    if _ringing(m, call):
        _remote_release(m, CAUSE_NORMAL)


def _caller_hangs_up(m: Module, call: Call) -> None:
    if m.calls.call is call:
        _remote_release(m, call.hangup_cause)


def _remote_release(m: Module, cause: int) -> None:
    m.calls.release(cause)
    m.urc("NO CARRIER")


# --- the module's commands ----------------------------------------------------------------------
def _answer(m: Module, cmd: AtCmd) -> Reply:
    call = m.calls.call
    if call is None or call.state != "ringing":
        return Reply((), "NO CARRIER")
    call.state = "active"
    m.network.call_later(call.talk_seconds, lambda: _caller_hangs_up(m, call))
    return ok()


def _hang_up(m: Module, cmd: AtCmd) -> Reply:
    call = m.calls.call
    if call is not None:
        # Rejecting a ringing call is "user determined user busy": busy forwarding applies.
        m.calls.release(CAUSE_REJECTED if call.state == "ringing" else CAUSE_NORMAL)
    return ok()


def _clip_set(m: Module, cmd: AtCmd) -> Reply:
    m.calls.clip = int_arg(cmd, 0, None, 0, 1) == 1
    return ok()


def _clcc(m: Module, cmd: AtCmd) -> Reply:
    call = m.calls.call
    if call is None:
        return ok()
    stat = 4 if call.state == "ringing" else 0          # 4 incoming, 0 active
    return ok(f'+CLCC: 1,1,{stat},0,0,"{call.number}",{call.toa}')


def _ceer(m: Module, cmd: AtCmd) -> Reply:
    cause = m.calls.last_cause
    return ok(ceer_line(m.profile.name, 0 if cause is None else cause))


# --- call forwarding (AT+CCFC) --------------------------------------------------------------------
def _reasons(reason: int) -> tuple[int, ...]:
    if reason == CF_ALL:
        return CF_REASONS
    if reason == CF_ALL_CONDITIONAL:
        return (CF_BUSY, CF_NO_REPLY, CF_NOT_REACHABLE)
    return (reason,)


def _ccfc_number(cmd: AtCmd) -> str | None:
    """The <number> argument with its <type> applied: "+" digits for 145; None when malformed."""
    raw = unquote(cmd.args[2]) if len(cmd.args) > 2 else ""
    if raw and not (raw.isascii() and _NUMBER.fullmatch(raw)):
        return None
    toa = int_arg(cmd, 3, 145 if raw.startswith("+") else 129, 0, 255)
    if raw and toa == 145 and not raw.startswith("+"):
        raw = "+" + raw
    return raw


def _ccfc_query(card: SimCard, reason: int, cls: int) -> Reply:
    if reason not in CF_REASONS:
        return cme(CME_BAD_PARAMS)
    fwd = _forward(card, reason)
    if fwd is None:
        return ok(f"+CCFC: 0,{cls}")
    line = f'+CCFC: 1,1,"{fwd.number}",{fwd.toa}'
    return ok(line + f",,,{fwd.time}" if reason == CF_NO_REPLY else line)


def _ccfc_change(card: SimCard, reason: int, mode: int, number: str, time: int) -> Reply:
    for one in _reasons(reason):
        known = card.forwards.get(one)
        if mode == 4:                                  # erasure
            card.forwards.pop(one, None)
        elif mode == 0:                                # disable, keep the number
            if known is not None:
                known.active = False
        elif number:                                   # registration / enable with a number
            card.forwards[one] = Forward(number, True, time)
        elif mode == 1 and known is not None:          # enable what is registered
            known.active = True
        else:
            return cme(CME_NOT_ALLOWED if mode == 1 else CME_BAD_PARAMS)
    return ok()


def _ccfc(m: Module, cmd: AtCmd) -> Reply:
    gate = sim_gate(m)
    if gate is not None:
        return gate
    reason, mode = int_arg(cmd, 0, None, 0, 5), int_arg(cmd, 1, None, 0, 4)
    number = _ccfc_number(cmd)
    time = int_arg(cmd, 7, DEFAULT_NO_REPLY_TIME, 1, 30)
    if not m.registered:
        return cme(CME_NO_NETWORK)
    if number is None:
        return cme(CME_BAD_PARAMS)
    card = m.card
    if mode == 2:
        reply = _ccfc_query(card, reason, int_arg(cmd, 4, 7, 1, 255))
    else:
        reply = _ccfc_change(card, reason, mode, number, time)
    m.later(m.timing.ussd, lambda: m.complete(reply))      # the network's round trip
    return DEFERRED


def _test(text: str) -> Handler:
    return lambda m, cmd: ok(text)


HANDLERS: dict[str, Handler] = {
    "A": _answer,
    "H": _hang_up,
    "+CHUP": by_op(exec=_hang_up),
    "+CLIP": by_op(set=_clip_set, read=lambda m, cmd: ok(f"+CLIP: {int(m.calls.clip)},1"),
                   test=_test("+CLIP: (0,1)")),
    "+CLCC": by_op(exec=_clcc),
    "+CEER": by_op(exec=_ceer),
    "+CCFC": by_op(set=_ccfc, test=_test("+CCFC: (0-5)")),
}
