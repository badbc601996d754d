"""Modem workers against the simulated modem board (real ptys, real pyserial, real AT)."""
from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest

from smsd.pdu import _python as pdu  # the reference codec; the C twin is tested elsewhere
from smsd.model import (REG_NO_SIM, REG_OK, REG_POWER_OFF, STATE_INIT, STATE_POWER_OFF, STATE_READY,
                        STATE_RECOVERING)
from smsd.modem.jobs import Power, Refresh, Reset, SendPart, SimLock, SwitchSlot, Ussd
from smsd.modem.worker import ModemWorker, Timing
from smsd.sim import SimBoard
from smsd.sim.commands import BALANCE_TEXT
from tests.test_modem_fakes import RecordingSink

LATENCY = 0.05
FAST = Timing(command=1.0, cmgs=2.0, ussd=2.0, boot=3.0, sim_ready=3.0, refresh=30.0,
              probe=0.2, probe_tries=2, quarantine_retry=60.0)


@pytest.fixture
def board() -> Iterator[SimBoard]:
    with SimBoard(ports=2, slots=2, latency=LATENCY, profile="mixed", seed=1) as b:
        yield b
        stop_all()


STARTED: list[ModemWorker] = []


def stop_all() -> None:
    while STARTED:
        worker = STARTED.pop()
        worker.stop()
        assert not worker.alive


def start(board: SimBoard, sink: RecordingSink, port: int, **kw: object) -> ModemWorker:
    worker = ModemWorker(port, board.device(port), sink, slots=board.slots, timing=FAST,
                         **kw)  # type: ignore[arg-type]
    STARTED.append(worker)
    worker.start()
    assert sink.wait(lambda: worker.info.state == STATE_READY), worker.info
    return worker


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def workers(board: SimBoard, sink: RecordingSink) -> list[ModemWorker]:
    return [start(board, sink, p) for p in range(board.ports)]


def part(number: str, text: str = "hello", report: bool = False) -> tuple[str, int]:
    first = pdu.encode_submit(number, text, request_status_report=report)[0]
    return first.hex, first.tpdu_len


@pytest.mark.parametrize("port, profile", [(0, "quectel"), (1, "simcom")])
def test_init_reads_port_info(board: SimBoard, workers: list[ModemWorker], port: int,
                              profile: str) -> None:
    info = workers[port].info
    ident = board.sim_identity(port, 0)
    assert workers[port].profile.name == profile == board.profile(port)
    assert (info.imei, info.imsi, info.iccid, info.number) == (
        board.imei(port), ident.imsi, ident.iccid, ident.number)
    assert info.reg == REG_OK and info.can_send
    assert info.type == "LTE" and info.gprs == "attached" and info.slot == 0
    assert 0 < info.signal <= 31 and info.smsc.startswith("+")


def test_port_changed_reports_the_final_snapshot(sink: RecordingSink,
                                                 workers: list[ModemWorker]) -> None:
    assert sink.last_info(0) == workers[0].info
    assert sink.infos[0][0].state == STATE_INIT


def test_send_ok_reports_mr_after_part_starting(sink: RecordingSink,
                                                workers: list[ModemWorker]) -> None:
    hex_pdu, length = part("+447700900123")
    workers[0].submit(SendPart(7, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results) == 1)
    (port, result), = sink.results
    assert port == 0 and result.ok and result.part_id == 7 and isinstance(result.mr, int)
    names = [name for name, _ in sink.calls if name.startswith("part_")]
    assert names == ["part_starting", "part_result"]


def test_results_of_queued_parts_come_in_order_each_before_the_next_start(
        sink: RecordingSink, workers: list[ModemWorker]) -> None:
    # The scheduler counts on this order (a port's slot frees with its result), whatever waits
    # in the queue behind a part, a send or another job.
    hex_pdu, length = part("+447700900123")
    for part_id in (1, 2, 3):
        workers[0].submit(SendPart(part_id, hex_pdu, length))
    workers[0].submit(Refresh())
    assert sink.wait(lambda: len(sink.results) == 3)
    calls = [(name, value if name == "part_starting" else value[1].part_id)  # type: ignore[index]
             for name, value in sink.calls if name.startswith("part_")]
    assert calls == [("part_starting", (0, 1)), ("part_result", 1),
                     ("part_starting", (0, 2)), ("part_result", 2),
                     ("part_starting", (0, 3)), ("part_result", 3)]
    assert all(r.ok for _, r in sink.results)


def test_cancelled_part_is_skipped(board: SimBoard) -> None:
    sink = RecordingSink(cancel=frozenset({5}))
    worker = start(board, sink, 0)
    hex_pdu, length = part("+447700900123")
    worker.submit(SendPart(5, hex_pdu, length))
    worker.submit(SendPart(6, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results) == 1)
    assert [r.part_id for _, r in sink.results] == [6]


def test_permanent_cms_error(sink: RecordingSink, workers: list[ModemWorker]) -> None:
    hex_pdu, length = part("Shop")          # alphanumeric: the network says unassigned number
    workers[1].submit(SendPart(1, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results) == 1)
    result = sink.results[0][1]
    assert (result.ok, result.cms, result.permanent, result.on_air) == (False, 1, True, True)


def test_temporary_cms_error(board: SimBoard, sink: RecordingSink,
                             workers: list[ModemWorker]) -> None:
    board.set_fault(0, "no_network")
    assert sink.wait(lambda: workers[0].info.reg != REG_OK)
    hex_pdu, length = part("+447700900123")
    workers[0].submit(SendPart(2, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results) == 1)
    result = sink.results[0][1]
    assert (result.ok, result.cms, result.permanent) == (False, 331, False)


def test_inbound_multipart_is_deleted_only_after_the_sink_returned(board: SimBoard) -> None:
    def still_on_sim(msg: object) -> None:
        stored = [s.pdu_hex for s in board.network.card(0, 0).storage if s is not None]
        assert getattr(msg, "pdu_hex") in stored

    sink = RecordingSink(on_inbound=still_on_sim)
    worker = start(board, sink, 0)
    parts = board.inject_sms(0, "+447700900555", "x" * 300)
    assert parts == 2
    assert sink.wait(lambda: len(sink.inbound_msgs) == parts)
    assert sink.wait(lambda: all(s is None for s in board.network.card(0, 0).storage))
    decoded = [pdu.decode(m.pdu_hex) for m in sink.inbound_msgs]
    assert {d.concat[2] for d in decoded if d.concat} == {1, 2}
    assert all(m.kind == "deliver" and m.imsi == worker.info.imsi and m.slot == 0
               for m in sink.inbound_msgs)


def test_sink_failure_keeps_the_message_on_the_sim(board: SimBoard) -> None:
    refused: list[object] = []

    def refuse(msg: object) -> None:
        refused.append(msg)
        raise OSError("disk full")

    sink = RecordingSink(on_inbound=refuse)
    worker = start(board, sink, 1)
    board.inject_sms(1, "+447700900555", "hi")
    assert sink.wait(lambda: bool(refused))
    worker.submit(Ussd("*101#"))     # runs only after the read that was refused has finished
    assert sink.wait(lambda: len(sink.ussd) == 1)
    assert any(s is not None for s in board.network.card(1, 0).storage)
    assert worker.alive and sink.inbound_msgs == []
    worker.stop()


def test_message_between_two_workers_and_status_report(board: SimBoard, sink: RecordingSink,
                                                       workers: list[ModemWorker]) -> None:
    hex_pdu, length = part(board.sim_number(1, 0), "ping", report=True)
    workers[0].submit(SendPart(3, hex_pdu, length))
    assert sink.wait(lambda: any(m.kind == "status_report" for m in sink.inbound_msgs))
    deliver = [m for m in sink.inbound_msgs if m.kind == "deliver"]
    report = [m for m in sink.inbound_msgs if m.kind == "status_report"]
    assert deliver[0].port == 1 and pdu.decode(deliver[0].pdu_hex).text == "ping"
    assert report[0].port == 0
    assert pdu.decode(report[0].pdu_hex).mr == sink.results[0][1].mr


def test_ussd_balance(sink: RecordingSink, workers: list[ModemWorker]) -> None:
    for w in workers:
        w.submit(Ussd("*100#"))
    assert sink.wait(lambda: len(sink.ussd) == 2)
    assert {(u.port, u.text, u.status) for u in sink.ussd} == {
        (0, BALANCE_TEXT, 0), (1, BALANCE_TEXT, 0)}


@pytest.mark.parametrize("port", [0, 1])
def test_slot_switch_rereads_the_sim(board: SimBoard, sink: RecordingSink,
                                     workers: list[ModemWorker], port: int) -> None:
    workers[port].submit(SwitchSlot(1))
    ident = board.sim_identity(port, 1)
    assert sink.wait(lambda: workers[port].info.slot == 1 and workers[port].info.imsi == ident.imsi)
    assert sink.wait(lambda: workers[port].info.reg == REG_OK)
    info = workers[port].info
    assert (info.iccid, info.number) == (ident.iccid, ident.number)


def test_reset_reinitialises(board: SimBoard, sink: RecordingSink,
                             workers: list[ModemWorker]) -> None:
    before = len(sink.infos[0])
    workers[0].submit(Reset())
    assert sink.wait(lambda: any(i.state == STATE_INIT for i in sink.infos[0][before:]))
    assert sink.wait(lambda: workers[0].info.state == STATE_READY and workers[0].info.reg == REG_OK)
    hex_pdu, length = part("+447700900123")
    workers[0].submit(SendPart(9, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results) == 1) and sink.results[0][1].ok


def test_power_off_and_on(board: SimBoard) -> None:
    sink = RecordingSink()
    worker = start(board, sink, 0, gpio_hooks={"power_key": board.power_on})
    worker.submit(Power(False))
    assert sink.wait(lambda: worker.info.state == STATE_POWER_OFF)
    assert worker.info.reg == REG_POWER_OFF and not board.is_powered(0)
    hex_pdu, length = part("+447700900123")
    worker.submit(SendPart(4, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results) == 1)
    assert not sink.results[0][1].ok and not sink.results[0][1].on_air
    worker.submit(Power(True))
    assert sink.wait(lambda: worker.info.state == STATE_READY and board.is_powered(0))


def test_refresh_job_publishes_current_signal(sink: RecordingSink,
                                              workers: list[ModemWorker]) -> None:
    workers[0].submit(Refresh())
    workers[0].submit(Ussd("*101#"))      # a marker that the refresh before it is done
    assert sink.wait(lambda: len(sink.ussd) == 1)
    assert sink.last_info(0) == workers[0].info


def test_hung_modem_recovers_without_blocking_the_other_port(board: SimBoard) -> None:
    sink = RecordingSink()
    hung = start(board, sink, 0, gpio_hooks={"power_key": board.power_on})
    healthy = start(board, sink, 1)
    board.set_fault(0, "hang")
    hex_pdu, length = part("+447700900123")
    hung.submit(SendPart(100, hex_pdu, length))
    for i in range(10):
        healthy.submit(SendPart(i, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results_for(1)) == 10)
    assert all(r.ok for r in sink.results_for(1))
    assert sink.wait(lambda: len(sink.results_for(0)) == 1)
    lost = sink.results_for(0)[0]
    assert (lost.ok, lost.error, lost.on_air) == (False, "timeout", False)
    assert sink.wait(lambda: any(i.state == STATE_RECOVERING for i in sink.infos[0]))
    assert sink.wait(lambda: hung.info.state == STATE_READY and hung.info.recovery_step == "",
                     timeout=20)
    steps = [i.recovery_step for i in sink.infos[0] if i.recovery_step]
    steps = [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s]
    assert steps[:4] == ["retry", "reinit", "reset", "reopen"] and steps[-1] == "power_key"
    assert sink.wait(lambda: hung.info.can_send)
    hung.submit(SendPart(101, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results_for(0)) == 2) and sink.results_for(0)[1].ok



def test_power_on_without_a_power_key_line_stays_off(board: SimBoard) -> None:
    sink = RecordingSink()
    worker = start(board, sink, 1)
    worker.submit(Power(False))
    assert sink.wait(lambda: worker.info.state == STATE_POWER_OFF)
    before = len(sink.infos[1])
    worker.submit(Power(True))
    assert sink.wait(lambda: any(i.state == STATE_INIT for i in sink.infos[1][before:]))
    assert sink.wait(lambda: worker.info.state == STATE_POWER_OFF)
    assert not board.is_powered(1)
    assert worker.info.recovery_step == "" and worker.alive



def test_sim_lock_and_unlock(board: SimBoard, sink: RecordingSink,
                             workers: list[ModemWorker]) -> None:
    card = board.network.card(0, 0)
    workers[0].submit(SimLock(card.pin, True))
    assert sink.wait(lambda: card.pin_enabled)
    workers[0].submit(SimLock(card.pin, False))
    assert sink.wait(lambda: not card.pin_enabled)
    workers[0].submit(SimLock("0000" if card.pin != "0000" else "1111", True))
    workers[0].submit(Ussd("*101#"))          # marker: the wrong PIN was refused by then
    assert sink.wait(lambda: len(sink.ussd) == 1)
    assert not card.pin_enabled and workers[0].info.can_send


def test_sim_removed_and_back(board: SimBoard, sink: RecordingSink,
                              workers: list[ModemWorker]) -> None:
    board.set_fault(1, "no_sim")
    assert sink.wait(lambda: workers[1].info.reg == REG_NO_SIM)
    assert not workers[1].info.can_send
    board.set_fault(1, "none")
    assert sink.wait(lambda: workers[1].info.reg == REG_OK)


def test_ussd_cancel_sends_no_reply(sink: RecordingSink, workers: list[ModemWorker]) -> None:
    workers[0].submit(Ussd("", cancel=True))
    workers[0].submit(Ussd("*101#"))
    assert sink.wait(lambda: len(sink.ussd) == 1)
    assert sink.ussd[0].text.startswith("Your number is")


def test_periodic_refresh_while_idle(board: SimBoard) -> None:
    sink = RecordingSink()
    worker = ModemWorker(0, board.device(0), sink, timing=Timing(refresh=0.1))
    STARTED.append(worker)
    worker.start()
    assert sink.wait(lambda: worker.info.state == STATE_READY)
    board.set_fault(0, "no_network")            # no URC for signal: only a refresh sees it
    assert sink.wait(lambda: worker.info.signal == 0, 3.0)


def cpu_seconds_over(interval: float) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(interval)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def test_powered_off_worker_sleeps(board: SimBoard, sink: RecordingSink,
                                   workers: list[ModemWorker]) -> None:
    for worker in workers:
        worker.submit(Power(False))
    assert sink.wait(lambda: all(w.info.state == STATE_POWER_OFF for w in workers))
    assert cpu_seconds_over(0.5) < 0.1


def test_bad_jobs_cost_only_themselves(sink: RecordingSink, workers: list[ModemWorker]) -> None:
    workers[0].submit(Ussd("Café"))                       # not typeable in text mode
    workers[0].submit(SendPart(11, "00ZZ", 1))
    workers[0].submit(SimLock('1234",0,"', True))
    hex_pdu, length = part("+447700900123")
    workers[0].submit(SendPart(12, hex_pdu, length))
    assert sink.wait(lambda: len(sink.results) == 2)
    bad, good = (r for _, r in sink.results)
    assert (bad.part_id, bad.ok, bad.permanent, bad.on_air) == (11, False, True, False)
    assert good.part_id == 12 and good.ok
    assert [(u.port, u.text, u.status) for u in sink.ussd] == [(0, "", 4)]
    assert ("part_starting", (0, 11)) not in sink.calls and workers[0].alive
