"""Board: the modem ports' power, reset, status and SIM-mux lines, their LEDs and the button.

Theory of operation. The recovery ladder (smsd/modem/recovery.py) ends with three board rungs,
each a hook the worker calls from its own thread: `reset_line` (pulse RESET), `power_key` (a
PWRKEY cycle: an off press when the module is or may be on, wait until STATUS falls, then an
on press) and `power_enable` (cut the module's supply, wait for it to drain, restore it, then an
on press). Press lengths come from the module model's PulseTiming (lines.py). The on press is
shorter than the off minimum, so an on press can never switch a running module off: a cycle is
safe even where no STATUS line tells the board what state the module is in.

LEDs follow PortInfo: steady on when registered, blinking while sending, booting or recovering,
off when powered off, quarantined or unregistered. The front-panel button arms a factory reset
with a long press (the LEDs flash fast while armed); a second press within the confirmation
window fires the callback; anything else lets the arming lapse.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from gpiozero import Button

from smsd.errors import ConfigError
from smsd.model import REG_OK, STATE_INIT, STATE_READY, STATE_RECOVERING, PortInfo

from .description import BoardDescription, PortLines
from .lines import TIMINGS, PortIO, PulseTiming, Sleep

log = logging.getLogger("smsd.board")

LED_ON, LED_BLINK, LED_OFF = "on", "blink", "off"
BLINK = (0.25, 0.25)            # seconds on, off: port busy or recovering
ARMED_BLINK = (0.08, 0.08)      # every LED: a factory reset awaits its confirmation press
Hook = Callable[[int], None]


def led_mode(info: PortInfo, sending: bool = False) -> str:
    busy = (info.busy or sending) and info.state == STATE_READY
    if info.state in (STATE_RECOVERING, STATE_INIT) or busy:
        return LED_BLINK
    return LED_ON if info.state == STATE_READY and info.reg == REG_OK else LED_OFF


class FactoryResetGesture:
    """Long press arms; a press within `window` seconds confirms. Time is an argument."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._armed_until: float | None = None

    def held(self, now: float) -> None:
        self._armed_until = now + self.window

    def pressed(self, now: float) -> bool:
        """True when this press confirms an armed reset."""
        confirmed = self.armed(now)
        self._armed_until = None
        return confirmed

    def armed(self, now: float) -> bool:
        return self._armed_until is not None and now <= self._armed_until


class Board:
    def __init__(self, description: BoardDescription, factory: Any = None,
                 timings: Mapping[str, PulseTiming] = TIMINGS, sleep: Sleep = time.sleep,
                 on_factory_reset: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """factory: a gpiozero pin factory (None = gpiozero's normal choice)."""
        self.description = description
        self._sleep = sleep
        self._clock = clock
        self._led_lock = threading.Lock()
        self._modes: dict[int, str] = {}
        self._infos: dict[int, PortInfo] = {}
        self._sending: set[int] = set()
        self._gesture = FactoryResetGesture(description.confirm_window)
        self._on_factory_reset = on_factory_reset
        self._ports: dict[int, PortIO] = {}
        self.button: Button | None = None
        try:
            for lines in description.ports:
                self._ports[lines.port] = self._port_io(lines, timings, factory)
            self._setup_button(factory)
        except BaseException:
            self.close()       # never run half-configured: release what was claimed
            raise

    def _port_io(self, lines: PortLines, timings: Mapping[str, PulseTiming],
                 factory: Any) -> PortIO:
        try:
            return PortIO(lines, timings[lines.model], factory, self._sleep)
        except Exception as exc:   # gpiozero raises many kinds; all mean "this port's lines"
            raise self._error(f"port.{lines.port}", exc) from exc

    def _setup_button(self, factory: Any) -> None:
        pin = self.description.button
        if pin is None:
            return
        try:
            self.button = Button(pin, hold_time=self.description.button_hold,
                                 pin_factory=factory)
        except Exception as exc:
            raise self._error("board", exc, "button") from exc
        self.button.when_held = self._button_held
        self.button.when_pressed = self._button_pressed

    def _error(self, section: str, exc: Exception, key: str = "") -> ConfigError:
        desc = self.description
        line = desc.lines.get((section, key)) or desc.lines.get((section, ""))
        where = f"{desc.source}:{line}" if line else desc.source
        return ConfigError(f"{where}: [{section}]{' ' + key if key else ''}: "
                           f"cannot set up the GPIO line(s): {exc}")

    # --- the recovery ladder's rungs ------------------------------------------------------------
    def hooks(self, port: int) -> dict[str, Hook]:
        """The worker's gpio_hooks for `port`: only the rungs whose lines are wired."""
        io = self._io(port)
        wired = {"reset_line": io.reset, "power_key": io.power_key,
                 "power_enable": io.power_enable}
        actions: dict[str, Hook] = {"reset_line": self.reset_line, "power_key": self.power_key,
                                    "power_enable": self.power_enable}
        return {name: actions[name] for name, device in wired.items() if device is not None}

    def reset_line(self, port: int) -> None:
        io = self._io(port)
        log.warning("port %d: pulsing RESET for %.0f ms", port, io.timing.reset_press * 1000)
        io.pulse(_wired(io.reset, port, "reset"), io.timing.reset_press)

    def power_key(self, port: int) -> None:
        """Switch the module off (if it is or may be on) and on again with PWRKEY."""
        io = self._io(port)
        key = _wired(io.power_key, port, "power_key")
        if io.is_on() is not False:
            log.warning("port %d: PWRKEY off press (%.0f ms)", port, io.timing.off_press * 1000)
            io.pulse(key, io.timing.off_press)
            self._wait_off(io, port)
        log.warning("port %d: PWRKEY on press (%.0f ms)", port, io.timing.on_press * 1000)
        io.pulse(key, io.timing.on_press)

    def _wait_off(self, io: PortIO, port: int) -> None:
        if io.status is None:
            self._sleep(io.timing.off_wait)    # no STATUS line: give the shutdown its worst case
        elif not io.wait_status(False, io.timing.off_wait):
            log.warning("port %d: STATUS still high after the off press", port)

    def power_enable(self, port: int) -> None:
        """Cut the module's supply, restore it, then switch the module on."""
        io = self._io(port)
        enable = _wired(io.power_enable, port, "power_enable")
        log.warning("port %d: power-enable off for %.1f s", port, io.timing.power_gap)
        enable.off()
        self._sleep(io.timing.power_gap)
        enable.on()
        if io.power_key is not None:
            log.warning("port %d: PWRKEY on press after power-up", port)
            io.pulse(io.power_key, io.timing.on_press)

    def select_slot(self, port: int, slot: int) -> None:
        """Drive the SIM multiplexer lines to `slot` (binary, first line least significant)."""
        io = self._io(port)
        if not 0 <= slot < 2 ** len(io.mux):
            raise ValueError(f"port {port} has {len(io.mux)} sim_mux line(s), no slot {slot}")
        for bit, line in enumerate(io.mux):
            line.value = bool((slot >> bit) & 1)
        log.info("port %d: sim_mux lines set for slot %d", port, slot)

    def sim_mux_for(self, port: int) -> Callable[[int, int], None] | None:
        """The worker's sim_mux for `port`: select_slot, or None when no mux lines are wired."""
        return self.select_slot if self._io(port).mux else None

    def status(self, port: int) -> bool | None:
        """True when STATUS says the module is on; None when the board has no STATUS line."""
        return self._io(port).is_on()

    def _io(self, port: int) -> PortIO:
        try:
            return self._ports[port]
        except KeyError:
            raise ValueError(f"port {port} is not in the board description") from None

    # --- LEDs ---------------------------------------------------------------------------------
    def show(self, info: PortInfo) -> None:
        """Make the port's LED follow its state (called on every port change)."""
        self._infos[info.port] = info
        self._update_led(info.port)

    def sending(self, port: int, active: bool) -> None:
        """A part is on the air (True) or done (False): the worker publishes no busy flag."""
        if active:
            self._sending.add(port)
        else:
            self._sending.discard(port)
        self._update_led(port)

    def _update_led(self, port: int) -> None:
        info = self._infos.get(port)
        if info is None:
            return
        mode = led_mode(info, port in self._sending)
        with self._led_lock:
            if self._modes.get(port) == mode:
                return
            self._modes[port] = mode
            if not self._gesture.armed(self._clock()):
                self._apply(port, mode)

    def led_mode(self, port: int) -> str:
        return self._modes.get(port, LED_OFF)

    def _apply(self, port: int, mode: str) -> None:
        led = self._ports[port].led if port in self._ports else None
        if led is None:
            return
        try:
            self._drive(led, mode)
        except Exception:        # a lamp fault must never hold up the port's report
            log.exception("port %d: cannot set the LED", port)

    @staticmethod
    def _drive(led: Any, mode: str) -> None:
        if mode == LED_ON:
            led.on()
        elif mode == LED_BLINK:
            led.blink(*BLINK)
        else:
            led.off()

    def _flash_all(self, armed: bool) -> None:
        with self._led_lock:
            for port, io in self._ports.items():
                if io.led is not None and armed:
                    io.led.blink(*ARMED_BLINK)
                else:
                    self._apply(port, self._modes.get(port, LED_OFF))

    # --- the front-panel button ---------------------------------------------------------------
    def _button_held(self) -> None:
        log.warning("button held: press again within %.0f s to reset to factory settings",
                    self._gesture.window)
        self._gesture.held(self._clock())
        self._flash_all(True)
        timer = threading.Timer(self._gesture.window + 0.05, self._lapse)
        timer.daemon = True
        timer.start()

    def _lapse(self) -> None:
        if not self._gesture.armed(self._clock()):
            self._flash_all(False)

    def _button_pressed(self) -> None:
        if not self._gesture.pressed(self._clock()):
            return
        self._flash_all(False)
        log.warning("factory reset confirmed on the front panel")
        if self._on_factory_reset is not None:
            self._on_factory_reset()

    def close(self) -> None:
        if self.button is not None:
            self.button.close()
            self.button = None
        for io in self._ports.values():
            io.close()
        self._ports.clear()


def _wired(device: Any, port: int, line: str) -> Any:
    if device is None:
        raise ValueError(f"port {port} has no {line} line")
    return device
