"""The simulated modules' identity writes: the IMEI (vendor command) and the SIM's own number.

The IMEI lives with the module on the network's list (`Network.imeis`), so it survives the
module's reboot and power cycle, as a real module's NV item does. The own number is written to
the SIM's MSISDN phonebook (AT+CPBS="ON", AT+CPBW=1,...), which is the card's `number`: it stays
with that SIM whichever slot is active, and AT+CNUM, USSD *101# and delivery use it from then on.
Which vendor command writes the IMEI is data (`IMEI_WRITE`), like the profiles' other commands.
"""
from __future__ import annotations

import functools
import weakref

from smsd.sim.atcmd import AtCmd, Reply, cme, int_arg, ok, unquote
from smsd.sim.commands import sim_gate
from smsd.sim.handler import Handler, Module, by_op
from smsd.sim.network import luhn_digit
from smsd.sim.profiles import Profile

# profile name -> (command, index of the IMEI argument, arguments before it that must match)
IMEI_WRITE: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "quectel": ("+EGMR", 2, ("1", "7")),       # AT+EGMR=1,7,"<imei>"
    "simcom": ("+SIMEI", 0, ()),               # AT+SIMEI=<imei>
}
STORAGES = ("SM", "ON", "FD", "ME")
_selected: weakref.WeakKeyDictionary[Module, str] = weakref.WeakKeyDictionary()


def valid_imei(imei: str) -> bool:
    return len(imei) == 15 and imei.isdigit() and luhn_digit(imei[:14]) == imei[14]


def _imei_set(m: Module, cmd: AtCmd) -> Reply:
    _, index, fixed = IMEI_WRITE[m.profile.name]
    if tuple(unquote(a) for a in cmd.args[:index]) != fixed or len(cmd.args) != index + 1:
        return cme(50)
    imei = unquote(cmd.args[index])
    if not valid_imei(imei):
        return cme(50)
    m.imei = imei
    m.network.imeis[m.port] = imei          # kept across the module's reboots
    return ok()


def _imei_read(m: Module, cmd: AtCmd) -> Reply:
    name, _, fixed = IMEI_WRITE[m.profile.name]
    return ok(f'{name}: {",".join(fixed + (chr(34) + m.imei + chr(34),))}' if fixed
              else f"{name}: {m.imei}")


def _cpbs_set(m: Module, cmd: AtCmd) -> Reply:
    storage = unquote(cmd.args[0]).upper()
    if storage not in STORAGES:
        return cme(50)
    gate = sim_gate(m)
    if gate is not None:
        return gate
    _selected[m] = storage
    return ok()


def _cpbs_read(m: Module, cmd: AtCmd) -> Reply:
    return sim_gate(m) or ok(f'+CPBS: "{_selected.get(m, "SM")}",0,250')


def _cpbw_set(m: Module, cmd: AtCmd) -> Reply:
    gate = sim_gate(m)
    if gate is not None:
        return gate
    if _selected.get(m, "SM") != "ON":
        return ok()                 # other phonebooks are not modelled: the write is dropped
    index = int_arg(cmd, 0, None, 1, 4)
    if index != 1:
        return cme(21)              # invalid index: the simulated SIM has one own number
    digits = unquote(cmd.args[1]) if len(cmd.args) > 1 else ""
    toa = int_arg(cmd, 2, 129, 0, 255)
    if not digits.isdigit() or len(digits) > 20:
        return cme(50)
    m.network.renumber(m.card, ("+" if toa == 145 else "") + digits)
    return ok()


@functools.cache
def handlers(profile: Profile) -> dict[str, Handler]:
    table: dict[str, Handler] = {
        "+CPBS": by_op(set=_cpbs_set, read=_cpbs_read,
                       test=lambda m, cmd: ok('+CPBS: ("SM","ON","FD","ME")')),
        "+CPBW": by_op(set=_cpbw_set, test=lambda m, cmd: ok("+CPBW: (1-250),20,(129,145),14")),
    }
    write = IMEI_WRITE.get(profile.name)
    if write is not None:
        table[write[0]] = by_op(set=_imei_set, read=_imei_read)
    return table


def lookup(profile: Profile, name: str) -> Handler | None:
    return handlers(profile).get(name)

