"""AT+CMMS on the simulated modems (27.005 3.5.6): a submit pays the radio link's set-up unless
the link is held open; <n> 1 and 2 hold it for the module's timer after each answer, 1 then
falls back to 0 by itself, 2 stays. Timed over the real pty, with a set-up far longer than the
submit itself so the two cannot be confused."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from smsd import pdu
from smsd.sim import SimBoard, SimTiming
from test_sim_client import AtClient

LATENCY = 0.02
SETUP = 0.4            # the link's set-up: a submit that pays it takes at least this long
TIMER = 0.6            # the module's CMMS timer
OUTSIDE = "+447700900123"


@pytest.fixture
def modem() -> Iterator[AtClient]:
    timing = dataclasses.replace(SimTiming.scaled(LATENCY), link_setup=SETUP, link_timer=TIMER)
    with SimBoard(ports=1, latency=LATENCY, timing=timing) as board:
        c = AtClient(board.device(0))
        c.init()
        yield c
        c.close()


def submit_seconds(c: AtClient) -> float:
    [part] = pdu.encode_submit(OUTSIDE, "cmms")
    c.write(f"AT+CMGS={part.tpdu_len}\r".encode())
    c.read_until(b"> ")
    began = time.monotonic()
    c.write(part.hex.encode() + b"\x1a")
    finals = c.until_final()
    assert finals[-1] == "OK" and finals[0].startswith("+CMGS: "), finals
    return time.monotonic() - began


def test_without_cmms_every_submit_sets_the_link_up(modem: AtClient) -> None:
    assert modem.cmd("AT+CMMS?") == ["+CMMS: 0", "OK"]
    assert [submit_seconds(modem) >= SETUP for _ in range(2)] == [True, True]


def test_cmms_2_holds_the_link_between_sends_and_stays_2(modem: AtClient) -> None:
    assert modem.cmd("AT+CMMS=2") == ["OK"]
    assert submit_seconds(modem) >= SETUP            # the first send sets the link up
    assert submit_seconds(modem) < SETUP / 2         # the next, within the timer, does not
    assert submit_seconds(modem) < SETUP / 2
    time.sleep(TIMER + 0.2)                          # the timer runs out: the link is released
    assert modem.cmd("AT+CMMS?") == ["+CMMS: 2", "OK"]
    assert submit_seconds(modem) >= SETUP
    assert submit_seconds(modem) < SETUP / 2


def test_cmms_1_falls_back_to_0_when_the_timer_runs_out(modem: AtClient) -> None:
    assert modem.cmd("AT+CMMS=1") == ["OK"]
    assert submit_seconds(modem) >= SETUP
    assert submit_seconds(modem) < SETUP / 2
    assert modem.cmd("AT+CMMS?") == ["+CMMS: 1", "OK"]
    time.sleep(TIMER + 0.2)
    assert modem.cmd("AT+CMMS?") == ["+CMMS: 0", "OK"]
    assert submit_seconds(modem) >= SETUP
    assert submit_seconds(modem) >= SETUP            # 0 now: no link held any more


def test_cmms_0_releases_a_held_link_and_bad_values_are_refused(modem: AtClient) -> None:
    assert modem.cmd("AT+CMMS=?") == ["+CMMS: (0-2)", "OK"]
    assert modem.cmd("AT+CMMS=3")[-1] != "OK"
    assert modem.cmd("AT+CMMS=x")[-1] != "OK"
    assert modem.cmd("AT+CMMS=2") == ["OK"]
    submit_seconds(modem)
    assert modem.cmd("AT+CMMS=0") == ["OK"]
    assert submit_seconds(modem) >= SETUP
