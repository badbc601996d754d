"""SIM slots switched by the board's multiplexer lines, wired as the daemon wires them.

The real Board drives the simulator's mock pins; the simulated module routes whichever slot the
lines spell. The AT slot command path is covered in test_modem_worker.py.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from smsd.board.board import Board
from smsd.model import REG_OK, STATE_READY
from smsd.modem.jobs import SwitchSlot
from smsd.modem.worker import ModemWorker
from smsd.sim import SimBoard
from smsd.sim.gpio import SimGpio, simulated_board
from tests.test_modem_fakes import RecordingSink
from tests.test_modem_worker import FAST, LATENCY

Rig = tuple[SimBoard, Board, SimGpio]


@contextmanager
def rig(slots: int) -> Iterator[Rig]:
    with SimBoard(ports=2, slots=slots, latency=LATENCY, profile="mixed", seed=7) as sim:
        board, gpio = simulated_board(sim, slots)
        try:
            yield sim, board, gpio
        finally:
            board.close()


@pytest.fixture
def two() -> Iterator[Rig]:
    with rig(2) as sim_rig:
        yield sim_rig


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def started() -> Iterator[list[ModemWorker]]:
    workers: list[ModemWorker] = []
    yield workers
    for worker in workers:
        worker.stop()
        assert not worker.alive


def levels(sim_rig: Rig, port: int) -> list[bool]:
    _, board, gpio = sim_rig
    return [bool(gpio.factory.pin(spec).state) for spec in board.description.port(port).sim_mux]


def start(sim_rig: Rig, sink: RecordingSink, started: list[ModemWorker], port: int,
          sim_mux: object) -> ModemWorker:
    sim, board, _ = sim_rig
    worker = ModemWorker(port, sim.device(port), sink, slots=sim.slots, timing=FAST,
                         gpio_hooks=board.hooks(port), sim_mux=sim_mux)  # type: ignore[arg-type]
    started.append(worker)
    worker.start()
    assert sink.wait(lambda: worker.info.state == STATE_READY and worker.info.reg == REG_OK)
    return worker


def on_slot(sim: SimBoard, worker: ModemWorker, slot: int) -> bool:
    ident = sim.sim_identity(worker.port, slot)
    info = worker.info
    return (info.slot, info.imsi, info.iccid, info.reg) == (slot, ident.imsi, ident.iccid, REG_OK)


@pytest.mark.parametrize("port", [0, 1])           # a quectel and a simcom module
def test_switch_slot_drives_the_mux_and_rereads_the_sim(two: Rig, sink: RecordingSink,
                                                       started: list[ModemWorker],
                                                       port: int) -> None:
    sim, board, _ = two
    calls: list[tuple[int, int]] = []

    def mux(p: int, slot: int) -> None:
        calls.append((p, slot))
        board.select_slot(p, slot)

    assert board.sim_mux_for(port) is not None
    worker = start(two, sink, started, port, mux)
    assert on_slot(sim, worker, 0) and levels(two, port) == [False]
    worker.submit(SwitchSlot(1))
    assert sink.wait(lambda: on_slot(sim, worker, 1)), worker.info
    assert calls == [(port, 1)] and levels(two, port) == [True]
    assert sim.active_slot(port) == 1 and sim.active_slot(1 - port) == 0
    assert worker.info.imsi != sim.sim_identity(port, 0).imsi
    worker.submit(SwitchSlot(0))
    assert sink.wait(lambda: on_slot(sim, worker, 0)), worker.info
    assert calls == [(port, 1), (port, 0)] and levels(two, port) == [False]


def test_daemon_wiring_uses_the_board_mux(two: Rig, sink: RecordingSink,
                                          started: list[ModemWorker]) -> None:
    sim, board, _ = two
    worker = start(two, sink, started, 0, board.sim_mux_for(0))
    worker.submit(SwitchSlot(1))
    assert sink.wait(lambda: on_slot(sim, worker, 1)), worker.info
    assert levels(two, 0) == [True] and levels(two, 1) == [False]


def test_mux_fault_keeps_the_old_sim_working(two: Rig, sink: RecordingSink,
                                             started: list[ModemWorker]) -> None:
    sim, _, _ = two

    def broken(p: int, slot: int) -> None:
        raise OSError("line fault")

    worker = start(two, sink, started, 0, broken)
    before = len(sink.infos[0])
    worker.submit(SwitchSlot(1))
    # The SIM interface went down (the module deregisters) and came back up on slot 0.
    assert sink.wait(lambda: any(i.reg != REG_OK for i in sink.infos[0][before:]))
    assert sink.wait(lambda: worker.info.reg == REG_OK), worker.info
    assert on_slot(sim, worker, 0) and sim.active_slot(0) == 0


def test_mux_lines_alone_switch_the_simulated_sim(two: Rig) -> None:
    sim, board, _ = two
    board.select_slot(1, 1)
    assert sim.active_slot(1) == 1 and sim.active_slot(0) == 0
    assert levels(two, 1) == [True]
    board.select_slot(1, 0)
    assert sim.active_slot(1) == 0


def test_mux_value_without_a_holder_is_ignored() -> None:
    with rig(3) as sim_rig:                # three slots on two lines: value 3 names no holder
        sim, board, _ = sim_rig
        board.select_slot(0, 2)
        assert sim.active_slot(0) == 2 and levels(sim_rig, 0) == [False, True]
        board.select_slot(0, 3)
        assert sim.active_slot(0) == 2 and levels(sim_rig, 0) == [True, True]
        board.select_slot(0, 1)
        assert sim.active_slot(0) == 1


def test_single_slot_ports_have_no_mux() -> None:
    with rig(1) as (_, board, _):
        assert board.sim_mux_for(0) is None and board.sim_mux_for(1) is None
        with pytest.raises(ValueError):
            board.sim_mux_for(5)
