"""SimBoard: a simulated multi-port modem board whose every port is a real pty.

The daemon opens `board.device(port)` with unchanged pyserial code. Each pty's slave is put in raw
mode so bytes pass unchanged (no echo or CR/LF translation by the line discipline), and the board
keeps its own slave descriptor open so the master never sees a hang-up while the daemon reopens
the port. All ports share one loop thread (smsd.sim.loop) and one simulated network.

Like the package's udev rules give each USB modem a stable name (/dev/smsd/<usb path>-at) that
points at whatever tty it has now, the board names each port by a symlink in its own directory;
`device(port)` is that link, so a port that is unplugged and comes back under a new pty
(the `unplug` fault) is found again by reopening the same name.
"""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass

from smsd.errors import ConfigError
from smsd.sim import calls, faults, sms
from smsd.sim.loop import Loop
from smsd.sim.modem import SimModem
from smsd.sim.network import Network, SimCard
from smsd.sim.profiles import PROFILES, profile_for
from smsd.sim.timing import SimTiming

MAX_PORTS = 32
MAX_SLOTS = 4
MAX_SUBMIT_TIME = 600.0


@dataclass(frozen=True)
class SimIdentity:
    number: str
    imsi: str
    iccid: str


class SimBoard:
    def __init__(self, ports: int = 8, slots: int = 1, latency: float = 2.0,
                 profile: str = "mixed", clock: Callable[[], float] = time.monotonic,
                 seed: int = 0, timing: SimTiming | None = None,
                 journal: str | None = None) -> None:
        """journal: a file where the network appends one JSON line per accepted SUBMIT part
        (time, port, slot, from, to, mr, text, concat, status_report)."""
        _validate(ports, slots, latency, profile)
        self.ports = ports
        self.slots = slots
        self.timing = timing or SimTiming.scaled(latency)
        self._loop = Loop(clock)
        profiles = [profile_for(profile, p) for p in range(ports)]
        self.network = Network(ports, slots, seed, [pr.imei_tac for pr in profiles],
                               self._loop.call_later)
        self._masters: list[int] = []
        self._slaves: list[int] = []
        self._paths: list[str] = []
        self._modems = [SimModem(p, profiles[p], self.network, slots, self.timing,
                                 self._writer(p), self._loop.call_later, seed)
                        for p in range(ports)]
        for modem in self._modems:
            modem.now = clock
        self._journal = journal
        self._links = ""                # the directory of the stable names, made by start()
        self._started = False

    def _writer(self, port: int) -> Callable[[bytes], None]:
        def write(data: bytes) -> None:
            if port < len(self._masters):           # nothing to write to once stopped
                self._loop.write(self._masters[port], data)
        return write

    # --- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Create the ptys, switch every module on (already booted and registered), run."""
        if self._started:
            return
        if self._journal:
            self.network.open_journal(self._journal)
        self._links = tempfile.mkdtemp(prefix="smsd-sim-")
        for port, modem in enumerate(self._modems):
            self._masters.append(-1)
            self._slaves.append(-1)
            self._paths.append("")
            self._plug(port)
        with self._loop.lock:
            for modem in self._modems:
                modem.boot_now()
        self._loop.start()
        self._started = True

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._loop.stop()
        for fd in self._masters + self._slaves:
            if fd >= 0:
                os.close(fd)
        self._masters, self._slaves, self._paths = [], [], []
        shutil.rmtree(self._links, ignore_errors=True)
        self.network.close_journal()

    def __enter__(self) -> SimBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the daemon and tests look up --------------------------------------------------------
    def device(self, port: int) -> str:
        """The port's stable name (a link to its pty), for pyserial."""
        self._check_port(port)
        if not self._started:
            raise RuntimeError("SimBoard.start() first")
        return self._link(port)

    def pty(self, port: int) -> str:
        """The pty the port has now ("" while unplugged)."""
        self._check_port(port)
        with self._loop.lock:
            return self._paths[port] if self._started else ""

    def _link(self, port: int) -> str:
        return os.path.join(self._links, f"platform-sim.usb-usb-0:1.{port + 1}-at")

    # --- plugging (call on the loop thread, or before it runs) ----------------------------------
    def _plug(self, port: int) -> None:
        """A new pty for the port, and its stable name pointing at it."""
        master, slave = os.openpty()
        tty.setraw(slave)
        self._masters[port], self._slaves[port] = master, slave
        self._paths[port] = os.ttyname(slave)
        self._loop.add_reader(master, self._modems[port].feed)
        tmp = self._link(port) + ".new"
        os.symlink(self._paths[port], tmp)
        os.replace(tmp, self._link(port))          # atomic, like udev's own link update

    def _unplug(self, port: int, seconds: float) -> None:
        """The module drops off the bus: its tty and its name go; after `seconds` it is back
        (booted, under a new pty name), as a USB modem re-enumerates after a reset."""
        if self._masters[port] < 0 or not self._started:
            return
        self._modems[port].power_off()
        try:
            os.unlink(self._link(port))
        except FileNotFoundError:
            pass
        self._loop.remove_reader(self._masters[port])
        os.close(self._masters[port])
        os.close(self._slaves[port])
        self._masters[port] = self._slaves[port] = -1
        self._paths[port] = ""
        self._loop.call_later(seconds, lambda: self._replug(port))

    def _replug(self, port: int) -> None:
        if not self._started or self._masters[port] >= 0:
            return
        modem = self._modems[port]
        modem.boot_now()
        modem.pin_ok = False        # a module that restarted asks its SIM's PIN again
        modem.settle_registration()
        self._plug(port)
        self.network.flush(modem.card)      # what came meanwhile goes to its storage now

    def profile(self, port: int) -> str:
        self._check_port(port)
        return self._modems[port].profile.name

    def imei(self, port: int) -> str:
        self._check_port(port)
        return self.network.imeis[port]

    def sim_number(self, port: int, slot: int) -> str:
        return self.sim_identity(port, slot).number

    def sim_identity(self, port: int, slot: int) -> SimIdentity:
        self._check_port(port, slot)
        card = self.network.card(port, slot)
        return SimIdentity(card.number, card.imsi, card.iccid)

    # --- the outside world ------------------------------------------------------------------------
    def inject_sms(self, port: int, sender: str, text: str, slot: int | None = None) -> int:
        """An SMS from `sender` to the SIM in `slot` (default: the active one); returns parts."""
        self._check_port(port, slot)
        with self._loop.lock:
            return sms.inject(self.network, self._card(port, slot), sender, text,
                              self._modems[port].faults.shape_inbound)

    def inject_pdu(self, port: int, pdu_hex: str, slot: int | None = None) -> None:
        """A raw SMS-DELIVER (hex, SMSC field first), however corrupt, to the SIM in `slot`."""
        self._check_port(port, slot)
        with self._loop.lock:
            sms.inject_pdu(self.network, self._card(port, slot), pdu_hex)

    def place_call(self, port: int, caller: str, ring_seconds: float = 10.0,
                   hangup_cause: int = 16, slot: int | None = None,
                   talk_seconds: float = 5.0) -> str:
        """A voice call from `caller` to the SIM in `slot` (default: the active one), rung until
        the caller gives up after `ring_seconds` with `hangup_cause` (smsd/sim/calls.py).
        Returns what the caller hears: "ringing", "forwarded", "busy" or "unreachable"."""
        self._check_port(port, slot)
        if not 0 <= ring_seconds <= MAX_SUBMIT_TIME or not 0 <= talk_seconds <= MAX_SUBMIT_TIME:
            raise ValueError(f"ring_seconds and talk_seconds must be 0..{MAX_SUBMIT_TIME:g}")
        with self._loop.lock:
            return calls.place_call(self._modems[port], self._card(port, slot), caller,
                                    ring_seconds, hangup_cause, talk_seconds)

    def set_denied(self, port: int, denied: bool, slot: int | None = None) -> None:
        """The network refuses (True) or again accepts the registration of the SIM in `slot`
        (default: the active one): its module reports +CREG stat 3 while that SIM is in use."""
        self._check_port(port, slot)
        with self._loop.lock:
            self._card(port, slot).denied = denied
            self._modems[port].settle_registration(restart=not denied)

    def _card(self, port: int, slot: int | None) -> SimCard:
        """The SIM in `slot`, or the one the module talks to now (call under the loop lock)."""
        return self.network.card(port, self._modems[port].slot if slot is None else slot)

    def set_fault(self, port: int, fault: str, count: int | None = None,
                  seconds: float | None = None) -> None:
        """One of faults.KINDS ("none" clears them all): "hang" swallows input and answers
        nothing, "cms:500" refuses the next `count` submits, "unplug" takes the pty away for
        `seconds`, ... (smsd/sim/faults.py, docs/simulator.md)."""
        self._check_port(port)
        spec = faults.parse(fault, count, seconds)
        with self._loop.lock:
            self._set_fault(port, spec)

    def _set_fault(self, port: int, spec: faults.FaultSpec) -> None:
        modem = self._modems[port]
        if spec.kind in faults.LASTING:
            modem.set_fault(spec.kind)
        elif spec.kind == "unplug":
            # On the loop thread: the selector is changed where it is used.
            self._loop.call_later(0, lambda: self._unplug(port, spec.seconds))
        else:
            modem.faults.apply(modem, spec, self._loop.clock())

    def schedule_faults(self, entries: object) -> int:
        """Faults to set later (faults.parse_schedule): `[{"at", "port", "fault", "for",
        "count", "seconds"}, ...]`, or `{"random": {"every", "until", "for", "seed"}}` for a
        soak's random weather. Returns how many are planned."""
        if isinstance(entries, dict) and isinstance(entries.get("random"), dict):
            r = entries["random"]
            plan = faults.random_schedule(self.ports, float(r.get("every", 5)),
                                          float(r.get("until", 60)), float(r.get("for", 3)),
                                          int(r.get("seed", 0)))
        else:
            plan = faults.parse_schedule(entries, self.ports)
        for item in plan:
            self._loop.call_later(item.at, functools.partial(self._planned, item))
        return len(plan)

    def _planned(self, item: faults.Planned) -> None:
        with self._loop.lock:
            self._set_fault(item.port, item.spec)
        if item.clear_after:
            self._loop.call_later(item.clear_after,
                                  lambda: self.set_fault(item.port, "none"))

    def active_faults(self, port: int) -> list[str]:
        """The faults set on a port now (for tests and logs)."""
        self._check_port(port)
        with self._loop.lock:
            modem = self._modems[port]
            lasting = [] if modem.fault == "none" else [modem.fault]
            return lasting + modem.faults.active()

    def set_submit_time(self, port: int, seconds: float | None) -> None:
        """How long the port's network takes to accept a submitted part (None: the board's
        latency): a slow cell, e.g. to see a graceful stop wait for the parts on the air."""
        self._check_port(port)
        if seconds is not None and not 0 <= seconds <= MAX_SUBMIT_TIME:
            raise ValueError(f"submit time must be 0..{MAX_SUBMIT_TIME:g} s, not {seconds}")
        with self._loop.lock:
            self._modems[port].submit_time = seconds

    # --- power lines (the GPIO side of the board) -------------------------------------------------
    def power_on(self, port: int) -> None:
        """Switch a module on (power-cycle it when on): silent, then the ready URCs."""
        self._check_port(port)
        with self._loop.lock:
            self._modems[port].power_on()

    def power_off(self, port: int) -> None:
        self._check_port(port)
        with self._loop.lock:
            self._modems[port].power_off()

    # --- the SIM multiplexer (the board's card holders in front of each module) -----------------
    def select_sim(self, port: int, slot: int) -> None:
        """The board's mux now routes `slot`'s card to the module, as the AT slot command does.

        A module at CFUN=0 only notices at CFUN=1 (its SIM interface is down, so no registration
        follows until then); a running one loses its card and registers with the new one."""
        self._check_port(port, slot)
        with self._loop.lock:
            modem = self._modems[port]
            if modem.slot == slot:
                return
            modem.slot, modem.pin_ok = slot, False
            modem.settle_registration(restart=True)

    def active_slot(self, port: int) -> int:
        """The slot whose SIM the module talks to."""
        self._check_port(port)
        with self._loop.lock:
            return self._modems[port].slot

    def is_powered(self, port: int) -> bool:
        self._check_port(port)
        with self._loop.lock:
            return self._modems[port].powered

    def _check_port(self, port: int, slot: int | None = None) -> None:
        if not 0 <= port < self.ports:
            raise ValueError(f"no port {port} on a {self.ports}-port board")
        if slot is not None and not 0 <= slot < self.slots:
            raise ValueError(f"no slot {slot} (the board has {self.slots})")


def _validate(ports: int, slots: int, latency: float, profile: str) -> None:
    if not 1 <= ports <= MAX_PORTS:
        raise ConfigError(f"ports must be 1..{MAX_PORTS}, not {ports}")
    if not 1 <= slots <= MAX_SLOTS:
        raise ConfigError(f"slots must be 1..{MAX_SLOTS}, not {slots}")
    if latency < 0:
        raise ConfigError("latency must not be negative")
    if profile != "mixed" and profile not in PROFILES:
        raise ConfigError(f"profile must be quectel, simcom or mixed, not {profile!r}")
