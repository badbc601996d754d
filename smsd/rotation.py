"""SIM rotation and port exceptions: which SIM of a multi-SIM port sends, and what goes wrong.

Theory of operation. The scheduler asks `usable(port, info, now)` for every port that could take
a part. A SIM with budget left (smsd/budgets.py) is usable. One without -- its daily, monthly
or credit budget spent, or blocked -- is not; on a multi-SIM port the watch then asks the worker
to switch to the next slot, in slot order from the active one, whose SIM has budget and was not
refused by the network (a SwitchSlot job, the same switch set_port_info action=slot does). While
the switch runs the port cannot send; when no slot has budget the port stays out of the
scheduler's choice, so messages go to the other ports or wait, never lost.

What the workers report passes here through smsd/modem_events.py: a registration denied by the
network (+CREG stat 3) or a +CMS error that means the SIM itself is barred marks that SIM as
refused and moves the port on as well; such a part is not the message's fault, so it is retried
on another SIM instead of failing. Every exception is logged and stored as an `exception_info`
event (pushed as the JSON API's section 17 shows): SIM lost, modem hung and each recovery step,
registration denied, SIM barred, limit reached, slot switched.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Any, Callable, Protocol

from smsd.model import REG_NO_SIM, REG_OK, STATE_RECOVERING, ModemJob, PortInfo, SendResult
from smsd.modem.jobs import SwitchSlot
from smsd.budgets import SINGLE, SimLimits

log = logging.getLogger("smsd.rotation")

# +CMS causes that mean this SIM may not send at all (TS 24.011 Annex E, TS 23.040 9.2.3.22):
# operator determined barring, facility not subscribed, no SC subscription.
SIM_BARRED_CMS = frozenset({8, 50, 0xC1})
SWITCH_PATIENCE = 90.0          # seconds a requested switch may take before another is asked


class EventWriter(Protocol):
    def emit(self, kind: str, payload: dict[str, Any], now: float) -> None: ...


def sim_of(info: PortInfo) -> int:
    """The slot number of the port's active SIM (SINGLE on a single-slot port)."""
    return SINGLE if info.slots <= 1 or info.slot == 255 else info.slot


class SimWatch:
    def __init__(self, limits: SimLimits, events: EventWriter,
                 submit: Callable[[int, ModemJob], None], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._events = events
        self._submit = submit
        self._clock = clock
        self._lock = threading.Lock()
        self._refused: dict[tuple[int, int], str] = {}        # SIM -> why the network refused it
        self._switching: dict[int, tuple[int, float]] = {}    # port -> (target slot, asked at)
        self._reported: set[tuple[int, int, str]] = set()     # (port, slot, why) already pushed

    # --- the scheduler's question -----------------------------------------------------------
    def usable(self, port: int, info: PortInfo, now: float) -> bool:
        # Asked for every port on every dispatch pass. The three tables below are empty on a
        # healthy box, so each is looked at under the lock only when it holds something: an
        # entry added meanwhile by another thread is then seen at the next ask, as if this ask
        # had come first.
        slot = sim_of(info)
        if self._switching:
            with self._lock:
                if port in self._switching:
                    target, asked = self._switching[port]
                    if slot != target and now - asked < SWITCH_PATIENCE:
                        return False
                    del self._switching[port]
        # A refused SIM was pushed when refused; move on when a slot can.
        if self._refused and self.refused(port, slot):
            next_slot = self._next_slot(port, info, now)
            if next_slot is not None:
                self._switch(port, slot, next_slot, now)
            return False
        why = self.limits.why_not(port, slot, now)
        if not why:
            self._forget(port, slot)
            return True
        self._exhausted(port, info, slot, why, now)
        return False

    def refused(self, port: int, slot: int) -> str:
        with self._lock:
            return self._refused.get((port, slot), "")

    def _forget(self, port: int, slot: int) -> None:
        if not self._reported:
            return
        with self._lock:
            if any(r[:2] == (port, slot) for r in self._reported):
                self._reported = {r for r in self._reported if r[:2] != (port, slot)}

    def _exhausted(self, port: int, info: PortInfo, slot: int, why: str, now: float) -> None:
        target = self._next_slot(port, info, now)
        with self._lock:
            first = (port, slot, why) not in self._reported
            self._reported.add((port, slot, why))
        if first:
            action = "switch_slot" if target is not None else "stop_sending"
            log.warning("port %d slot %s: %s reached; %s", port, _slot_word(slot), why,
                        f"switching to slot {target}" if target is not None
                        else "the port takes no more messages")
            self.exception(port, "limit_reached", action, slot, now, reason=why)
        if target is not None:
            self._switch(port, slot, target, now)

    def _next_slot(self, port: int, info: PortInfo, now: float) -> int | None:
        """The next slot after the active one whose SIM may send; None when there is none."""
        if info.slots <= 1:
            return None
        current = sim_of(info)
        for step in range(1, info.slots):
            slot = (current + step) % info.slots
            if self.limits.has_budget(port, slot, now) and not self.refused(port, slot):
                return slot
        return None

    def _switch(self, port: int, old: int, target: int, now: float) -> None:
        with self._lock:
            if port in self._switching:
                return
            self._switching[port] = (target, now)
        log.warning("port %d: SIM rotation from slot %s to slot %d", port, _slot_word(old),
                    target)
        self._submit(port, SwitchSlot(target))

    # --- what the workers report (through smsd.modem_events) -------------------------------
    def port_changed(self, old: PortInfo | None, info: PortInfo) -> None:
        now = self._clock()
        if old is None:
            return
        self._recovery(old, info, now)
        slot = sim_of(info)
        if old.reg != REG_NO_SIM and info.reg == REG_NO_SIM:
            # Marked like a refused SIM, so that a board whose SIMs all went (a bad holder)
            # does not switch back and forth: it comes back when that SIM registers again.
            self._refuse(info, "SIM lost", "sim_lost", now)
        if info.slots > 1 and old.slot != info.slot and info.slot != 255:
            self.exception(info.port, "slot_switched", "switch_slot", info.slot, now,
                           reason=f"from slot {old.slot}")
        denied = info.denied
        if denied and not old.denied:
            self._refuse(info, "registration denied", "reg_denied", now)
        elif info.reg == REG_OK:
            with self._lock:
                self._refused.pop((info.port, slot), None)

    def _recovery(self, old: PortInfo, info: PortInfo, now: float) -> None:
        reason = info.recovery_reason       # stored with the event; the push keeps its keys
        if info.state == STATE_RECOVERING and old.state != STATE_RECOVERING:
            self.exception(info.port, "modem_hung", "recover", sim_of(info), now, reason)
        # Each rung of the ladder, the last one (quarantine) included.
        if info.recovery_step and info.recovery_step != old.recovery_step:
            self.exception(info.port, "modem_hung", info.recovery_step, sim_of(info), now,
                           reason)
        # The end of a climb: the rung that brought the modem back (docs/recovery.md).
        if info.recoveries != old.recoveries or info.recovered_by != old.recovered_by:
            if info.recovered_by and info.recovered_by != "quarantine":
                self.exception(info.port, "modem_recovered", info.recovered_by, sim_of(info),
                               now, reason)

    def part_result(self, port: int, info: PortInfo | None, result: SendResult) -> SendResult:
        """A barred SIM refuses the part: the SIM is refused and the part may go elsewhere."""
        if result.ok or result.cms not in SIM_BARRED_CMS or info is None:
            return result
        self._refuse(info, f"SIM barred (+CMS ERROR: {result.cms})", "sim_barred", self._clock())
        return replace(result, permanent=False)

    def _refuse(self, info: PortInfo, why: str, kind: str, now: float) -> None:
        slot = sim_of(info)
        with self._lock:
            self._refused[(info.port, slot)] = why
            self._switching.pop(info.port, None)    # a switch that led here is over
        log.warning("port %d slot %s: %s", info.port, _slot_word(slot), why)
        self.exception(info.port, kind, self._move_on(info, now), slot, now,
                       reason="" if kind == "sim_lost" else why)

    def _move_on(self, info: PortInfo, now: float) -> str:
        target = self._next_slot(info.port, info, now)
        if target is None:
            return "stop_sending" if info.slots > 1 else "none"
        self._switch(info.port, sim_of(info), target, now)
        return "switch_slot"

    # --- events -------------------------------------------------------------------------------
    def exception(self, port: int, kind: str, action: str, slot: int, now: float,
                  reason: str = "") -> None:
        """Store one exception_info event; its push carries port, type and action (and, as the
        register event does on a multi-SIM port, the slot)."""
        payload: dict[str, Any] = {"port": port, "type": kind, "action": action, "slot": slot}
        if reason:
            payload["reason"] = reason
        try:
            self._events.emit("exception_info", payload, now)
        except Exception:       # a full disk must not stop the port: the log has it
            log.exception("port %d: exception_info %s not stored", port, kind)


def _slot_word(slot: int) -> str:
    return "-" if slot == SINGLE else str(slot)
