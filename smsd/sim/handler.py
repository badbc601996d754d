"""What a command handler of the simulated modems is, and the module it acts on.

A handler (commands.py, sms.py) takes a `Module` and one parsed command and returns a `Reply`.
`Module` names exactly what the handlers read and change on a modem module; `SimModem`
(modem.py) implements it, and mypy checks that it has every member. So the handlers depend on
this module, the modem depends on the handler tables, and neither side imports the other.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from smsd.sim.atcmd import OP_EXEC, OP_READ, OP_SET, OP_TEST, AtCmd, Reply, error, ok
from smsd.sim.callstate import CallState
from smsd.sim.faults import Faults
from smsd.sim.linkstate import Link
from smsd.sim.network import Network, SimCard
from smsd.sim.profiles import Profile
from smsd.sim.timing import SimTiming


class Module(Protocol):
    """One simulated modem module as its command handlers see it."""

    # Settings the host changes with commands; ATZ and a boot restore them.
    echo: bool
    cmee: int
    cmgf: int
    cnmi: tuple[int, int, int, int, int]
    creg_n: int
    cereg_n: int
    cfun: int
    # The module, its SIM slots and the world around it.
    port: int
    slot: int
    slots: int
    pin_ok: bool
    reg: int
    fault: str
    faults: Faults                # counted and switched faults (faults.py)
    imei: str
    profile: Profile
    network: Network
    timing: SimTiming
    calls: CallState              # +CLIP, the current call, the last release cause
    link: Link                    # AT+CMMS and the radio link it holds open (cmms.py)
    now: Callable[[], float]      # the board's clock

    @property
    def card(self) -> SimCard: ...

    @property
    def registered(self) -> bool: ...

    def sim_state(self) -> str: ...

    def next_mr(self) -> int: ...

    def submit_delay(self) -> float: ...

    def later(self, delay: float, fn: Callable[[], None]) -> None: ...

    def urc(self, *lines: str) -> None: ...

    def complete(self, reply: Reply) -> None: ...

    def sim_unlocked(self) -> None: ...

    def power_on(self) -> None: ...

    def shutdown(self) -> None: ...

    def settle_registration(self, restart: bool = False) -> None: ...


Handler = Callable[[Module, AtCmd], Reply]
_OP_NAMES = {OP_EXEC: "exec", OP_READ: "read", OP_SET: "set", OP_TEST: "test"}


def by_op(**ops: Handler) -> Handler:
    """One handler per syntax form; a test form without its own handler answers plain OK."""
    def handler(m: Module, cmd: AtCmd) -> Reply:
        fn = ops.get(_OP_NAMES[cmd.op])
        if fn is None:
            return ok() if cmd.op == OP_TEST else error()
        return fn(m, cmd)
    return handler
