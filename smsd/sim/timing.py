"""The delays of the simulated world: one value shared by the board, its modems and handlers."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimTiming:
    """Delays of the simulated world, in seconds."""

    latency: float = 2.0          # per SMS part submitted with AT+CMGS
    boot: float = 4.0             # power-on / CFUN=1,1 until the ready URCs
    register: float = 2.0         # searching before registered
    report: float = 1.0           # submit accepted -> status report
    deliver: float = 1.0          # submit accepted -> arrives at another simulated SIM
    ussd: float = 1.0             # AT+CUSD OK -> +CUSD URC
    urc_early: float = 0.05       # chance that queued URCs come before the final result code
    link_setup: float = 0.0       # a submit on a link AT+CMMS does not hold open pays this first
    link_timer: float = 5.0       # AT+CMMS 1/2: the link is held this long after an answer

    @classmethod
    def scaled(cls, latency: float) -> SimTiming:
        """Every delay in proportion to the submit latency, so fast tests stay fast."""
        return cls(latency, boot=2 * latency, register=latency, report=latency / 2,
                   deliver=latency / 2, ussd=latency / 2)
