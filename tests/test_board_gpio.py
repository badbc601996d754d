"""The Board on gpiozero's MockFactory: pulse lengths, polarity, status, mux, LEDs, button."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from smsd.board.board import LED_BLINK, LED_OFF, LED_ON, Board, FactoryResetGesture, led_mode
from smsd.board.description import parse
from smsd.board.factory_reset import wipe_state
from smsd.board.lines import TIMINGS, PulseTiming
from smsd.board.sink import LedSink
from smsd.errors import ConfigError
from smsd.model import (REG_OK, REG_SEARCHING, STATE_POWER_OFF, STATE_QUARANTINED, STATE_READY,
                        STATE_RECOVERING, PortInfo, SendResult)
from tests.test_modem_fakes import RecordingSink

DESCRIPTION = """\
[board]
button = GPIO21
button_hold = 0.15
confirm_window = 0.6

[port.0]
device = /dev/null
model = quectel
power_key = GPIO5
reset = GPIO6
power_enable = GPIO13
status = GPIO19
sim_mux = GPIO20, GPIO26
led = GPIO12

[port.1]
device = /dev/null
model = simcom
power_key = GPIO7
active_high = no
led = GPIO8
"""
# Ten times faster, and a short worst-case shutdown for the port without a STATUS line.
FAST = {name: replace(t.scaled(0.1), off_wait=0.2) for name, t in TIMINGS.items()}
SLACK = 0.25      # a loaded machine sleeps longer than asked, never shorter


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    # gpiozero's local factories share one pin table per process: start and end clean.
    f = MockFactory()
    f.reset()
    yield f
    f.reset()


@pytest.fixture
def board(factory: MockFactory) -> Iterator[Board]:
    resets: list[float] = []
    b = Board(parse(DESCRIPTION, "b.ini"), factory, FAST,
              on_factory_reset=lambda: resets.append(time.monotonic()))
    b.resets = resets             # type: ignore[attr-defined]
    yield b
    b.close()


def asserted_pulses(pin: Any, active_high: bool = True) -> list[float]:
    """Lengths of the asserted periods a mock pin went through (its recorded state changes)."""
    states = pin.states
    return [states[i + 1].timestamp for i in range(len(states) - 1)
            if states[i].state == active_high and i > 0]


def test_power_key_cycle_on_a_running_module(board: Board, factory: MockFactory) -> None:
    factory.pin(19).drive_high()                   # STATUS: on; falls once the module is off
    timer = threading.Timer(0.05, factory.pin(19).drive_low)
    timer.start()
    board.power_key(0)
    timer.join()
    off_press, on_press = asserted_pulses(factory.pin(5))
    quectel = FAST["quectel"]
    assert quectel.off_press <= off_press < quectel.off_press + SLACK
    assert quectel.on_press <= on_press < quectel.on_press + SLACK


def test_power_key_on_a_module_that_is_off_gives_one_on_press(board: Board,
                                                              factory: MockFactory) -> None:
    factory.pin(19).drive_low()
    board.power_key(0)
    [press] = asserted_pulses(factory.pin(5))
    assert FAST["quectel"].on_press <= press < FAST["quectel"].on_press + SLACK


def test_real_quectel_power_key_pulse_length(factory: MockFactory) -> None:
    """Unscaled: the module's own figures from its hardware design manual."""
    board = Board(parse(DESCRIPTION, "b.ini"), factory)
    try:
        factory.pin(19).drive_low()
        board.power_key(0)
        [press] = asserted_pulses(factory.pin(5))
        assert 0.5 <= TIMINGS["quectel"].on_press <= press < TIMINGS["quectel"].on_press + SLACK
    finally:
        board.close()


def test_active_low_lines_idle_high_and_pulse_low(board: Board, factory: MockFactory) -> None:
    pin = factory.pin(7)
    assert pin.state is True                       # released = high on an active-low line
    board.power_key(1)                             # no STATUS line: off press, wait, on press
    simcom = FAST["simcom"]
    off_press, on_press = asserted_pulses(pin, active_high=False)
    assert simcom.off_press <= off_press < simcom.off_press + SLACK
    assert simcom.on_press <= on_press < simcom.on_press + SLACK
    assert pin.state is True


def test_reset_and_power_enable(board: Board, factory: MockFactory) -> None:
    assert factory.pin(13).state is True           # modules powered from the start
    board.reset_line(0)
    [reset] = asserted_pulses(factory.pin(6))
    quectel = FAST["quectel"]
    assert quectel.reset_press <= reset < quectel.reset_press + SLACK
    board.power_enable(0)
    states = factory.pin(13).states
    assert [s.state for s in states[-2:]] == [False, True]
    assert states[-1].timestamp >= quectel.power_gap
    [after_power_up] = asserted_pulses(factory.pin(5))
    assert after_power_up >= quectel.on_min


def test_hooks_offer_only_wired_rungs(board: Board) -> None:
    assert set(board.hooks(0)) == {"reset_line", "power_key", "power_enable"}
    assert set(board.hooks(1)) == {"power_key"}
    with pytest.raises(ValueError, match="no reset line"):
        board.reset_line(1)
    with pytest.raises(ValueError, match="port 5"):
        board.hooks(5)


def test_status_and_slot_select(board: Board, factory: MockFactory) -> None:
    factory.pin(19).drive_high()
    assert board.status(0) is True
    factory.pin(19).drive_low()
    assert board.status(0) is False
    assert board.status(1) is None
    for slot in range(4):
        board.select_slot(0, slot)
        assert (factory.pin(20).state, factory.pin(26).state) == (bool(slot & 1), bool(slot & 2))
    with pytest.raises(ValueError):
        board.select_slot(0, 4)


def test_timings_never_let_an_on_press_switch_a_module_off() -> None:
    for timing in TIMINGS.values():
        assert timing.on_min <= timing.on_press < timing.off_min <= timing.off_press
        assert timing.reset_min <= timing.reset_press <= timing.reset_max
    assert TIMINGS["simcom"].off_min == 2.5 and TIMINGS["quectel"].off_min == 0.65


def info(port: int = 0, **kw: Any) -> PortInfo:
    return PortInfo(port, **kw)


@pytest.mark.parametrize("state, reg, busy, mode", [
    (STATE_READY, REG_OK, False, LED_ON),
    (STATE_READY, REG_OK, True, LED_BLINK),
    (STATE_RECOVERING, REG_OK, False, LED_BLINK),
    (STATE_READY, REG_SEARCHING, False, LED_OFF),
    (STATE_POWER_OFF, REG_OK, False, LED_OFF),
    (STATE_QUARANTINED, REG_OK, False, LED_OFF),
])
def test_led_mode(state: str, reg: str, busy: bool, mode: str) -> None:
    assert led_mode(info(state=state, reg=reg, busy=busy)) == mode


def test_leds_follow_port_state_through_the_sink(board: Board, factory: MockFactory) -> None:
    sink = RecordingSink()
    leds = LedSink(sink, board)
    led = factory.pin(12)
    leds.port_changed(info(state=STATE_READY, reg=REG_OK))
    assert board.led_mode(0) == LED_ON and led.state is True
    assert leds.part_starting(0, 7)
    assert board.led_mode(0) == LED_BLINK
    time.sleep(0.6)
    assert len(led.states) >= 4                    # it really blinks
    leds.part_result(0, SendResult(7, ok=True))
    assert board.led_mode(0) == LED_ON and led.state is True
    leds.port_changed(info(state=STATE_QUARANTINED, reg=REG_OK))
    assert board.led_mode(0) == LED_OFF and led.state is False
    assert [c[0] for c in sink.calls] == ["port_changed", "part_starting", "part_result",
                                          "port_changed"]


def press(factory: MockFactory, seconds: float) -> None:
    button = factory.pin(21)
    button.drive_low()
    time.sleep(seconds)
    button.drive_high()
    time.sleep(0.02)


def test_long_press_then_confirm_resets(board: Board, factory: MockFactory) -> None:
    press(factory, 0.3)
    assert board.resets == []                      # type: ignore[attr-defined]
    press(factory, 0.02)
    assert len(board.resets) == 1                  # type: ignore[attr-defined]


def test_long_press_alone_or_short_presses_do_not_reset(board: Board,
                                                        factory: MockFactory) -> None:
    press(factory, 0.3)
    time.sleep(0.8)                                # the confirmation window lapses
    press(factory, 0.02)
    press(factory, 0.02)
    assert board.resets == []                      # type: ignore[attr-defined]


def test_leds_flash_while_a_reset_is_armed(board: Board, factory: MockFactory) -> None:
    board.show(info(state=STATE_READY, reg=REG_OK))
    led = factory.pin(12)
    press(factory, 0.3)
    before = len(led.states)
    time.sleep(0.3)
    assert len(led.states) - before >= 2           # fast flashing while armed
    time.sleep(0.5)                                # lapsed: back to the port's own state
    assert led.state is True and board.led_mode(0) == LED_ON


def test_gesture_is_pure() -> None:
    g = FactoryResetGesture(window=10.0)
    assert not g.pressed(0.0)
    g.held(1.0)
    assert g.armed(5.0) and g.pressed(5.0)
    assert not g.armed(5.0)                        # one confirmation per arming
    g.held(20.0)
    assert not g.pressed(30.5)


def test_lines_already_taken_refuse_the_board_and_release_the_rest(factory: MockFactory) -> None:
    desc = parse(DESCRIPTION, "b.ini")
    # Another user of port 0's last line (its LED): the lines before it are claimed first.
    first = Board(parse("[port.0]\ndevice = /dev/null\nled = GPIO12\n", "other.ini"), factory)
    with pytest.raises(ConfigError, match=r"b.ini:6: \[port.0\]: cannot set up the GPIO line") \
            as failed:
        Board(desc, factory, FAST)
    first.close()
    # Released at once, not by the garbage collector (the traceback still holds the attempt).
    assert failed.tb is not None
    Board(desc, factory, FAST).close()


def test_wipe_state(tmp_path: Path) -> None:
    for name in ("smsd.db", "smsd.db-wal", "admin-password", "keep.ini"):
        (tmp_path / name).write_text("x")
    removed = wipe_state(str(tmp_path), "smsd.db", ("admin-password",))
    assert sorted(Path(p).name for p in removed) == ["admin-password", "smsd.db", "smsd.db-wal"]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.ini"]


def test_scaled_timing_keeps_its_shape() -> None:
    timing: PulseTiming = TIMINGS["quectel"].scaled(0.5)
    assert timing.on_press == pytest.approx(0.3) and timing.off_min == pytest.approx(0.325)
