"""Work handed to a modem worker (see docs/INTERFACES.md, smsd.modem)."""
from __future__ import annotations

from dataclasses import dataclass

from smsd.model import ModemJob


@dataclass(frozen=True)
class SendPart(ModemJob):
    part_id: int
    pdu_hex: str          # full PDU incl. SMSC field, as smsd.pdu.encode_submit gives it
    tpdu_len: int         # the AT+CMGS=<length> argument (octets after the SMSC field)


@dataclass(frozen=True)
class Ussd(ModemJob):
    text: str
    cancel: bool = False


@dataclass(frozen=True)
class SwitchSlot(ModemJob):
    slot: int


@dataclass(frozen=True)
class Reset(ModemJob):
    pass


@dataclass(frozen=True)
class Power(ModemJob):
    on: bool


@dataclass(frozen=True)
class SimLock(ModemJob):
    pin: str
    lock: bool


@dataclass(frozen=True)
class Refresh(ModemJob):
    pass
