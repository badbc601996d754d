"""The GPIO lines of one modem port, as gpiozero devices, and the modules' pulse timings.

Every device is built with an explicit `pin_factory`: gpiozero's normal factory (None: whatever
gpiozero picks on this machine, or GPIOZERO_PIN_FACTORY) on a real board, a mock factory in
simulate mode and in tests. Pulses block the calling thread on purpose: only the port's own
worker thread pulses its lines, and it has nothing else to do while its modem is being rebooted.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gpiozero import LED, DigitalInputDevice, DigitalOutputDevice

from .description import PortLines

log = logging.getLogger("smsd.board")


@dataclass(frozen=True)
class PulseTiming:
    """What a module needs on its lines, in seconds: the minimum the module requires (the
    simulator enforces these) and the length the board drives (minimum plus margin, because a
    pulse that is a little long is harmless and one that is a little short does nothing)."""

    on_min: float          # PWRKEY asserted at least this long switches the module on
    off_min: float         # ... and, while on, at least this long switches it off
    reset_min: float       # RESET asserted at least this long reboots the module
    reset_max: float       # longer reset pulses are outside the specification
    on_press: float
    off_press: float
    reset_press: float
    off_wait: float        # longest shutdown after an off press (status falls within it)
    power_gap: float       # power-enable held off this long so the supply really drains

    def scaled(self, factor: float) -> PulseTiming:
        """The same shape, faster: for tests and quick simulations."""
        return replace(self, **{k: v * factor for k, v in self.__dict__.items()})


# Quectel EC25 Hardware Design (Quectel_EC25_Hardware_Design, "Turn on/off" and "Reset the
# Module" sections): PWRKEY driven low for at least 500 ms turns the module on; while it is on,
# at least 650 ms turns it off (it then logs off the network; STATUS falls when done, allow
# 30 s); RESET_N low for 150 ms to 460 ms resets it. Boards drive both through an NPN transistor,
# hence `active_high` by default.
QUECTEL = PulseTiming(on_min=0.5, off_min=0.65, reset_min=0.15, reset_max=0.46,
                      on_press=0.6, off_press=0.8, reset_press=0.3, off_wait=30.0,
                      power_gap=2.0)
# SIMCom SIM7600 Series Hardware Design ("Power on/off" tables): PWRKEY low for 500 ms (Ton)
# switches the module on; Toff, the low time that switches it off, is 2.5 s minimum (5 s max),
# after which STATUS falls within about 26 s; RESET low 100 ms to 500 ms resets it (typ. 200 ms).
SIMCOM = PulseTiming(on_min=0.5, off_min=2.5, reset_min=0.1, reset_max=0.5,
                     on_press=0.6, off_press=3.0, reset_press=0.25, off_wait=30.0,
                     power_gap=2.0)
TIMINGS: dict[str, PulseTiming] = {"quectel": QUECTEL, "simcom": SIMCOM}

Sleep = Callable[[float], None]


class PortIO:
    """The gpiozero devices of one port; absent lines are None and their actions raise."""

    def __init__(self, lines: PortLines, timing: PulseTiming, factory: Any = None,
                 sleep: Sleep = time.sleep) -> None:
        self.lines = lines
        self.timing = timing
        self._sleep = sleep
        self._devices: list[Any] = []
        try:
            self._claim(lines, factory)
        except BaseException:
            self.close()        # a line that fails must not leave the others claimed
            raise

    def _claim(self, lines: PortLines, factory: Any) -> None:
        high = lines.active_high
        self.power_key = self._output(lines.power_key, high, False, factory)
        self.reset = self._output(lines.reset, high, False, factory)
        # Keep the modules powered from the first instant: building the device must not cut
        # the supply of modems that are already running.
        self.power_enable = self._output(lines.power_enable, high, True, factory)
        self.mux = [self._add(DigitalOutputDevice(pin, initial_value=False, pin_factory=factory))
                    for pin in lines.sim_mux]
        self.status = self._input(lines.status, lines.status_active_high, factory)
        self.led = self._add(LED(lines.led, pin_factory=factory)) if lines.led else None

    def _add(self, device: Any) -> Any:
        self._devices.append(device)
        return device

    def _output(self, pin: str | None, high: bool, initial: bool,
                factory: Any) -> DigitalOutputDevice | None:
        if pin is None:
            return None
        return self._add(DigitalOutputDevice(pin, active_high=high, initial_value=initial,
                                             pin_factory=factory))

    def _input(self, pin: str | None, high: bool, factory: Any) -> DigitalInputDevice | None:
        if pin is None:
            return None
        # The module drives STATUS itself: no pull resistor, so the polarity must be stated.
        return self._add(DigitalInputDevice(pin, pull_up=None, active_state=high,
                                            pin_factory=factory))

    def pulse(self, device: DigitalOutputDevice, seconds: float) -> None:
        device.on()
        try:
            self._sleep(seconds)
        finally:
            device.off()

    def is_on(self) -> bool | None:
        """The module's STATUS line; None when the board does not wire it."""
        return None if self.status is None else bool(self.status.value)

    def wait_status(self, on: bool, timeout: float, step: float = 0.05) -> bool:
        """Wait (polling: STATUS edges are rare and slow) until STATUS reads `on`."""
        deadline = time.monotonic() + timeout
        while self.is_on() is not on:
            if time.monotonic() >= deadline:
                return False
            self._sleep(min(step, timeout))
        return True

    def close(self) -> None:
        for device in reversed(self._devices):
            device.close()
        self._devices.clear()
