"""Calls and call forwarding through a real modem worker on the simulated board (ptys, real AT)."""
from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest

from smsd.at.calls import parse_ccfc, parse_ceer, parse_clip, voice_forward
from smsd.model import STATE_READY
from smsd.modem.calls import CallForward, CallRecord, ForwardResult
from smsd.modem.worker import ModemWorker, Timing
from smsd.sim import SimBoard
from tests.test_modem_fakes import RecordingSink

FAST = Timing(command=1.0, cmgs=2.0, ussd=2.0, boot=3.0, sim_ready=3.0, refresh=30.0,
              probe=0.2, probe_tries=2, quarantine_retry=60.0)
CALLER = "+447700900123"


class CallSink(RecordingSink):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[CallRecord] = []

    def call_ended(self, record: CallRecord) -> None:
        with self._cond:
            self.records.append(record)
        self._record("call_ended", record)


@pytest.fixture
def board() -> Iterator[SimBoard]:
    with SimBoard(ports=2, slots=1, latency=0.05, profile="mixed", seed=5) as b:
        yield b


def start(board: SimBoard, sink: CallSink, port: int, policy: str) -> ModemWorker:
    worker = ModemWorker(port, board.device(port), sink, timing=FAST,
                         settings=lambda: {"call_policy": policy})
    worker.start()
    assert sink.wait(lambda: worker.info.state == STATE_READY), worker.info
    return worker


@pytest.mark.parametrize("port", [0, 1])          # quectel (ATH), simcom (AT+CHUP)
def test_reject_policy_hangs_up_at_once_and_records_the_call(board: SimBoard,
                                                             port: int) -> None:
    sink = CallSink()
    worker = start(board, sink, port, "reject")
    try:
        started = time.time()
        assert board.place_call(port, CALLER, ring_seconds=20) == "ringing"
        assert sink.wait(lambda: bool(sink.records), timeout=5)
        rec = sink.records[0]
        ident = board.sim_identity(port, 0)
        assert (rec.port, rec.slot, rec.imsi, rec.destination_number) == \
            (port, 255, ident.imsi, ident.number)
        assert rec.source_number == CALLER and rec.direction == "gsm->ip"
        assert (rec.hangup, rec.gsm_code, rec.policy) == ("gateway", 21, "reject")
        assert rec.answered is None and rec.duration == 0
        assert started - 1 <= rec.started <= rec.ended <= started + 5
        assert rec.ended - rec.started < 3                       # not the 20 s it would ring
        assert sink.wait(lambda: worker.info.callstate == "Idle")
    finally:
        worker.stop()


def test_ignore_policy_lets_it_ring_until_the_caller_gives_up(board: SimBoard) -> None:
    sink = CallSink()
    worker = start(board, sink, 0, "ignore")
    try:
        board.place_call(0, CALLER, ring_seconds=0.8, hangup_cause=17)
        assert sink.wait(lambda: worker.info.callstate == "Ringing", timeout=3)
        assert sink.wait(lambda: bool(sink.records), timeout=5)
        rec = sink.records[0]
        assert (rec.hangup, rec.gsm_code, rec.policy) == ("calling", 17, "ignore")
        assert rec.ended - rec.started >= 0.6
        assert worker.info.callstate == "Idle"
    finally:
        worker.stop()


def test_forwarding_jobs_set_and_read_back_from_the_network(board: SimBoard) -> None:
    sink = CallSink()
    worker = start(board, sink, 1, "forward")
    answers: queue.Queue[ForwardResult] = queue.Queue()
    try:
        worker.submit(CallForward(0, "+447700900777", answers.put))
        assert answers.get(timeout=5) == ForwardResult(True, {0: "+447700900777"})
        assert board.place_call(1, CALLER) == "forwarded"      # the network has it now
        worker.submit(CallForward(4, None, answers.put))        # check every reason
        assert answers.get(timeout=5) == ForwardResult(
            True, {0: "+447700900777", 1: "", 2: "", 3: ""})
        worker.submit(CallForward(4, "", answers.put))          # cancel all
        assert answers.get(timeout=5).forwards == {0: "", 1: "", 2: "", 3: ""}
        worker.submit(CallForward(1, "12;AT+CFUN=0", answers.put))
        assert answers.get(timeout=5) == ForwardResult(False, error="not a phone number")
        assert board.place_call(1, CALLER, ring_seconds=0.3) == "ringing"
        assert sink.wait(lambda: bool(sink.records), timeout=5)
        assert sink.records[0].policy == "forward" and sink.records[0].hangup == "calling"
    finally:
        worker.stop()


def test_forward_policy_rejects_at_once_when_busy_forwarding_is_on(board: SimBoard) -> None:
    sink = CallSink()
    worker = start(board, sink, 0, "forward")
    answers: queue.Queue[ForwardResult] = queue.Queue()
    try:
        board.place_call(0, CALLER, ring_seconds=0.6)           # nothing set: it rings out
        assert sink.wait(lambda: len(sink.records) == 1, timeout=5)
        assert (sink.records[0].hangup, sink.records[0].gsm_code) == ("calling", 16)
        assert sink.records[0].ended - sink.records[0].started >= 0.4
        worker.submit(CallForward(1, "+447700900001", answers.put))
        assert answers.get(timeout=5).forwards == {1: "+447700900001"}
        board.place_call(0, CALLER, ring_seconds=20)            # "busy": the network forwards
        assert sink.wait(lambda: len(sink.records) == 2, timeout=5)
        rec = sink.records[1]
        assert (rec.hangup, rec.gsm_code, rec.policy) == ("gateway", 21, "forward")
        assert rec.ended - rec.started < 3
    finally:
        worker.stop()


# --- the parsers, on the replies they were written against -------------------------------------
def test_parse_clip_and_ccfc() -> None:
    assert parse_clip(('"447700900123"', "145")) == "+447700900123"
    assert parse_clip(('"07700900123"', "129", "", "", '""', "0")) == "07700900123"
    assert parse_clip(('""', "128")) == ""
    lines = ('+CCFC: 0,2', '+CCFC: 1,1,"+447700900002",145,,,5')
    assert [(f.active, f.cls, f.number, f.time) for f in parse_ccfc(lines)] == \
        [(False, 2, "", None), (True, 1, "+447700900002", 5)]
    assert voice_forward(lines) == "+447700900002"
    assert voice_forward(("+CCFC: 0,7",)) == ""
    assert voice_forward(('+CCFC: 1,7,"15013828917",129',)) == "15013828917"


@pytest.mark.parametrize("lines, cause", [
    (('+CEER: "CC INFO","Normal call clearing"',), 16),
    (("+CEER: User busy",), 17),
    (("+CEER: Call Rejected",), 21),
    (("+CEER: 0,17,0",), 17),                   # a location, then the cause
    (("+CEER: 16",), 16),
    (("+CEER: No cause information available",), 0),
    (("+CEER: something else",), None),
    ((), None),
])
def test_parse_ceer(lines: tuple[str, ...], cause: int | None) -> None:
    assert parse_ceer(lines) == cause
