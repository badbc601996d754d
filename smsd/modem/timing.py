"""The waits of a modem worker."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Every wait of the worker, in seconds; tests shrink them."""

    command: float = 5.0
    cmgs: float = 60.0           # after the prompt; the prompt itself gets `command`
    ussd: float = 30.0
    boot: float = 30.0           # ready URCs after AT+CFUN=1,1 / power on
    sim_ready: float = 15.0      # +CPIN: READY after a slot switch
    refresh: float = 30.0        # periodic signal/registration refresh while idle
    probe: float = 2.0
    probe_tries: int = 3
    quarantine_retry: float = 60.0
    reappear: float = 10.0       # a vanished device (USB re-enumerating) may take this to return
    idle_wait: float = 1.0
