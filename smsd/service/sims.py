"""The SIMs of the ports: per-slot settings and budgets, IMEI and own-number writes, block.

`svc.sims` beside `svc.ports`. Slots are named as the JSON API names them: 0..3 on a multi-SIM
port, 255 for a single-slot port's SIM, and ALL_SLOTS (-1) for "every SIM of this port" (the
port's own value of a per-SIM key, which a slot's value overrides). Every change needs port
control and is validated whole before it is stored; the scheduler is kicked afterwards so a
budget given back or taken away applies on its next pass.
"""
from __future__ import annotations

import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable

from smsd.errors import BadRequest, ServiceError
from smsd.model import PortInfo
from smsd.modem.identity import SetImei, SetNumber, WriteOutcome
from smsd.modem.jobs import Refresh
from smsd.scheduler import Scheduler
from smsd.service.access import AccessPolicy
from smsd.service.ports import Ports
from smsd.rotation import sim_of
from smsd.portcfg import BadSetting
from smsd.budgets import (ALL_SLOTS, SINGLE, SLOT_PORT_KEYS, Remaining, SimLimits,
                            parse_slot_values)

WRITE_WAIT = 30.0           # seconds an IMEI or number write may take on the modem


class WriteFailed(ServiceError):
    """The modem refused a write or did not read the new value back (JSON: 500)."""

    reason = "write_failed"


@dataclass(frozen=True)
class SimView:
    """One port's active SIM as the APIs and the Ports page show it."""

    port: int
    slot: int
    number: str              # the one set_port_info stored for this SIM, else the modem's CNUM
    blocked: bool
    remaining: Remaining


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class Sims:
    def __init__(self, scheduler: Scheduler, ports: Ports, access: AccessPolicy, *,
                 clock: Callable[[], float] = time.time, wait: float = WRITE_WAIT) -> None:
        self._scheduler = scheduler
        self._ports = ports
        self._access = access
        self._clock = clock
        self._wait = wait

    @property
    def limits(self) -> SimLimits:
        return self._scheduler.sims.limits

    # --- reading -------------------------------------------------------------------------------
    def view(self, info: PortInfo) -> SimView:
        slot = sim_of(info)
        return SimView(info.port, slot, self.limits.number(info.port, slot) or info.number,
                       self.limits.blocked(info.port, slot),
                       self.limits.remaining(info.port, slot, self._clock()))

    def views(self, ports: list[int] | None = None) -> list[SimView]:
        return [self.view(info) for info in self._ports.info(ports)]

    def slots_of(self, port: int) -> list[int]:
        """The SIM slots of a port as this API names them (255 alone on a single-slot port)."""
        self._ports.known([port])
        slots = self._scheduler.info(port).slots
        return [SINGLE] if slots <= 1 else list(range(slots))

    def settings(self, port: int, slot: int) -> dict[str, str]:
        """Every per-SIM key with the value that applies to that SIM (or, for ALL_SLOTS, the
        port's value for its SIMs)."""
        self._check_slot(port, slot)
        return self.limits.effective(port, slot)

    def own_settings(self, port: int, slot: int) -> dict[str, str]:
        """Only the values this slot sets itself (the rest come from the port)."""
        self._check_slot(port, slot)
        return self.limits.own(port, slot)

    # --- changing ------------------------------------------------------------------------------
    def set_settings(self, port: int, slot: int, *, user: str | None = None,
                     **values: Any) -> None:
        self._access.require_port_control(user, "SIM settings")
        self._check_slot(port, slot)
        parsed = parse_slot_values(values)
        if slot == ALL_SLOTS and "credit" in parsed:
            raise BadSetting("credit: a credit counter belongs to one SIM; give a slot",
                             "credit", "belongs to one SIM")
        self.limits.put(port, slot, parsed)
        if set(parsed) & set(SLOT_PORT_KEYS):
            self._scheduler.submit(port, Refresh())       # the worker reads PIN and SMSC anew
        self._scheduler.kick()

    def set_blocked(self, port: int, blocked: bool, user: str | None = None,
                    slot: int | None = None) -> int:
        """Block (no dispatch) or unblock a SIM, by default the port's active one; its slot."""
        self._access.require_port_control(user)
        self._ports.known([port])
        if slot is None:
            slot = sim_of(self._scheduler.info(port))
        elif slot not in self.slots_of(port):
            raise BadRequest(f"port {port} has no SIM slot {slot}")
        self.limits.set_blocked(port, slot, blocked)
        self._scheduler.port_settings_changed(port)
        return slot

    def set_imei(self, port: int, imei: str, user: str | None = None) -> str:
        """Write the port module's IMEI; the value the modem reads back afterwards."""
        self._access.require_port_control(user)
        self._ports.known([port])
        imei = imei.strip()
        if len(imei) != 15 or not imei.isdigit() or not luhn_ok(imei):
            raise BadRequest("imei needs param: 15 digits with a valid check digit")
        return self._run(port, SetImei(imei)).value

    def set_number(self, port: int, number: str, user: str | None = None) -> str:
        """Store the active SIM's own number and write it to the SIM where the modem can;
        the number the port shows afterwards."""
        self._access.require_port_control(user)
        self._ports.known([port])
        number = number.strip()
        digits = number[1:] if number.startswith("+") else number
        if not digits.isdigit() or not 3 <= len(digits) <= 20:
            raise BadRequest("number needs param: a phone number of 3 to 20 digits, optional +")
        slot = sim_of(self._scheduler.info(port))
        self.limits.set_number(port, slot, number)
        job = SetNumber(number)
        self._scheduler.submit(port, job)
        try:
            outcome = job.reply.result(self._wait)
        except FutureTimeout:
            return number           # stored; the modem may still write it
        return outcome.value if outcome.ok else number

    def _run(self, port: int, job: SetImei) -> WriteOutcome:
        self._scheduler.submit(port, job)
        try:
            outcome = job.reply.result(self._wait)
        except FutureTimeout:
            raise WriteFailed(f"port {port}: the modem did not finish the write in "
                              f"{self._wait:g} s") from None
        if not outcome.ok:
            raise WriteFailed(f"port {port}: {outcome.error}")
        return outcome

    def _check_slot(self, port: int, slot: int) -> None:
        if slot != ALL_SLOTS and slot not in self.slots_of(port):
            raise BadRequest(f"port {port} has no SIM slot {slot}")
        self._ports.known([port])
