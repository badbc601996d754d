"""The radio link a simulated module holds open under AT+CMMS (smsd/sim/cmms.py says how)."""
from __future__ import annotations

from dataclasses import dataclass

from smsd.sim.timing import SimTiming

CLOSED = float("-inf")


@dataclass
class Link:
    """One module's AT+CMMS setting and whether its link is held open (until `open_until`)."""

    mode: int = 0
    open_until: float = CLOSED

    def reset(self) -> None:
        """Power-on and ATZ: disabled, no link."""
        self.mode, self.open_until = 0, CLOSED

    def current_mode(self, now: float) -> int:
        if self.mode == 1 and self.open_until != CLOSED and now > self.open_until:
            self.mode, self.open_until = 0, CLOSED      # the timer ran out: back to 0
        return self.mode

    def is_open(self, now: float) -> bool:
        return self.current_mode(now) != 0 and now <= self.open_until

    def setup_delay(self, now: float, timing: SimTiming) -> float:
        """Seconds a submit starting now spends setting up the link (0 while it is held)."""
        return 0.0 if self.is_open(now) else timing.link_setup

    def answered(self, now: float, timing: SimTiming) -> None:
        """A send command was answered: with <n> 1 or 2 the link is held for the timer."""
        self.open_until = now + timing.link_timer if self.current_mode(now) else CLOSED

    def set_mode(self, mode: int) -> None:
        self.mode = mode
        if mode == 0:
            self.open_until = CLOSED                    # disabling releases a held link
