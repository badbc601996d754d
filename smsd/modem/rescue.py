"""The worker's side of the recovery ladder: one action per rung (see recovery.py).

A mixin of ModemWorker, kept apart so the worker module stays about normal operation. Every
action returns True when the modem answers and is initialised again; failures of the modem or
port are caught here, a stop request is not.
"""
from __future__ import annotations

import logging
import os
import queue
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from smsd.errors import ModemError, PortUnavailable
from smsd.model import (REG_UNKNOWN, STATE_INIT, STATE_QUARANTINED, STATE_READY,
                        STATE_RECOVERING, ModemJob, PortInfo, SendResult)

from . import recovery, storage
from .channel import Channel, ModemHung
from .jobs import SendPart
from .port import SerialPort
from .timing import Timing

log = logging.getLogger("smsd.modem")
ESC = b"\x1b"        # cancels a half-finished +CMGS prompt on the modem side


class SetupFailed(ModemError):
    """A required init step answered ERROR."""


Trouble = (ModemHung, PortUnavailable, SetupFailed)


class RescueMixin:
    port: int
    _timing: Timing
    _hooks: dict[str, Callable[[int], None]]
    _serial: SerialPort
    _channel: Channel
    _jobs: queue.SimpleQueue[ModemJob]
    _initialised: bool
    _expect_boot: bool
    _info: PortInfo
    _clock: Callable[[], float]
    _retry_at: float
    _boot_ready = True               # the ready URCs seen since the modem restarted by itself

    if TYPE_CHECKING:     # provided by ModemWorker
        def _set(self, **changes: Any) -> None: raise NotImplementedError
        def _initialise(self) -> None: raise NotImplementedError
        def _reset(self, _: Any = None) -> None: raise NotImplementedError
        def _wait_ready(self) -> bool: raise NotImplementedError
        def _result(self, result: SendResult) -> None: raise NotImplementedError
        def _waker_wait(self, wait: float) -> None: raise NotImplementedError

    def _recover(self, cause: object) -> None:
        reason = self._reason(cause)
        log.warning("port %d: %s; starting recovery", self.port, reason)
        # Registration is unknown while the modem does not answer: the port reads as down.
        # The reason stays in the port's info after the climb: get_port_info, the dashboard
        # and /metrics show what happened last (docs/recovery.md).
        self._set(state=STATE_RECOVERING, reg=REG_UNKNOWN, recovery_reason=reason,
                  recovered_by="", recoveries=self._info.recoveries + 1)
        self._hand_back_sends("port recovering")
        outcome = recovery.climb(self._rungs(), self._on_rung)
        # A rung that failed before its wait for the ready URCs (AT+CFUN=1,1 unanswered) must
        # not leave a later restart of the modem looking expected.
        self._expect_boot = False
        if outcome.recovered:
            log.info("port %d: recovered by %s (%s)", self.port, outcome.step, reason)
            self._set(recovery_step="", recovered_by=outcome.step)
            return
        log.error("port %d: quarantined after %s (%s); next try in %.0f s", self.port,
                  ", ".join(outcome.tried), reason, self._timing.quarantine_retry)
        self._retry_at = self._clock() + self._timing.quarantine_retry
        self._set(state=STATE_QUARANTINED, recovered_by=recovery.QUARANTINE)
        self._hand_back_sends("port quarantined")

    def _reason(self, cause: object) -> str:
        """What made the port climb the ladder, in words for people (a quarantined port that
        tries again keeps the reason it was quarantined for)."""
        if self._info.state == STATE_QUARANTINED and self._info.recovery_reason:
            return self._info.recovery_reason
        text = str(cause)
        if isinstance(cause, ModemHung):
            text = f"no answer to {cause.command.text!r}"
        elif isinstance(cause, PortUnavailable):
            text = f"port lost ({cause})"
        elif isinstance(cause, SetupFailed):
            text = f"init failed ({cause})"
        return text[:200]

    def _restarted_by_itself(self) -> None:
        """RDY from a modem we did not restart (a brown-out, a firmware crash): re-initialised
        like the ladder's reinit rung, and shown as a recovery of its own."""
        reason = "modem restarted by itself"
        self._boot_ready = False
        log.warning("port %d: %s; re-initialising", self.port, reason)
        self._set(state=STATE_INIT, recovery_step=recovery.REINIT, recovery_reason=reason,
                  recovered_by=recovery.REINIT, recoveries=self._info.recoveries + 1)

    def _storage_full(self) -> bool:
        """True when the SIM's message store is full, or holds messages left behind (a lost
        +CMTI, a failed read: storage.py): the caller drains it."""
        used, total = storage.usage(self._channel, self._timing.command)
        if 0 < total <= used:
            log.warning("port %d: SIM message storage full (%d/%d); reading it out",
                        self.port, used, total)
            self._set(recovery_reason=f"SIM storage full ({used}/{total})",
                      recovered_by="drain", recoveries=self._info.recoveries + 1)
        elif used:
            log.info("port %d: %d message(s) left in SIM storage; reading them", self.port, used)
        return used > 0

    def _on_rung(self, rung: str) -> None:
        log.warning("port %d: recovery step %s", self.port, rung)
        self._set(recovery_step=rung)
        self._hand_back_sends("port recovering")

    def _rungs(self) -> dict[str, recovery.Action]:
        rungs: dict[str, recovery.Action] = {
            recovery.RETRY: self._rung_retry, recovery.REINIT: self._rung_reinit,
            recovery.RESET: self._rung_reset, recovery.REOPEN: self._rung_reopen}
        for name in recovery.GPIO_RUNGS & self._hooks.keys():
            rungs[name] = self._gpio_rung(self._hooks[name])
        return rungs

    def _attempt(self, action: Callable[[], None]) -> bool:
        try:
            action()
        except Trouble as exc:
            log.info("port %d: recovery attempt failed: %s", self.port, exc)
            return False
        return True

    def _rung_retry(self) -> bool:
        for _ in range(self._timing.probe_tries):
            if self._attempt(self._probe):
                return self._initialised or self._attempt(self._initialise)
        return False

    def _probe(self) -> None:
        self._serial.write(ESC)
        self._channel.engine.reset()
        if not self._channel.ok("AT", self._timing.probe):
            raise SetupFailed("AT -> ERROR")
        self._set(state=STATE_READY if self._initialised else self._info.state)

    def _rung_reinit(self) -> bool:
        return self._attempt(self._initialise)

    def _rung_reset(self) -> bool:
        return self._attempt(self._reset)

    def _rung_reopen(self) -> bool:
        def reopen() -> None:
            self._serial.close()
            self._await_device()
            self._serial.open()
            self._channel.engine.reset()
            self._initialise()
        return self._attempt(reopen)

    def _await_device(self) -> None:
        """A USB modem that dropped off the bus comes back under its stable name (the udev
        link) within a few seconds: wait for the name rather than fail the rung at once."""
        deadline = self._clock() + self._timing.reappear
        while not os.path.exists(self._serial.device) and self._clock() < deadline:
            self._waker_wait(0.2)

    def _gpio_rung(self, hook: Callable[[int], None]) -> recovery.Action:
        def pulse() -> None:
            try:
                hook(self.port)
            except Exception as exc:    # a board driver fault must not kill the worker
                raise SetupFailed(f"GPIO hook failed: {exc}") from exc
            self._expect_boot = True
            self._wait_ready()
            self._initialise()
        return lambda: self._attempt(pulse)

    def _hand_back_sends(self, reason: str) -> None:
        kept: list[ModemJob] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if isinstance(job, SendPart):
                self._result(SendResult(job.part_id, ok=False, on_air=False, error=reason))
            else:
                kept.append(job)
        for job in kept:
            self._jobs.put(job)
