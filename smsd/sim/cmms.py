"""AT+CMMS, "more messages to send" (3GPP TS 27.005 3.5.6), on the simulated modems.

A real module sets up a radio link for each send command and releases it after the answer;
setting the link up costs time on the air before the submit itself. AT+CMMS keeps it:

* 0: disabled (the power-on value): every send pays the link set-up;
* 1: the link is kept while the next send command follows the last one's answer within the
  module's timer (1-5 s, the manufacturer's choice); once that time passes the link closes and
  <n> goes back to 0 by itself;
* 2: the same, but <n> stays 2 when the link closes, so the next send sets it up once and holds
  it again.

The simulated module's timer is `SimTiming.link_timer`; the set-up cost `SimTiming.link_setup`
is added to the submit time (`Module.submit_delay`) whenever the link is not open; the link
state itself is smsd/sim/linkstate.py.
"""
from __future__ import annotations

from smsd.sim.atcmd import AtCmd, Reply, int_arg, ok
from smsd.sim.handler import Handler, Module, by_op

def _set(m: Module, cmd: AtCmd) -> Reply:
    m.link.set_mode(int_arg(cmd, 0, None, 0, 2))
    return ok()


def _read(m: Module, cmd: AtCmd) -> Reply:
    return ok(f"+CMMS: {m.link.current_mode(m.now())}")


HANDLERS: dict[str, Handler] = {
    "+CMMS": by_op(set=_set, read=_read, test=lambda m, cmd: ok("+CMMS: (0-2)")),
}
