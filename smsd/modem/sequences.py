"""Init and info sequences as data: which command, what it updates, whether it may fail.

A `Step` names its command literally or as `@attribute` of the modem profile (the ICCID command
differs per vendor); an empty profile attribute skips the step. `apply` folds the reply into the
PortInfo snapshot; it is pure, so the sequences are testable without a modem.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from smsd.at import responses as r
from smsd.model import REG_OK, REG_UNKNOWN, PortInfo

from .quirks import Profile

Apply = Callable[[PortInfo, tuple[str, ...], Profile], PortInfo]
ApplyError = Callable[[PortInfo, int | None], PortInfo]


@dataclass(frozen=True)
class Step:
    command: str
    apply: Apply | None = None
    required: bool = False           # failure (ERROR) aborts the sequence
    expect: str = ""                 # extra prefix claimed (literal or @attribute)
    timeout: float | None = None     # None: the worker's command timeout
    on_error: ApplyError | None = None   # folds a +CME ERROR code into the snapshot


def resolve(text: str, profile: Profile) -> str:
    return str(getattr(profile, text[1:])) if text.startswith("@") else text


# --- apply functions --------------------------------------------------------------------------------
def set_imei(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    return replace(info, imei=r.parse_imei(lines) or info.imei)


def set_imsi(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    return replace(info, imsi=r.parse_imsi(lines))


def set_iccid(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    return replace(info, iccid=r.parse_iccid(lines))


def set_number(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    return replace(info, number=r.parse_cnum(lines))


def set_smsc(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    return replace(info, smsc=r.parse_csca(lines))


def set_sim_state(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    blocked = r.parse_cpin(lines)
    if blocked:
        return replace(info, reg=blocked)
    return info if info.reg not in (r.REG_NO_SIM, r.REG_PIN_REQUIRE, r.REG_PUK_REQUIRE) \
        else replace(info, reg=REG_UNKNOWN)


# TS 27.007 9.2.1 +CME codes that describe the SIM rather than the command.
_CME_SIM = {10: r.REG_NO_SIM, 11: r.REG_PIN_REQUIRE, 12: r.REG_PUK_REQUIRE, 13: r.REG_NO_SIM}


def sim_error(info: PortInfo, cme: int | None) -> PortInfo:
    reg = _CME_SIM.get(cme) if cme is not None else None
    return replace(info, reg=reg) if reg else info


def set_registration(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    if info.reg in (r.REG_NO_SIM, r.REG_PIN_REQUIRE, r.REG_PUK_REQUIRE):
        return info      # the SIM state explains more than "not registered"
    found = r.parse_creg(lines)
    return replace(info, reg=found.reg, denied=found.stat == 3) if found else info


def set_signal(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    return replace(info, signal=r.parse_csq(lines))


def set_operator(info: PortInfo, lines: tuple[str, ...], profile: Profile) -> PortInfo:
    operator = r.parse_cops(lines)
    kind = operator.type if not profile.network_query or info.type == "UNKNOWN" else info.type
    return replace(info, operator=operator.name, type=kind)


def set_network_type(info: PortInfo, lines: tuple[str, ...], profile: Profile) -> PortInfo:
    parse = r.parse_qnwinfo if profile.network_prefix == "+QNWINFO" else r.parse_cpsi
    kind = parse(lines)
    return replace(info, type=kind) if kind != "UNKNOWN" or info.reg != REG_OK else info


def set_gprs(info: PortInfo, lines: tuple[str, ...], _: Profile) -> PortInfo:
    return replace(info, gprs=r.parse_cgatt(lines))


def set_slot(info: PortInfo, lines: tuple[str, ...], profile: Profile) -> PortInfo:
    if info.slots <= 1:
        return info
    slot = r.parse_slot(lines, profile.slot_prefix)
    return replace(info, slot=slot) if slot is not None else info


# --- the sequences ------------------------------------------------------------------------------------
IDENTITY = (
    Step("AT+CPIN?", set_sim_state, on_error=sim_error),
    Step("AT+CIMI", set_imsi),
    Step("@iccid_command", set_iccid, expect="@iccid_prefix"),
    Step("AT+CNUM", set_number),
    Step("AT+CSCA?", set_smsc),
)

NETWORK = (
    Step("AT+CREG?", set_registration),
    Step("AT+CSQ", set_signal),
    Step("AT+COPS?", set_operator),
    Step("@network_query", set_network_type, expect="@network_prefix"),
    Step("AT+CGATT?", set_gprs),
)

SETUP = (
    Step("AT+CMGF=0", required=True),
    Step('AT+CPMS="SM","SM","SM"'),
    Step("@cnmi"),
    Step('AT+CSCS="GSM"'),
    Step("AT+CREG=1"),
    Step("AT+CLIP=1"),                  # the caller's number with each RING (call records)
    # Keep the radio link open between sends (27.005 "more messages to send"), not only between
    # a long message's parts: a busy port then sets it up once, not per part. A module without
    # it answers ERROR, which a step that is not required ignores.
    Step("AT+CMMS=2"),
)

# ATE0 / AT+CMEE=1 / ATI run before these (ATI picks the profile); the drain of stored
# messages (AT+CMGL=4) runs after them.
INIT = (Step("AT+CGSN", set_imei), *IDENTITY, *SETUP, *NETWORK, Step("@slot_query", set_slot))

REFRESH_FULL = (*IDENTITY, *NETWORK, Step("@slot_query", set_slot))

# Periodic, while idle: cheap and enough to keep signal and registration current.
REFRESH_PERIODIC = (Step("AT+CSQ", set_signal), Step("AT+CREG?", set_registration))

SIM_BACK = (*IDENTITY, Step("AT+CREG?", set_registration))

AFTER_SLOT_SWITCH = (*IDENTITY, Step("AT+CREG?", set_registration), Step("AT+CSQ", set_signal),
                     Step("AT+COPS?", set_operator))
