"""One worker thread per modem port: owns the serial port, the AT engine and the modem's state.

Theory of operation. The thread boots the modem (open, init sequence, drain stored SMS), then
loops: (1) follow-up work queued by URCs (read an announced SMS, acknowledge a direct one);
(2) the periodic signal/registration refresh when due; (3) the next submitted job; (4) otherwise
wait on the tty and the submit wake-up pipe at once, so a job or a URC is served the moment it
arrives. Commands run one at a time through `Channel.run`, so nothing can slip in between the
+CMGS prompt and its answer. A command without answer raises `ModemHung` and the worker climbs
the recovery ladder (recovery.py) in its own thread; meanwhile queued sends are handed back
unsent so the scheduler can route them to healthy ports. Upward reports go only through the
`WorkerSink`, from this thread; a failing sink is logged and never kills the worker.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from smsd.at import Command, CommandError, Response, Urc
from smsd.at import responses as r
from smsd.errors import PortUnavailable
from smsd.model import (REG_POWER_OFF, STATE_INIT, STATE_POWER_OFF, STATE_QUARANTINED,
                        STATE_READY, InboundPdu, ModemJob, PortInfo,
                        SendResult, UssdReply)

from . import identity, inbound, recovery, sequences, slot, ussd
from .calls import CallForward, CallRecord, CallTracker
from .channel import Channel, ModemHung, WorkerStopped
from .errors_table import describe, is_permanent
from .jobs import Power, Refresh, Reset, SendPart, SimLock, SwitchSlot, Ussd
from .port import SerialPort, Waker
from .quirks import Profile, choose_profile, generic
from .rescue import RescueMixin, SetupFailed, Trouble
from .sink import WorkerSink
from .stk import URC_NAMES as STK_URCS
from .stk import StkJob, StkSession
from .timing import Timing

log = logging.getLogger("smsd.modem")

SIM_BLOCKED = (r.REG_NO_SIM, r.REG_PIN_REQUIRE, r.REG_PUK_REQUIRE)


class ModemWorker(RescueMixin):
    def __init__(self, port: int, device: str, sink: WorkerSink, slots: int = 1,
                 baudrate: int = 115200, clock: Callable[[], float] = time.monotonic, *,
                 timing: Timing = Timing(),
                 gpio_hooks: Mapping[str, Callable[[int], None]] | None = None,
                 settings: Callable[[], Mapping[str, str]] | None = None,
                 sim_mux: slot.SimMux | None = None) -> None:
        """sim_mux: the board's SIM multiplexer (port, slot); None = the AT slot command."""
        self.port = port
        # Per-port settings (smsd.portcfg keys), asked afresh at each use so a change applies
        # without a restart: sim_pin, smsc, submit_timeout, keepalive_period, keepalive,
        # receive, running.
        self._settings = settings
        self._pin_tried = ""             # never retry a PIN the SIM refused (3 tries -> PUK)
        self._inbound_held = False       # SMS left on the SIM while receiving was off
        self._sink = sink
        self._clock = clock
        self._timing = timing
        self._hooks = dict(gpio_hooks or {})
        self._sim_mux = sim_mux
        self._stk = StkSession(port)     # SIM Toolkit menus (stk.py)
        self._jobs: queue.SimpleQueue[ModemJob] = queue.SimpleQueue()
        self._followups: deque[Callable[[], object]] = deque()
        self._waker = Waker()
        self._stopping = threading.Event()
        self._serial = SerialPort(device, baudrate)
        self._channel = Channel(self._serial, clock, self._on_urc, self._stopping.is_set, log)
        self._calls = CallTracker(self._channel.run, self._followups.append,
                                  self._call_ended, timeout=timing.command)
        self._profile: Profile = generic.PROFILE
        self._info = PortInfo(port=port, slots=slots, slot=255 if slots <= 1 else 0)
        self._published: PortInfo | None = None
        self._initialised = False
        self._expect_boot = False
        self._next_refresh = 0.0
        self._retry_at = 0.0
        self._thread = threading.Thread(target=self._main, name=f"modem-{port}", daemon=True)
        self._calls.bind(lambda: (self.port, self._info.slot, self._info.imsi, self._info.number))

    # --- public API (any thread) -------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def submit(self, job: ModemJob) -> None:
        self._jobs.put(job)
        self._waker.wake()

    @property
    def info(self) -> PortInfo:
        return self._info

    @property
    def profile(self) -> Profile:
        return self._profile

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request_stop(self) -> None:
        """Ask the thread to end without waiting: the daemon asks every port before joining any,
        so a stop takes one port's time, not the sum. A command in progress is abandoned."""
        self._stopping.set()
        self._waker.wake()

    # --- thread body -----------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self._guarded(self._boot)
            while True:
                self._guarded(self._step)
        except WorkerStopped:
            pass
        except Exception:
            log.exception("port %d: worker crashed", self.port)
        finally:
            self._serial.close()
            self._waker.close()

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Trouble as exc:
            self._recover(exc)

    def _boot(self) -> None:
        self._serial.open()
        self._initialise()

    def _step(self) -> None:
        if self._followups:
            self._followups.popleft()()
            return
        now = self._clock()
        if self._info.state == STATE_QUARANTINED and now >= self._retry_at:
            self._recover("quarantine retry")
            return
        if self._info.state == STATE_READY and now >= self._next_refresh:
            self._periodic_refresh()
            return
        try:
            job = self._jobs.get_nowait()
        except queue.Empty:
            self._idle(now)
            return
        try:
            self._handle(job)
        except Trouble + (WorkerStopped,):
            raise
        except Exception:       # a bad job must cost that job only, never the port
            log.exception("port %d: job %r failed", self.port, job)

    def _idle(self, now: float) -> None:
        wait = self._idle_wait(now)
        if self._serial.is_open and self._info.state != STATE_QUARANTINED:
            self._channel.pump(wait, self._waker)
        else:
            self._waker_wait(wait)

    def _idle_wait(self, now: float) -> float:
        """Until the next timed duty of the current state (never 0 for a state without one)."""
        wait = self._timing.idle_wait
        if self._info.state == STATE_READY:
            wait = min(wait, self._next_refresh - now)
        elif self._info.state == STATE_QUARANTINED:
            wait = min(wait, self._retry_at - now)
        return max(0.0, wait)

    def _waker_wait(self, wait: float) -> None:
        if self._stopping.is_set():
            raise WorkerStopped
        self._waker.wait(wait)

    # --- info snapshot ---------------------------------------------------------------------------
    def _update(self, **changes: Any) -> None:
        self._info = replace(self._info, **changes)

    def _publish(self) -> None:
        if self._info != self._published:
            self._published = self._info
            self._tell(self._sink.port_changed, self._info)

    def _set(self, **changes: Any) -> None:
        self._update(**changes)
        self._publish()

    def _tell(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except Exception:
            log.exception("port %d: sink %s failed", self.port, getattr(call, "__name__", call))
            return None

    # --- sequences -------------------------------------------------------------------------------
    def _initialise(self) -> None:
        self._initialised = False
        self._stk.forget()              # a restarted SIM shows its main menu again
        self._set(state=STATE_INIT)
        self._channel.engine.reset()
        self._calls.reset()              # a call the modem had is gone
        if not self._channel.ok("ATE0", self._timing.command):
            raise SetupFailed("ATE0")
        self._channel.ok("AT+CMEE=1", self._timing.command)
        self._identify()
        self._enter_pin()
        self._run_steps(sequences.INIT)
        self._set_smsc()
        self._initialised = True
        self._set(state=STATE_READY, recovery_step="")
        self._next_refresh = self._clock() + self._refresh_period()
        self._drain_if_receiving()

    # --- per-port settings -------------------------------------------------------------------------
    def _setting(self, key: str, default: str = "") -> str:
        if self._settings is None:
            return default
        try:
            return str(self._settings().get(key, default))
        except Exception:
            log.exception("port %d: settings provider failed", self.port)
            return default

    def _receiving(self) -> bool:
        return self._setting("receive", "on") == "on" and self._setting("running", "on") == "on"

    def _refresh_period(self) -> float:
        if self._setting("keepalive", "on") != "on":
            return 24 * 3600.0          # no idle refresh; a Refresh job still runs
        period = self._setting("keepalive_period")
        return float(period) if period.isdigit() else self._timing.refresh

    def _submit_timeout(self) -> float:
        value = self._setting("submit_timeout")
        return float(value) if value.isdigit() else self._timing.cmgs

    def _enter_pin(self) -> bool:
        """Enter the configured PIN if the SIM asks for it; True when the SIM took it."""
        pin = self._setting("sim_pin")
        if not pin.isdigit() or pin == self._pin_tried:
            return False
        answer = self._channel.run(Command("AT+CPIN?", self._timing.command))
        if not isinstance(answer, Response) or r.parse_cpin(answer.lines) != r.REG_PIN_REQUIRE:
            return False
        self._pin_tried = pin
        result = self._channel.run(Command(f'AT+CPIN="{pin}"', self._timing.command))
        if isinstance(result, Response):
            self._pin_tried = ""
            log.info("port %d: SIM PIN entered", self.port)
            return True
        log.warning("port %d: the SIM refused the configured PIN (%s); not retried",
                    self.port, result.text)
        return False

    def _unlock_sim(self) -> None:
        if self._enter_pin():
            self._run_steps(sequences.SIM_BACK)

    def _set_smsc(self) -> None:
        smsc = self._setting("smsc")
        if not smsc or smsc == self._info.smsc:
            return
        toa = 145 if smsc.startswith("+") else 129
        if self._channel.ok(f'AT+CSCA="{smsc}",{toa}', self._timing.command):
            self._update(smsc=smsc)

    def _drain_if_receiving(self) -> None:
        if self._receiving():
            self._inbound_held = False
            inbound.drain(self._channel, self._deliver)
        else:
            self._inbound_held = True
            # Status reports are stored too (docs/durability.md) and are ours whatever the
            # port's receive setting: take them, leave the SMS on the SIM.
            inbound.drain(self._channel, self._deliver_report)

    def _deliver_report(self, pdu_hex: str, kind: str) -> bool:
        return kind == "status_report" and self._deliver(pdu_hex, kind)

    def _identify(self) -> None:
        result = self._channel.run(Command("ATI", self._timing.command, expect=("+GCAP",)))
        if isinstance(result, Response):
            self._profile = choose_profile(result.lines)
            self._update(model=r.parse_ati(result.lines).model)
        log.info("port %d: %s modem (%s profile)", self.port, self._info.model, self._profile.name)

    def _run_steps(self, steps: tuple[sequences.Step, ...]) -> None:
        for step in steps:
            text = sequences.resolve(step.command, self._profile)
            if not text:
                continue
            expect = sequences.resolve(step.expect, self._profile) if step.expect else ""
            cmd = Command(text, step.timeout or self._timing.command,
                          expect=(expect,) if expect else ())
            result = self._channel.run(cmd)
            if isinstance(result, CommandError):
                if step.required:
                    raise SetupFailed(f"{text} -> {result.text}")
                if step.on_error is not None:
                    self._info = step.on_error(self._info, result.cme)
                continue
            if step.apply is not None:
                self._info = step.apply(self._info, result.lines, self._profile)
        self._publish()

    def _periodic_refresh(self) -> None:
        self._next_refresh = self._clock() + self._refresh_period()
        self._run_steps(sequences.REFRESH_PERIODIC)
        if self._inbound_held or self._storage_full():
            self._drain_if_receiving()

    # --- jobs ------------------------------------------------------------------------------------
    def _handle(self, job: ModemJob) -> None:
        if isinstance(job, StkJob):
            self._stk.handle(job, self._channel, self._profile,
                             self._info.state == STATE_READY, self._timing.command)
            return
        handler = self._handlers().get(type(job))
        if handler is None:
            log.warning("port %d: unknown job %r", self.port, job)
            return
        handler(job)

    def _handlers(self) -> dict[type, Callable[[Any], None]]:
        return {CallForward: self._call_forward,
                SendPart: self._send_part, Ussd: self._ussd, SwitchSlot: self._switch_slot,
                Reset: self._reset, Power: self._power, SimLock: self._sim_lock,
                Refresh: self._refresh, identity.SetImei: self._identity,
                identity.SetNumber: self._identity}

    def _identity(self, job: identity.IdentityJob) -> None:
        outcome, changes = identity.run(job, self._channel, self._profile, self._timing.command,
                                        self._info.state == STATE_READY)
        self._set(**changes)
        job.reply.set_result(outcome)

    def _send_part(self, job: SendPart) -> None:
        if self._info.state != STATE_READY:
            self._result(SendResult(job.part_id, ok=False, on_air=False,
                                    error=f"port {self._info.state}"))
            return
        if not _is_hex(job.pdu_hex):
            self._result(SendResult(job.part_id, ok=False, permanent=True, on_air=False,
                                    error="malformed PDU"))
            return
        if not self._tell(self._sink.part_starting, self.port, job.part_id):
            return
        cmd = Command(f"AT+CMGS={job.tpdu_len}", self._submit_timeout(), prompt_payload=job.pdu_hex,
                      prompt_timeout=self._timing.command)
        try:
            answer = self._channel.run(cmd)
        except ModemHung as hung:
            # Before the prompt the PDU never left us: safe to resend elsewhere.
            self._result(SendResult(job.part_id, ok=False, on_air=hung.prompt_seen,
                                    error="timeout"))
            raise
        except PortUnavailable:
            self._result(SendResult(job.part_id, ok=False, on_air=True, error="port lost"))
            raise
        self._result(self._send_outcome(job, answer))

    def _send_outcome(self, job: SendPart, answer: Response | CommandError) -> SendResult:
        if isinstance(answer, Response):
            return SendResult(job.part_id, ok=True, mr=r.parse_cmgs(answer.lines))
        return SendResult(job.part_id, ok=False, cms=answer.cms, permanent=is_permanent(answer.cms),
                          error=describe(answer.cms) if answer.cms is not None else answer.text,
                          on_air=answer.prompt_seen)

    def _result(self, result: SendResult) -> None:
        self._tell(self._sink.part_result, self.port, result)

    def _ussd(self, job: Ussd) -> None:
        if self._info.state != STATE_READY:
            self._tell(self._sink.ussd_reply, UssdReply(self.port, "", 4))
            return
        if not job.cancel and not ussd.can_send(self._profile, job.text):
            log.warning("port %d: USSD %r cannot be sent in %s mode", self.port, job.text,
                        self._profile.ussd_mode)
            self._tell(self._sink.ussd_reply, UssdReply(self.port, "", 4))
            return
        text = "AT+CUSD=2" if job.cancel else ussd.request_command(self._profile, job.text)
        answer = self._channel.run(Command(text, self._timing.ussd, expect=()))
        if isinstance(answer, CommandError) and not job.cancel:
            self._tell(self._sink.ussd_reply, UssdReply(self.port, "", 4))

    def _call_forward(self, job: CallForward) -> None:
        job.reply(self._calls.forward_job(job, self._info.state, self._timing.ussd))

    def _switch_slot(self, job: SwitchSlot) -> None:
        if self._info.slots <= 1 or not 0 <= job.slot < self._info.slots:
            log.warning("port %d: no slot %d to switch to", self.port, job.slot)
            return
        if not self._select_slot(job.slot):
            log.warning("port %d: slot switch to %d failed", self.port, job.slot)
            return
        self._update(slot=job.slot, imsi="", iccid="", number="", reg=r.REG_UNKNOWN, denied=False)
        self._stk.forget()
        self._run_steps(sequences.AFTER_SLOT_SWITCH)
        # The new SIM's own PIN and SMSC (per-slot settings, smsd/budgets.py) apply from now on.
        if self._info.reg == r.REG_PIN_REQUIRE:
            self._unlock_sim()
        self._set_smsc()
        log.info("port %d: now on slot %d (imsi %s)", self.port, job.slot, self._info.imsi)
        inbound.drain(self._channel, self._deliver)

    def _select_slot(self, target: int) -> bool:
        if self._sim_mux is not None:
            return slot.switch_mux(self._channel, self._sim_mux, self.port, target,
                                   self._timing.sim_ready)
        return slot.switch(self._channel, self._profile, target, self._timing.sim_ready)

    def _reset(self, _: Reset | None = None) -> None:
        log.info("port %d: reset (AT+CFUN=1,1)", self.port)
        self._set(state=STATE_INIT)
        self._expect_boot = True
        self._channel.ok("AT+CFUN=1,1", self._timing.command)
        self._wait_ready()
        self._initialise()

    def _wait_ready(self) -> bool:
        self._channel.engine.reset()
        marker = self._profile.ready_marker
        try:
            # A SIM that waits for its PIN sends no further ready URCs: stop waiting there.
            return self._channel.wait_urc(lambda u: u.lines[0] == marker or _awaits_code(u),
                                          self._timing.boot)
        finally:
            self._expect_boot = False

    def _power(self, job: Power) -> None:
        if job.on:
            self._power_on()
        else:
            self._power_off()

    def _power_off(self) -> None:
        self._expect_boot = True
        if self._channel.ok(self._profile.power_off, self._timing.command * 2):
            self._set(state=STATE_POWER_OFF, reg=REG_POWER_OFF, signal=0, gprs="detached")
            log.info("port %d: powered off", self.port)
        self._expect_boot = False

    def _power_on(self) -> None:
        if self._info.state != STATE_POWER_OFF:
            self._refresh()
            return
        hook = self._hooks.get(recovery.POWER_KEY)
        if hook is None:
            # No power-key line on this board: only a module that never really went down
            # (CFUN-style power off) can come back; otherwise it stays off, not "broken".
            if not self._attempt(self._initialise):
                log.warning("port %d: cannot power on without a power-key line", self.port)
                self._set(state=STATE_POWER_OFF, reg=REG_POWER_OFF)
            return
        try:
            hook(self.port)
        except Exception as exc:
            raise SetupFailed(f"GPIO hook failed: {exc}") from exc
        self._expect_boot = True
        self._wait_ready()
        self._initialise()

    def _sim_lock(self, job: SimLock) -> None:
        if not job.pin.isdigit():       # TS 31.102: a PIN is 4..8 digits; never quote junk
            log.warning("port %d: SIM lock with a malformed PIN refused", self.port)
            return
        answer = self._channel.run(Command(
            f'AT+CLCK="SC",{1 if job.lock else 0},"{job.pin}"', self._timing.command))
        log.info("port %d: SIM lock %s -> %s", self.port, "on" if job.lock else "off",
                 "OK" if isinstance(answer, Response) else answer.text)
        self._refresh()

    def _refresh(self, _: Refresh | None = None) -> None:
        if self._info.state == STATE_READY and self._info.reg == r.REG_PIN_REQUIRE:
            self._unlock_sim()
        if self._info.state == STATE_READY:
            self._run_steps(sequences.REFRESH_FULL)
            self._set_smsc()
            self._next_refresh = min(self._next_refresh, self._clock() + self._refresh_period())
            if self._inbound_held:
                self._drain_if_receiving()

    # --- URCs (never issue commands here: queue follow-ups) ----------------------------------------
    def _on_urc(self, urc: Urc) -> None:
        if urc.lines[0] == self._profile.ready_marker or _awaits_code(urc):
            self._boot_ready = True         # a reboot's followup need not wait for it then
        if urc.name in STK_URCS:
            self._stk.on_urc(urc)
        handler = self._urc_handlers().get(urc.name)
        if handler is not None:
            handler(urc)

    def _urc_handlers(self) -> dict[str, Callable[[Urc], None]]:
        return {"+CMTI": self._urc_stored, "+CDSI": self._urc_stored, "+CMT": self._urc_direct,
                "+CDS": self._urc_direct, "+CUSD": self._urc_cusd, "+CREG": self._urc_reg,
                "+CEREG": self._urc_reg, "+CGREG": self._urc_reg, "+CPIN": self._urc_cpin,
                "RDY": self._urc_boot, "POWERED DOWN": self._urc_powered_down,
                "RING": self._urc_call, "+CRING": self._urc_call, "NO CARRIER": self._urc_call,
                "+CLIP": self._urc_call}

    def _urc_call(self, urc: Urc) -> None:
        # An SMS gateway takes no calls: each becomes a call record (calls.py), hung up or left
        # ringing by the port's call policy; get_port_info "callstate" shows it meanwhile.
        self._calls.on_urc(urc, self._setting("call_policy", "reject"), self._profile.hangup)
        self._set(callstate="Ringing" if self._calls.ringing else "Idle")

    def _call_ended(self, record: CallRecord) -> None:
        self._set(callstate="Idle")
        self._tell(lambda: self._sink.call_ended(record))

    def _urc_stored(self, urc: Urc) -> None:
        where = r.parse_new_message(urc.args)
        if where is not None and urc.name == "+CMTI" and not self._receiving():
            self._inbound_held = True       # receive off: it stays on the SIM until it is on
            return
        if where is not None:
            mem, index = where
            self._followups.append(lambda: inbound.read_and_delete(
                self._channel, self._deliver, mem, index))

    def _urc_direct(self, urc: Urc) -> None:
        if len(urc.lines) < 2:
            return
        kind = "status_report" if urc.name == "+CDS" else "deliver"
        if self._deliver(urc.lines[1], kind) and self._profile.ack_direct:
            self._followups.append(lambda: self._channel.ok("AT+CNMA", self._timing.command))

    def _urc_cusd(self, urc: Urc) -> None:
        reply = r.parse_cusd(urc.args)
        text = ussd.decode_reply(self._profile, reply)
        self._tell(self._sink.ussd_reply, UssdReply(self.port, text, reply.status))

    def _urc_reg(self, urc: Urc) -> None:
        found = r.parse_creg_fields(urc.args, is_answer=False)
        if found is not None and self._info.reg not in SIM_BLOCKED:
            self._set(reg=found.reg, denied=found.stat == 3)

    def _urc_cpin(self, urc: Urc) -> None:
        blocked = r.parse_cpin((f"+CPIN: {','.join(urc.args)}",))
        if blocked:
            self._set(reg=blocked)
            if blocked == r.REG_PIN_REQUIRE and self._initialised and not self._expect_boot:
                self._followups.append(self._unlock_sim)
        elif self._info.reg in SIM_BLOCKED:
            # The SIM is back (or a new one is in): its identity and registration are news.
            self._set(reg=r.REG_UNKNOWN)
            if self._initialised and not self._expect_boot:
                self._followups.append(lambda: self._run_steps(sequences.SIM_BACK))

    def _urc_boot(self, urc: Urc) -> None:
        if self._expect_boot or not self._initialised:
            return
        self._initialised = False
        self._restarted_by_itself()       # rescue.py: the recovery evidence
        ready_now = urc.lines[0] == self._profile.ready_marker
        self._followups.append(self._initialise if ready_now else self._after_reboot)

    def _after_reboot(self) -> None:
        if not self._boot_ready:            # its ready URCs may have come with the RDY
            self._expect_boot = True
            self._wait_ready()
        self._initialise()

    def _urc_powered_down(self, _: Urc) -> None:
        if not self._expect_boot:
            self._set(state=STATE_POWER_OFF, reg=REG_POWER_OFF, signal=0)

    def _deliver(self, pdu_hex: str, kind: str) -> bool:
        msg = InboundPdu(self.port, self._info.slot, pdu_hex, kind, self._info.imsi)
        try:
            self._sink.inbound(msg)
        except Exception:
            log.exception("port %d: sink refused inbound %s; kept on the SIM", self.port, kind)
            return False
        return True


def _awaits_code(urc: Urc) -> bool:
    return urc.name == "+CPIN" and r.parse_cpin(urc.lines[:1]) in (r.REG_PIN_REQUIRE,
                                                                   r.REG_PUK_REQUIRE)


_HEX = re.compile(r"[0-9A-Fa-f]+")


def _is_hex(text: str) -> bool:
    """An even number of hex digits (one regex match: a character loop in Python cost ~10 us
    for each part sent)."""
    return len(text) % 2 == 0 and _HEX.fullmatch(text) is not None
