"""Simulated modules on gpiozero mock pins: pulse rules, STATUS, and a real ladder climb."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from gpiozero import DigitalOutputDevice

from smsd.board.board import Board
from smsd.board.lines import TIMINGS, PulseTiming
from smsd.model import STATE_READY, STATE_RECOVERING
from smsd.modem.jobs import Power, SendPart, Ussd
from smsd.modem.worker import ModemWorker
from smsd.sim import SimBoard
from smsd.sim.gpio import (SimGpio, SimPinFactory, simulated_board, simulated_description)
from tests.test_modem_fakes import RecordingSink
from tests.test_modem_worker import FAST as WORKER_TIMING, LATENCY, part

# Fast presses with wide gaps between the module's limits, so a loaded machine (which sleeps
# longer than asked, never shorter) cannot turn one kind of press into another.
FAST = PulseTiming(on_min=0.05, off_min=0.3, reset_min=0.05, reset_max=0.3, on_press=0.08,
                   off_press=0.4, reset_press=0.1, off_wait=1.0, power_gap=0.05)
TIMING = {name: FAST for name in TIMINGS}
SLACK = 0.2


@pytest.fixture
def sim() -> Iterator[SimBoard]:
    with SimBoard(ports=2, slots=1, latency=LATENCY, profile="mixed", seed=3) as board:
        yield board


def wait_for(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():              # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


Lines = tuple[SimGpio, SimPinFactory, dict[str, DigitalOutputDevice]]


@pytest.fixture
def lines(sim: SimBoard) -> Iterator[Lines]:
    """Port 0's lines driven by hand (no Board), to test the module's rules on their own."""
    desc = simulated_description(sim)
    factory = SimPinFactory()
    gpio = SimGpio(sim, desc, factory, TIMING)
    p0 = desc.port(0)
    devices = {name: DigitalOutputDevice(getattr(p0, name), initial_value=name == "power_enable",
                                         pin_factory=factory)
               for name in ("power_key", "reset", "power_enable")}
    yield gpio, factory, devices
    for device in devices.values():
        device.close()


def hold(device: DigitalOutputDevice, seconds: float) -> None:
    device.on()
    time.sleep(seconds)
    device.off()


def test_power_key_presses_follow_the_module_rules(sim: SimBoard, lines: Lines) -> None:
    gpio, _, dev = lines
    quectel = TIMING["quectel"]
    assert sim.is_powered(0)
    hold(dev["power_key"], quectel.on_press)        # long enough to switch on, too short for off
    assert sim.is_powered(0)
    hold(dev["power_key"], quectel.off_press)
    assert not sim.is_powered(0)
    hold(dev["power_key"], 0.0)                     # a glitch: nothing
    assert not sim.is_powered(0)
    hold(dev["power_key"], quectel.on_press)
    assert sim.is_powered(0)
    effects = [(p.line, p.effect) for p in gpio.modules[0].pulses]
    assert effects == [("power_key", "none"), ("power_key", "off"), ("power_key", "none"),
                       ("power_key", "on")]
    assert gpio.modules[0].pulses[1].seconds >= quectel.off_press


def test_status_pin_reads_the_module_live(sim: SimBoard, lines: Lines) -> None:
    _, factory, _ = lines
    status = factory.pin(simulated_description(sim).port(0).status)
    assert status.state is True
    sim.power_off(0)                                 # e.g. AT+QPOWD: no line involved
    assert status.state is False


def test_power_enable_cut_needs_a_power_key_press_to_come_back(sim: SimBoard, lines: Lines) -> None:
    gpio, _, dev = lines
    dev["power_enable"].off()
    assert not sim.is_powered(0) and not gpio.modules[0].supplied
    hold(dev["power_key"], TIMING["quectel"].on_press)
    assert not sim.is_powered(0)                     # no supply, no boot
    dev["power_enable"].on()
    assert not sim.is_powered(0)
    hold(dev["power_key"], TIMING["quectel"].on_press)
    assert sim.is_powered(0)
    assert [(p.line, p.effect) for p in gpio.modules[0].pulses] == [
        ("power_enable", "off"), ("power_key", "none"), ("power_enable", "restored"),
        ("power_key", "on")]
    assert gpio.modules[0].pulses[2].seconds >= TIMING["quectel"].on_press


def test_reset_pulse_reboots_a_hung_module(sim: SimBoard, lines: Lines) -> None:
    gpio, _, dev = lines
    sim.set_fault(0, "hang")
    hold(dev["reset"], 0.0)
    assert gpio.modules[0].pulses[-1].effect == "none"
    hold(dev["reset"], TIMING["quectel"].reset_press)
    assert gpio.modules[0].pulses[-1].effect == "reboot" and sim.is_powered(0)


def test_two_simulations_never_share_pins(sim: SimBoard) -> None:
    first, _ = simulated_board(sim, timings=TIMING)
    second, _ = simulated_board(sim, timings=TIMING)   # would clash on one shared pin table
    first.close()
    second.close()


def climb(sim: SimBoard, board: Board, port: int) -> tuple[ModemWorker, RecordingSink]:
    sink = RecordingSink()
    worker = ModemWorker(port, sim.device(port), sink, timing=WORKER_TIMING,
                         gpio_hooks=board.hooks(port))
    worker.start()
    worker.submit(Ussd("*101#"))             # answered only once the whole init is done
    assert sink.wait(lambda: len(sink.ussd) == 1), worker.info
    sim.set_fault(port, "hang")
    hex_pdu, length = part("+447700900123")
    worker.submit(SendPart(1, hex_pdu, length))
    # The failed part is reported before the climb starts: wait for the climb, then its end.
    assert sink.wait(lambda: any(i.state == STATE_RECOVERING for i in sink.infos[port]))
    assert sink.wait(lambda: worker.info.state == STATE_READY and worker.info.recovery_step == ""
                     and len(sink.results) == 1, timeout=30)
    return worker, sink


def steps(sink: RecordingSink, port: int) -> list[str]:
    seen = [i.recovery_step for i in sink.infos[port] if i.recovery_step]
    return [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]


def test_hung_modem_climbs_to_the_power_key_and_reboots_through_the_pins(sim: SimBoard) -> None:
    template = simulated_description(sim)
    no_reset = replace(template, ports=tuple(replace(p, reset=None) for p in template.ports))
    board, gpio = simulated_board(sim, template=no_reset, timings=TIMING)
    worker, sink = climb(sim, board, 0)
    try:
        assert steps(sink, 0) == ["retry", "reinit", "reset", "reopen", "power_key"]
        presses = gpio.modules[0].pulses
        assert [(p.line, p.effect) for p in presses] == [("power_key", "off"),
                                                         ("power_key", "on")]
        quectel = TIMING["quectel"]
        assert quectel.off_press <= presses[0].seconds < quectel.off_press + SLACK
        assert quectel.on_press <= presses[1].seconds < quectel.on_press + SLACK
        assert sink.wait(lambda: worker.info.can_send)      # registered again
        worker.submit(SendPart(2, *part("+447700900123")))
        assert sink.wait(lambda: len(sink.results) == 2) and sink.results[1][1].ok
    finally:
        worker.stop()
        board.close()


def test_reset_line_rung_comes_before_the_power_key(sim: SimBoard) -> None:
    board, gpio = simulated_board(sim, timings=TIMING)
    worker, sink = climb(sim, board, 1)
    try:
        assert steps(sink, 1)[-2:] == ["reopen", "reset_line"]
        [pulse] = gpio.modules[1].pulses
        simcom = TIMING["simcom"]
        assert pulse.effect == "reboot"
        assert simcom.reset_press <= pulse.seconds < simcom.reset_press + SLACK
    finally:
        worker.stop()
        board.close()


def test_power_job_switches_on_through_the_power_key(sim: SimBoard) -> None:
    board, gpio = simulated_board(sim, timings=TIMING)
    sink = RecordingSink()
    worker = ModemWorker(0, sim.device(0), sink, timing=WORKER_TIMING,
                         gpio_hooks=board.hooks(0))
    worker.start()
    try:
        assert sink.wait(lambda: worker.info.state == STATE_READY)
        worker.submit(Power(False))                  # AT+QPOWD: STATUS falls
        assert sink.wait(lambda: not sim.is_powered(0) and board.status(0) is False)
        worker.submit(Power(True))
        assert sink.wait(lambda: worker.info.state == STATE_READY and sim.is_powered(0))
        assert [(p.line, p.effect) for p in gpio.modules[0].pulses] == [("power_key", "on")]
    finally:
        worker.stop()
        board.close()


def test_the_real_ec25_minimum_press_applies(sim: SimBoard) -> None:
    """With the module's own figures: 0.4 s on PWRKEY is too short to boot an EC25, 0.6 s is not."""
    desc = simulated_description(sim)
    factory = SimPinFactory()
    gpio = SimGpio(sim, desc, factory)                       # unscaled TIMINGS
    key = DigitalOutputDevice(desc.port(0).power_key, pin_factory=factory)
    try:
        sim.power_off(0)
        hold(key, 0.4)
        assert not sim.is_powered(0)
        hold(key, TIMINGS["quectel"].on_press)
        assert sim.is_powered(0)
        assert [p.effect for p in gpio.modules[0].pulses] == ["none", "on"]
    finally:
        key.close()


def test_board_power_enable_rung_cycles_the_supply_and_boots(sim: SimBoard) -> None:
    board, gpio = simulated_board(sim, timings=TIMING)
    try:
        board.power_enable(1)
        assert sim.is_powered(1)
        off, restored, on = gpio.modules[1].pulses
        assert (off.effect, restored.effect, on.effect) == ("off", "restored", "on")
        assert FAST.power_gap <= restored.seconds < FAST.power_gap + SLACK
    finally:
        board.close()
