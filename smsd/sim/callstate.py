"""What the simulated world keeps about voice calls: a SIM's call forwarding (network side) and
the one call a module can have (module side). Plain data, so the modem, the network and the call
handlers (calls.py) can all name it without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass

# Call forwarding reasons of AT+CCFC (TS 27.007 7.11); 4 (all) and 5 (all conditional) are
# the groups a set command may name.
CF_UNCONDITIONAL, CF_BUSY, CF_NO_REPLY, CF_NOT_REACHABLE = 0, 1, 2, 3
CF_ALL, CF_ALL_CONDITIONAL = 4, 5
CF_REASONS = (CF_UNCONDITIONAL, CF_BUSY, CF_NO_REPLY, CF_NOT_REACHABLE)
DEFAULT_NO_REPLY_TIME = 20        # seconds the network lets a call ring before no-reply forwarding


@dataclass
class Forward:
    """One registered forwarding of a SIM, as the network's subscriber record holds it."""

    number: str                   # digits, with a leading "+" when international (type 145)
    active: bool = True
    time: int = DEFAULT_NO_REPLY_TIME

    @property
    def toa(self) -> int:
        return 145 if self.number.startswith("+") else 129


@dataclass
class Call:
    """The call a module has: ringing (incoming, not answered) or active (answered)."""

    number: str                   # the caller, "" when withheld
    card_key: tuple[int, int]     # (port, slot) of the SIM that was called
    talk_seconds: float           # how long the caller talks once answered
    hangup_cause: int             # the cause the caller's release carries
    state: str = "ringing"        # "ringing" | "active"

    @property
    def toa(self) -> int:
        return 145 if self.number.startswith("+") else 129


@dataclass
class CallState:
    """A module's call side: +CLIP presentation, the current call, the last release cause."""

    clip: bool = False
    call: Call | None = None
    last_cause: int | None = None          # None: no call released since power-on

    def release(self, cause: int) -> None:
        self.call = None
        self.last_cause = cause
