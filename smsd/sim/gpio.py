"""The simulated modems on gpiozero mock pins: the board's lines really switch them.

Theory of operation. Each simulated module gets mock pins for PWRKEY, RESET, POWER_EN and
STATUS. The output pins are `WatchedPin`s: every level the board drives is reported to the
module's `SimModuleLines`, which times each press (asserted -> released) and applies the
module's rules from its PulseTiming, the same data the board drives by:

- PWRKEY released after at least `on_min` while the module is off (and supplied): it boots;
  after at least `off_min` while it is on: it switches off. Shorter presses do nothing.
- RESET released after at least `reset_min` while on: it reboots (silent, then ready URCs).
- POWER_EN deasserted: the module loses its supply and is off; asserted again it stays off
  until a PWRKEY press, like the real modules.

STATUS is a `SensePin` whose level is read live from the simulated module, so the board sees
the module go down the moment it does. Every press is recorded in `pulses` for tests.

The SIM_MUX lines (multi-slot ports) are `WatchedPin`s too, always active high like the board
drives them: after every change the slot they spell (first line least significant) is routed to
the module with `SimBoard.select_sim`, exactly as a multiplexer chip switches the card contacts
at once. The board sets the lines one by one, so a two-line change passes through another
slot; that is harmless because the worker has the SIM interface down (CFUN=0) meanwhile, and a
value naming no fitted slot is ignored.

`SimPinFactory` is gpiozero's MockFactory with room for a 32-port board (a Pi has 54 GPIOs; a
simulated board numbers its lines from 100). It overrides three methods of gpiozero 1.6's pin
factory API (the version Debian 12 ships).
"""
from __future__ import annotations

import logging
from collections import defaultdict
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from gpiozero import Factory, PinNonPhysical
from gpiozero.pins.mock import MockFactory, MockPin

from smsd.board.board import Board
from smsd.board.description import BoardDescription, PortLines, canonical_pin
from smsd.board.lines import TIMINGS, PulseTiming
from smsd.sim.board import SimBoard

log = logging.getLogger("smsd.sim")

FIRST_PIN = 100           # simulated lines: 100 + 10 * port + offset
BUTTON_PIN = 99
Clock = Callable[[], float]


def _number(spec: Any) -> int:
    return int(canonical_pin(str(spec)).removeprefix("GPIO"))


class SimPinFactory(MockFactory):            # type: ignore[misc]
    """A mock pin factory that accepts any GPIO number, not only the 54 of a Pi.

    gpiozero's local factories share one pin table per process (one Pi has one set of pins);
    each simulated board gets its own, so two simulations (or tests) never share a pin."""

    def __init__(self) -> None:
        super().__init__()
        self.pins: dict[int, Any] = {}
        self._reservations: defaultdict[int, list[Any]] = defaultdict(list)
        self._res_lock = threading.Lock()

    def pin(self, spec: Any, pin_class: Any = None, **kwargs: Any) -> Any:
        number = _number(spec)
        if number in self.pins:
            return self.pins[number]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinNonPhysical)   # no header: it is simulated
            pin = (pin_class or self.pin_class)(self, number, **kwargs)
        self.pins[number] = pin
        return pin

    def reserve_pins(self, requester: Any, *pins: Any) -> None:
        Factory.reserve_pins(self, requester, *(_number(p) for p in pins))

    def release_pins(self, reserver: Any, *pins: Any) -> None:
        Factory.release_pins(self, reserver, *(_number(p) for p in pins))


class WatchedPin(MockPin):                    # type: ignore[misc]
    """A mock pin that reports every change of level, including those its device drives."""

    listener: Callable[[bool], None] | None = None

    def _change_state(self, value: bool) -> bool:
        changed = bool(super()._change_state(value))
        if changed and self.listener is not None:
            self.listener(bool(value))
        return changed


class SensePin(MockPin):                      # type: ignore[misc]
    """A mock input whose level is read live from a source (the module's STATUS output)."""

    source: Callable[[], bool] | None = None

    def _get_state(self) -> bool:
        return self.source() if self.source is not None else bool(super()._get_state())


@dataclass(frozen=True)
class Pulse:
    line: str           # "power_key" | "reset" | "power_enable"
    seconds: float      # how long the line was asserted (power_enable: how long it was off)
    effect: str         # "on" | "off" | "reboot" | "restored" | "none"


class SimModuleLines:
    """One simulated module's reaction to its lines (see the theory of operation)."""

    def __init__(self, board: SimBoard, port: int, timing: PulseTiming,
                 clock: Clock = time.monotonic) -> None:
        self.board = board
        self.port = port
        self.timing = timing
        self.pulses: list[Pulse] = []
        self.supplied = True
        self._clock = clock
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()

    def level(self, line: str, asserted: bool) -> None:
        with self._lock:
            if line == "power_enable":
                self._supply(asserted)
            elif asserted:
                self._since[line] = self._clock()
            elif line in self._since:           # else: the line's initial level, no press
                width = self._clock() - self._since.pop(line)
                press = self._power_key if line == "power_key" else self._reset
                self._record(line, width, press(width))

    def _record(self, line: str, seconds: float, effect: str) -> None:
        self.pulses.append(Pulse(line, seconds, effect))
        log.info("sim port %d: %s %.0f ms -> %s", self.port, line, seconds * 1000, effect)

    def _power_key(self, width: float) -> str:
        powered = self.board.is_powered(self.port)
        if not self.supplied:
            return "none"
        if powered and width >= self.timing.off_min:
            self.board.power_off(self.port)
            return "off"
        if not powered and width >= self.timing.on_min:
            self.board.power_on(self.port)
            return "on"
        return "none"

    def _reset(self, width: float) -> str:
        if self.board.is_powered(self.port) and width >= self.timing.reset_min:
            self.board.power_on(self.port)      # a power cycle: the module reboots
            return "reboot"
        return "none"

    def mux_changed(self, levels: list[bool]) -> None:
        """The SIM_MUX lines now read `levels` (least significant first): route that slot."""
        slot = sum(1 << bit for bit, high in enumerate(levels) if high)
        if slot >= self.board.slots:
            log.info("sim port %d: sim_mux selects slot %d, which has no holder", self.port, slot)
            return
        log.info("sim port %d: sim_mux -> slot %d", self.port, slot)
        self.board.select_sim(self.port, slot)

    def _supply(self, on: bool) -> None:
        now = self._clock()
        if not on and self.supplied:
            self.supplied = False
            self._since["power_enable"] = now
            self.board.power_off(self.port)
            self._record("power_enable", 0.0, "off")
        elif on and not self.supplied:
            # Powered again, but off until PWRKEY: the pulse is the time without supply.
            self.supplied = True
            self._record("power_enable", now - self._since.pop("power_enable", now), "restored")


class SimGpio:
    """Hangs every simulated module of `board` on the mock pins `description` names.

    Build it before the Board (smsd.board) claims the same pins on the same factory."""

    def __init__(self, board: SimBoard, description: BoardDescription, factory: SimPinFactory,
                 timings: Mapping[str, PulseTiming] = TIMINGS,
                 clock: Clock = time.monotonic) -> None:
        self.factory = factory
        self.modules: dict[int, SimModuleLines] = {}
        for lines in description.ports:
            module = SimModuleLines(board, lines.port, timings[lines.model], clock)
            self.modules[lines.port] = module
            self._wire(lines, module)

    def _wire(self, lines: PortLines, module: SimModuleLines) -> None:
        for name in ("power_key", "reset", "power_enable"):
            spec = getattr(lines, name)
            if spec is not None:
                pin = self.factory.pin(spec, pin_class=WatchedPin)
                pin.listener = _listener(module, name, lines.active_high)
        if lines.sim_mux:
            self._wire_mux(lines, module)
        if lines.status is not None:
            sense = self.factory.pin(lines.status, pin_class=SensePin)
            port, high = lines.port, lines.status_active_high
            sense.source = lambda: module.board.is_powered(port) == high


    def _wire_mux(self, lines: PortLines, module: SimModuleLines) -> None:
        pins = [self.factory.pin(spec, pin_class=WatchedPin) for spec in lines.sim_mux]
        for pin in pins:
            pin.listener = lambda _level: module.mux_changed([p.state for p in pins])


def _listener(module: SimModuleLines, line: str, active_high: bool) -> Callable[[bool], None]:
    return lambda level: module.level(line, level == active_high)


def simulated_description(board: SimBoard, slots: int = 1,
                          template: BoardDescription | None = None) -> BoardDescription:
    """The board description of a simulated board: every port fully wired on mock pins.

    With a `template` (a real description file given with --simulate), its lines are kept and
    only the serial devices and modem models are replaced by the simulator's."""
    if template is not None:
        return _from_template(board, template)
    ports = tuple(_sim_port(board, port, slots) for port in range(board.ports))
    return BoardDescription(name="simulated", button=f"GPIO{BUTTON_PIN}", ports=ports,
                            source="<simulated board>")


def _sim_port(board: SimBoard, port: int, slots: int) -> PortLines:
    base = FIRST_PIN + 10 * port
    mux = tuple(f"GPIO{base + 5 + i}" for i in range((slots - 1).bit_length()))
    return PortLines(port, board.device(port), model=board.profile(port), slots=slots,
                     power_key=f"GPIO{base}", reset=f"GPIO{base + 1}",
                     power_enable=f"GPIO{base + 2}", status=f"GPIO{base + 3}",
                     led=f"GPIO{base + 4}", sim_mux=mux)


def _from_template(board: SimBoard, template: BoardDescription) -> BoardDescription:
    ports = []
    for lines in template.ports:
        if lines.port >= board.ports:
            raise ValueError(f"{template.source}: [port.{lines.port}] but the simulated board "
                             f"has {board.ports} port(s)")
        ports.append(replace(lines, device=board.device(lines.port),
                             model=board.profile(lines.port)))
    return replace(template, ports=tuple(ports))


def simulated_board(board: SimBoard, slots: int = 1, template: BoardDescription | None = None,
                    timings: Mapping[str, PulseTiming] = TIMINGS,
                    **board_kwargs: Any) -> tuple[Board, SimGpio]:
    """The real Board code driving `board`'s modules through mock pins (simulate mode)."""
    description = simulated_description(board, slots, template)
    factory = SimPinFactory()
    gpio = SimGpio(board, description, factory, timings)
    return Board(description, factory, timings, **board_kwargs), gpio
