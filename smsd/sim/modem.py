"""One simulated modem module: line discipline, result codes, URCs, power and registration.

Theory of operation. Bytes from the host arrive through `feed()` (on the board's loop thread, under
the board lock). In command state each byte is echoed (until ATE0) and collected until CR, then the
line is parsed and each command is dispatched to a handler (`commands.py`, `sms.py`) that returns a
`Reply`. Most replies are written at once (sub-millisecond answers). Two states hold the port:

- PROMPT (after AT+CMGS=<n>): bytes are PDU hex until Ctrl-Z (submit) or ESC (cancel);
- BUSY (a DEFERRED reply, e.g. the submit taking `latency` seconds): input is buffered unprocessed,
  exactly like a module that is still working on the previous command.

URCs raised while the port is held are queued and written after the final result code, or, with
a small seeded probability, just before it (real modules do that); they are never written inside
a response line. Power-off, boot and the "hang" fault bump `epoch`: every timer scheduled through
`later()` belongs to an epoch and is dropped when it no longer matches, so a reset really forgets
the answers in flight.

Registration (`reg`) follows from power, CFUN, SIM and fault state: whenever it should become
registered the modem first searches (stat 2) for `register` seconds; each change is announced as
+CREG/+CEREG when enabled, and registering lets the network hand over waiting messages.
"""
from __future__ import annotations

import random
from collections.abc import Callable

from smsd.sim import calls, cmms, commands, faults, identity, sms
from smsd.sim.atcmd import AtCmd, BadArgs, Reply, error, parse_line
from smsd.sim.callstate import CallState
from smsd.sim.handler import Module
from smsd.sim.linkstate import Link
from smsd.sim.network import Network, Pending, SimCard
from smsd.sim.profiles import Profile
from smsd.sim.timing import SimTiming

CTRL_Z = 0x1A
ESC = 0x1B
MAX_LINE = 1024
CME_TEXT = {3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
            11: "SIM PIN required", 12: "SIM PUK required", 16: "incorrect password",
            30: "no network service", 50: "incorrect parameters", 100: "unknown"}
FAULTS = faults.LASTING           # the rest: smsd/sim/faults.py


class SimModem(Module):
    """One module; its command handlers see it as a `handler.Module`."""

    def __init__(self, port: int, profile: Profile, network: Network, slots: int,
                 timing: SimTiming, write: Callable[[bytes], None],
                 call_later: Callable[[float, Callable[[], None]], object], seed: int) -> None:
        self.port = port
        self.profile = profile
        self.network = network
        self.slots = slots
        self.timing = timing
        self._write = write
        self._call_later = call_later
        self.rng = random.Random(seed * 1009 + port)
        self.imei = network.imeis[port]
        self.fault = "none"
        self.faults = faults.Faults(random.Random(seed * 7919 + port))
        self.now: Callable[[], float] = lambda: 0.0    # the board's clock (faults' timers)
        self.slot = 0
        self.mr = 0
        self.epoch = 0
        self.powered = False
        self.booting = False
        self.reg = 0
        self._reg_gen = 0
        self.pin_ok = False
        self._line = bytearray()
        self._inbuf = bytearray()
        self._prompt: bytearray | None = None
        self._prompt_len = 0
        self._busy = False
        self._urcs: list[str] = []
        self.submit_time: float | None = None     # this module's own submit time (a slow cell)
        self.calls = CallState()
        self.link = Link()                        # AT+CMMS (cmms.py)
        self.reset_settings()
        network.attach(port, self)

    def reset_settings(self) -> None:
        """Power-on defaults (what ATZ / a reboot restores)."""
        self.echo = True
        self.cmee = 0
        self.cmgf = 0
        self.cnmi = (0, 0, 0, 0, 0)
        self.creg_n = 0
        self.cereg_n = 0
        self.cfun = 1
        self.calls.clip = False
        self.link.reset()

    # --- identity -----------------------------------------------------------------------------
    @property
    def card(self) -> SimCard:
        return self.network.card(self.port, self.slot)

    def sim_state(self) -> str:
        """"READY", "SIM PIN", "SIM PUK" or "ABSENT"."""
        if self.fault == "no_sim":
            return "ABSENT"
        if self.card.pin_tries <= 0:
            return "SIM PUK"
        if self.card.pin_enabled and not self.pin_ok:
            return "SIM PIN"
        return "READY"

    @property
    def registered(self) -> bool:
        return self.reg in (1, 5)

    def next_mr(self) -> int:
        mr = self.mr
        self.mr = (self.mr + 1) % 256
        return mr

    # --- timers bound to the current epoch -----------------------------------------------------
    def later(self, delay: float, fn: Callable[[], None]) -> None:
        epoch = self.epoch

        def fire() -> None:
            if self.epoch == epoch:
                fn()
        self._call_later(delay, fire)

    # --- input ----------------------------------------------------------------------------------
    def _listening(self) -> bool:
        return self.powered and not self.booting and self.fault != "hang"

    def feed(self, data: bytes) -> None:
        if not self._listening():
            return
        self._inbuf += data
        self._process_input()

    def _process_input(self) -> None:
        while self._inbuf and not self._busy and self._listening():
            b = self._inbuf[0]
            del self._inbuf[0]
            if self._prompt is not None:
                self._prompt_byte(b)
            else:
                self._command_byte(b)

    def _command_byte(self, b: int) -> None:
        if self.echo:
            self._emit(bytes((b,)))
        if b == 0x0D:
            line = self._line.decode("latin-1")
            self._line.clear()
            self._run_line(line.strip())
        elif b in (0x08, 0x7F):
            del self._line[-1:]
        elif b not in (0x0A, ESC, CTRL_Z) and len(self._line) < MAX_LINE:
            self._line.append(b)        # ESC / Ctrl-Z outside a prompt: ignored, as modules do

    def _prompt_byte(self, b: int) -> None:
        assert self._prompt is not None
        if b == CTRL_Z or b == ESC:
            pdu = self._prompt.decode("latin-1")
            self._prompt = None
            self._busy = False
            reply = sms.submit(self, self._prompt_len, pdu) if b == CTRL_Z else Reply()
            self._finish(reply)
            return
        if self.echo:
            self._emit(bytes((b,)))
        if b not in b"\r\n " and len(self._prompt) < 2 * MAX_LINE:
            self._prompt.append(b)

    # --- commands -------------------------------------------------------------------------------
    def _run_line(self, line: str) -> None:
        if not line:
            return
        cmds = parse_line(line)
        if cmds is None:
            if line[:2].upper() == "AT":
                self._respond(error())
            return                      # not a command line at all: modules ignore it
        lines: list[str] = []
        for cmd in cmds:
            reply = self._dispatch(cmd)
            lines += reply.lines
            if reply.final != "OK" or cmd is cmds[-1]:
                self._finish(Reply(tuple(lines), reply.final, reply.code, reply.then))
                return
            if reply.then is not None:
                reply.then()

    def _dispatch(self, cmd: AtCmd) -> Reply:
        handler = (calls.HANDLERS.get(cmd.name) or commands.lookup(self.profile, cmd.name)
                   or sms.HANDLERS.get(cmd.name) or cmms.HANDLERS.get(cmd.name)
                   or identity.lookup(self.profile, cmd.name))
        if handler is None:
            return error()
        forced = self.faults.before_command(cmd, self.now())
        if forced is not None:
            return forced
        try:
            return handler(self, cmd)
        except (BadArgs, IndexError):     # arguments missing or malformed
            return error()

    def _finish(self, reply: Reply) -> None:
        if reply.final == "DEFERRED":
            self._write_lines(reply.lines)
            self._busy = True
        elif reply.final == "PROMPT":
            self._write_lines(reply.lines)
            self._emit(b"\r\n> ")
            self._prompt = bytearray()
            self._prompt_len = reply.code
            self._busy = False
        elif self.faults.reply_delay():     # the `slow` fault: hold every answer
            self._busy = True
            self.later(self.faults.reply_delay(), lambda: self.complete(reply))
        else:
            self._respond(reply)

    def complete(self, reply: Reply) -> None:
        """Finish a DEFERRED command and go on with input that arrived meanwhile."""
        self._busy = False
        self._respond(reply)
        self._process_input()

    def _respond(self, reply: Reply) -> None:
        self._write_lines(reply.lines)
        early = self._urcs and self.rng.random() < self.timing.urc_early
        if early:
            self._flush_urcs()
        if not self.faults.drop_final(reply):
            self._write_lines((self.final_text(reply),))
        self._flush_urcs()
        self._emit(self.faults.after_reply())
        if reply.then is not None:
            reply.then()

    def final_text(self, reply: Reply) -> str:
        if reply.final in ("OK", "ERROR", "NO CARRIER"):      # NO CARRIER: ATA without a call
            return reply.final
        if self.cmee == 0:
            return "ERROR"
        if reply.final == "CMS":
            return f"+CMS ERROR: {reply.code}"
        if self.cmee == 2:
            return f"+CME ERROR: {CME_TEXT.get(reply.code, 'unknown')}"
        return f"+CME ERROR: {reply.code}"

    # --- output ---------------------------------------------------------------------------------
    def _emit(self, data: bytes) -> None:
        if self._listening():
            self._write(data)

    def _write_lines(self, lines: tuple[str, ...] | list[str]) -> None:
        # One block: CR LF before the first line, CR LF after each (V.250 information text).
        if lines:
            self._emit(b"\r\n" + b"".join(ln.encode("latin-1", "replace") + b"\r\n"
                                          for ln in lines))

    def urc(self, *lines: str) -> None:
        """An unsolicited result: now when the port is idle, else after the current command."""
        if self._busy or self._prompt is not None:
            self._urcs.append("\n".join(lines))
        else:
            self._write_lines(lines)

    def _flush_urcs(self) -> None:
        urcs, self._urcs = self._urcs, []
        for urc in urcs:
            self._write_lines(urc.split("\n"))

    # --- power ----------------------------------------------------------------------------------
    def _drop_state(self) -> None:
        self.epoch += 1
        self._line.clear()
        self._inbuf.clear()
        self._prompt = None
        self._busy = False
        self._urcs.clear()

    def power_off(self) -> None:
        self._drop_state()
        self.calls.call = None          # a call dies with the module
        self.powered = False
        self.booting = False
        self.reg = 0

    def shutdown(self) -> None:
        """The power-off command: say goodbye the profile's way, then go dark."""
        self._write_lines(self.profile.power_down_urcs)
        self.power_off()

    def power_on(self) -> None:
        """Boot (a power cycle when already on): silent for `boot` seconds, then the ready URCs."""
        self.power_off()
        if self.fault == "hang":
            self.fault = "none"
        self.powered = True
        self.booting = True
        self.pin_ok = False
        self.reset_settings()
        self.later(self.timing.boot, self._booted)

    def boot_now(self) -> None:
        """A module that was already running when the board came up: ready and registered."""
        self.power_off()
        self.powered = True
        self.reset_settings()
        self.reg = self._target_reg()

    def _booted(self) -> None:
        self.booting = False
        state = self.sim_state()
        for urc in self.profile.ready_urcs:
            if urc == "+CPIN: READY" and state != "READY":
                self.urc("+CPIN: NOT INSERTED" if state == "ABSENT" else f"+CPIN: {state}")
                break
            self.urc(urc)
        self.settle_registration()

    def sim_unlocked(self) -> None:
        """PIN accepted after boot: the rest of the SIM's ready URCs follow, then registration."""
        urcs = self.profile.ready_urcs
        for urc in urcs[urcs.index("+CPIN: READY") + 1:]:
            self.urc(urc)
        self.settle_registration()

    def submit_delay(self) -> float:
        """Seconds from Ctrl-Z to +CMGS: the module's own setting, else the board's latency; plus
        the radio link's set-up unless AT+CMMS holds it open (cmms.py)."""
        base = self.timing.latency if self.submit_time is None else self.submit_time
        return base * self.faults.submit_factor() + self.link.setup_delay(self.now(), self.timing)

    def set_fault(self, fault: str) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        if fault == "none":
            self.faults.clear()
        if fault == "hang":
            self._drop_state()
        old, self.fault = self.fault, fault
        if old == "no_sim" and fault != "no_sim":
            self.pin_ok = False
        if self._listening() and "no_sim" in (old, fault):
            self.urc("+CPIN: NOT INSERTED" if fault == "no_sim" else f"+CPIN: {self.sim_state()}")
        self.settle_registration()
        if old == "hang" and self.registered:
            self.network.flush(self.card)

    # --- registration ---------------------------------------------------------------------------
    def _target_reg(self) -> int:
        if not self._listening() and self.fault != "hang":
            return 0
        if self.cfun != 1 or self.sim_state() != "READY":
            return 0
        if self.card.denied:
            return 3
        return 2 if self.fault == "no_network" else 1

    def settle_registration(self, restart: bool = False) -> None:
        """Move `reg` toward what the state allows; registering takes `register` seconds.

        restart: the SIM changed (slot switch, CFUN), so even a registered modem searches again.
        """
        target = self._target_reg()
        if target != 1:
            self._reg_gen += 1
            self._set_reg(target)
        elif restart or not self.registered:
            self._reg_gen += 1
            gen = self._reg_gen
            self._set_reg(2)
            self.later(self.timing.register, lambda: self._register_done(gen))

    def _register_done(self, gen: int) -> None:
        if gen == self._reg_gen and self._target_reg() == 1:
            self._set_reg(1)

    def _set_reg(self, stat: int) -> None:
        if stat == self.reg:
            return
        self.reg = stat
        if self.creg_n:
            self.urc(commands.creg_line("+CREG", self.creg_n, stat, query=False))
        if self.cereg_n:
            self.urc(commands.creg_line("+CEREG", self.cereg_n, stat, query=False))
        if self.registered and self.fault != "hang":
            self.network.flush(self.card)

    # --- network side ---------------------------------------------------------------------------
    def accept(self, card: SimCard, item: Pending) -> bool:
        """Take a message for `card` if it is the active, registered SIM; announce per CNMI."""
        if card is not self.card or not self.registered or not self._listening():
            return False
        return sms.receive(self, item)
