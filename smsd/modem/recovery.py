"""The recovery ladder: escalating remedies for a modem that stopped answering.

Theory of operation. A worker whose command timed out (or whose port failed) climbs the ladder
one rung at a time, cheapest first: retry (probe with AT), re-init, AT+CFUN=1,1 reset, close and
reopen the port, then the board's GPIO lines (reset line, power key, power enable) when the board
provides them, and finally quarantine: the port stops taking work and is probed again after a long
pause. Any rung that leaves the modem answering ends the climb and resets the ladder. The rungs
are data; the worker supplies one action per rung name. Each worker climbs its own ladder in
its own thread, so one sick modem never delays the others.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

RETRY = "retry"
REINIT = "reinit"
RESET = "reset"
REOPEN = "reopen"
RESET_LINE = "reset_line"
POWER_KEY = "power_key"
POWER_ENABLE = "power_enable"
QUARANTINE = "quarantine"

LADDER: tuple[str, ...] = (RETRY, REINIT, RESET, REOPEN, RESET_LINE, POWER_KEY, POWER_ENABLE,
                           QUARANTINE)

# Rungs that need a board hook (smsd/board supplies them later); without one they are skipped.
GPIO_RUNGS = frozenset({RESET_LINE, POWER_KEY, POWER_ENABLE})

Action = Callable[[], bool]     # True: the modem answers again


@dataclass(frozen=True)
class Outcome:
    recovered: bool
    step: str                   # the rung that recovered it, or QUARANTINE
    tried: tuple[str, ...]


def climb(actions: Mapping[str, Action], on_step: Callable[[str], None]) -> Outcome:
    """Try each rung in order until one reports success; QUARANTINE is the floor."""
    tried: list[str] = []
    for rung in LADDER:
        if rung == QUARANTINE:
            break
        action = actions.get(rung)
        if action is None:
            continue
        on_step(rung)
        tried.append(rung)
        if action():
            return Outcome(True, rung, tuple(tried))
    on_step(QUARANTINE)
    return Outcome(False, QUARANTINE, tuple(tried))
