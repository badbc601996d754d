"""Handlers of the simulated modems' general commands (V.250, 27.007 and the vendor ones).

Each handler takes the module (`handler.Module`) and one parsed command and returns a `Reply`.
Effects that a real module shows only after its result code (URCs of a registration change, a
reset) go in `Reply.then`, which the modem runs after writing the final result code.
"""
from __future__ import annotations

import functools

from smsd.sim import stk
from smsd.sim.atcmd import (OP_EXEC, OP_READ, OP_SET, OP_TEST, AtCmd, Reply, cme, error,
                            int_arg, ok, unquote)
from smsd.sim.handler import Handler, Module, by_op
from smsd.sim.profiles import Profile, nwinfo_line

BALANCE_TEXT = "Your balance is 12.34 GBP, valid until 31/01/2027."
USSD_DCS = 15


def sim_gate(m: Module) -> Reply | None:
    """The +CME error of a command that needs an unlocked SIM, or None when it may run."""
    return {"ABSENT": cme(10), "SIM PIN": cme(11), "SIM PUK": cme(12)}.get(m.sim_state())


def creg_line(name: str, n: int, stat: int, *, query: bool) -> str:
    """+CREG/+CEREG as a read answer (`<n>,<stat>`) or as a URC (`<stat>`), with cell for n=2."""
    parts = [str(n)] if query else []
    parts.append(str(stat))
    if n == 2 and stat in (1, 5):
        parts += ['"1A2B"', '"01C3D4E5"', "7"]
    return f"{name}: " + ",".join(parts)


# --- V.250 basics -----------------------------------------------------------------------------
def _at(m: Module, cmd: AtCmd) -> Reply:
    return ok()


def _ati(m: Module, cmd: AtCmd) -> Reply:
    return ok(*m.profile.ati)


def _echo(m: Module, cmd: AtCmd) -> Reply:
    if cmd.value not in ("", "0", "1"):
        return error()
    m.echo = cmd.value == "1"
    return ok()


def _factory(m: Module, cmd: AtCmd) -> Reply:
    m.echo, m.cmee = True, 0
    return ok()


def _accept_zero_or_one(m: Module, cmd: AtCmd) -> Reply:
    return ok() if cmd.value in ("", "0", "1") else error()


# --- identification ---------------------------------------------------------------------------
def _fixed(attr: str) -> Handler:
    return by_op(exec=lambda m, cmd: ok(getattr(m.profile, attr)))


def _cgsn(m: Module, cmd: AtCmd) -> Reply:
    return ok(m.imei)


def _cimi(m: Module, cmd: AtCmd) -> Reply:
    return sim_gate(m) or ok(m.card.imsi)


def _iccid(m: Module, cmd: AtCmd) -> Reply:
    if cmd.op == OP_TEST:
        return ok()
    if m.sim_state() == "ABSENT":
        return cme(10)
    return ok(m.profile.iccid_prefix + m.card.iccid)


def _cnum(m: Module, cmd: AtCmd) -> Reply:
    return sim_gate(m) or ok(f'+CNUM: "","{m.card.number}",145')


# --- error reporting, SIM PIN -----------------------------------------------------------------
def _cmee_set(m: Module, cmd: AtCmd) -> Reply:
    m.cmee = int_arg(cmd, 0, 0, 0, 2)
    return ok()


def _cpin_read(m: Module, cmd: AtCmd) -> Reply:
    state = m.sim_state()
    return cme(10) if state == "ABSENT" else ok(f"+CPIN: {state}")


def _cpin_set(m: Module, cmd: AtCmd) -> Reply:
    state, card = m.sim_state(), m.card
    if state in ("ABSENT", "READY"):
        return cme(10 if state == "ABSENT" else 3)
    code = unquote(cmd.args[0])
    if state == "SIM PUK":
        if code != card.puk or len(cmd.args) < 2:
            return cme(16)
        card.pin = unquote(cmd.args[1])
    elif code != card.pin:
        card.pin_tries -= 1
        return cme(16)
    card.pin_tries, m.pin_ok = 3, True
    return ok(then=m.sim_unlocked)


def _clck_set(m: Module, cmd: AtCmd) -> Reply:
    if unquote(cmd.args[0]).upper() != "SC":
        return cme(4)
    if m.sim_state() == "ABSENT":
        return cme(10)
    mode, card = int_arg(cmd, 1, None, 0, 2), m.card
    if mode == 2:
        return ok(f"+CLCK: {int(card.pin_enabled)}")
    if len(cmd.args) < 3 or unquote(cmd.args[2]) != card.pin:
        card.pin_tries -= 1
        return cme(16)
    card.pin_tries, card.pin_enabled = 3, mode == 1
    return ok()


# --- network --------------------------------------------------------------------------------
def _csq(m: Module, cmd: AtCmd) -> Reply:
    if m.fault == "no_network" or m.cfun != 1:
        return ok("+CSQ: 99,99")
    return ok(f"+CSQ: {12 + (m.port * 7 + m.slot * 3) % 18},99")


def _reg_handler(name: str, attr: str) -> Handler:
    def set_n(m: Module, cmd: AtCmd) -> Reply:
        setattr(m, attr, int_arg(cmd, 0, 0, 0, 2))
        return ok()

    def read(m: Module, cmd: AtCmd) -> Reply:
        return ok(creg_line(name, getattr(m, attr), m.reg, query=True))
    return by_op(set=set_n, read=read, test=lambda m, cmd: ok(f"{name}: (0-2)"))


def _cops_read(m: Module, cmd: AtCmd) -> Reply:
    if not m.registered:
        return ok("+COPS: 0")
    return ok(f'+COPS: 0,0,"{m.network.operator}",7')


def _cops_test(m: Module, cmd: AtCmd) -> Reply:
    net = m.network
    return ok(f'+COPS: (2,"{net.operator}","{net.operator}","{net.operator_code}",7),,'
              "(0-4),(0-2)")


def _cgatt_read(m: Module, cmd: AtCmd) -> Reply:
    return ok(f"+CGATT: {int(m.registered)}")


def _nwinfo(m: Module, cmd: AtCmd) -> Reply:
    wanted = OP_READ if m.profile.nwinfo_query else OP_EXEC
    if cmd.op == OP_TEST:
        return ok()
    if cmd.op != wanted:
        return error()
    return ok(nwinfo_line(m.profile, m.registered, m.network.operator_code))


# --- USSD -------------------------------------------------------------------------------------
def ussd_answer(m: Module, request: str) -> tuple[int, str]:
    """The simulated network's USSD menu: (<m>, text)."""
    if request == "*100#":
        return 0, BALANCE_TEXT
    if request == "*101#":
        return 0, f"Your number is {m.card.number}."
    return 2, "Unknown application"


def _cusd_set(m: Module, cmd: AtCmd) -> Reply:
    n = int_arg(cmd, 0, 0, 0, 2)
    if n == 2 or len(cmd.args) < 2:
        return ok()
    gate = sim_gate(m)
    if gate is not None:
        return gate
    if not m.registered:
        return cme(30)
    status, text = ussd_answer(m, unquote(cmd.args[1]))
    m.later(m.timing.ussd, lambda: m.urc(f'+CUSD: {status},"{text}",{USSD_DCS}'))
    return ok()


# --- functionality, power, SIM slots ----------------------------------------------------------
def _cfun_set(m: Module, cmd: AtCmd) -> Reply:
    fun = int_arg(cmd, 0, None, 0, 4)
    if int_arg(cmd, 1, 0, 0, 1) == 1:
        return ok(then=m.power_on)
    if fun not in (0, 1, 4):
        return cme(50)
    m.cfun = fun
    return ok(then=m.settle_registration)


def _power_off(m: Module, cmd: AtCmd) -> Reply:
    if cmd.op == OP_TEST:
        return ok()
    return ok(then=m.shutdown)


def _slot(m: Module, cmd: AtCmd) -> Reply:
    name = m.profile.slot_cmd
    if cmd.op == OP_READ:
        return ok(f"{name}: {m.slot}")
    if cmd.op == OP_TEST:
        return ok(f"{name}: (0-{m.slots - 1})")
    if cmd.op != OP_SET:
        return error()
    slot = int_arg(cmd, 0, None, 0, 255)
    if slot >= m.slots:
        return error()
    if slot == m.slot:
        return ok()
    m.slot, m.pin_ok = slot, False
    return ok(then=lambda: m.settle_registration(restart=True))


GENERIC: dict[str, Handler] = {
    "": _at,
    "I": _ati,
    "E": _echo,
    "Z": _factory,
    "&F": _factory,
    "&W": _at,
    "V": _accept_zero_or_one,
    "Q": _accept_zero_or_one,
    "+CGMI": _fixed("cgmi"),
    "+CGMM": _fixed("cgmm"),
    "+CGMR": _fixed("cgmr"),
    "+CGSN": by_op(exec=_cgsn),
    "+GSN": by_op(exec=_cgsn),
    "+CIMI": by_op(exec=_cimi),
    "+CNUM": by_op(exec=_cnum),
    "+CMEE": by_op(set=_cmee_set, read=lambda m, cmd: ok(f"+CMEE: {m.cmee}"),
                   test=lambda m, cmd: ok("+CMEE: (0-2)")),
    "+CPIN": by_op(read=_cpin_read, set=_cpin_set),
    "+CLCK": by_op(set=_clck_set, test=lambda m, cmd: ok('+CLCK: ("SC")')),
    "+CSQ": by_op(exec=_csq, test=lambda m, cmd: ok("+CSQ: (0-31,99),(0-7,99)")),
    "+CREG": _reg_handler("+CREG", "creg_n"),
    "+CEREG": _reg_handler("+CEREG", "cereg_n"),
    "+COPS": by_op(read=_cops_read, set=lambda m, cmd: ok(), test=_cops_test),
    "+CGATT": by_op(read=_cgatt_read, set=lambda m, cmd: ok()),
    "+CSCS": by_op(read=lambda m, cmd: ok('+CSCS: "GSM"'), set=lambda m, cmd: ok()),
    "+CUSD": by_op(set=_cusd_set, read=lambda m, cmd: ok("+CUSD: 1")),
    "+CFUN": by_op(set=_cfun_set, read=lambda m, cmd: ok(f"+CFUN: {m.cfun}"),
                   test=lambda m, cmd: ok("+CFUN: (0,1,4),(0-1)")),
}


@functools.cache
def _table(profile: Profile) -> dict[str, Handler]:
    vendor: dict[str, Handler] = {profile.iccid_cmd: _iccid, profile.slot_cmd: _slot,
                                  profile.power_off_cmd: _power_off,
                                  profile.nwinfo_cmd: _nwinfo}
    return {**GENERIC, **vendor, **stk.handlers(profile)}


def lookup(profile: Profile, name: str) -> Handler | None:
    """The handler of `name` on a module of `profile`: vendor commands exist only on their vendor."""
    return _table(profile).get(name)
