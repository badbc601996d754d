"""The worker against a small scripted modem on a real pty, for behaviours the simulator does
not produce: a module that echoes everything (even after ATE0), URCs and line noise inside a
response, status reports stored in "SR", messages already stored at start-up, a spontaneous
reboot, and a +CMGS whose answer never comes after the prompt.
"""
from __future__ import annotations

import datetime as dt
import os
import resource
import select
import threading
import time
import tty
from collections.abc import Callable, Iterator

import pytest

from smsd.model import REG_OK, REG_UNKNOWN, STATE_QUARANTINED, STATE_READY
from smsd.modem.jobs import SendPart
from smsd.modem.worker import ModemWorker, Timing
from smsd.pdu import _python as pdu
from tests.test_modem_fakes import RecordingSink

FAST = Timing(command=0.5, cmgs=0.5, probe=0.3, probe_tries=2, boot=1.0, refresh=30.0)
SCTS = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
DELIVER = pdu.encode_deliver("+447700900555", "stored hello", scts=SCTS)[0]
REPORT = pdu.encode_status_report("+447700900123", 42, 0, scts=SCTS,
                                  discharge=SCTS + dt.timedelta(seconds=4))


def tpdu_len(pdu_hex: str) -> int:
    return len(pdu_hex) // 2 - 1 - int(pdu_hex[:2], 16)


class ScriptedModem:
    """A generic (SIM800-like) module that echoes every byte and answers from `replies`.

    `log` is shared with the test's sink, so the order of AT commands and sink calls is one
    timeline. `storage` maps SIM index -> PDU; AT+CMGD removes from it.
    """

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.storage: dict[int, str] = {}
        self.answer_cmgs = True
        self.replies: dict[str, str] = {
            "ATI": "SIM800 R14.18", "AT+CGSN": "869170031234567", "AT+CPIN?": "+CPIN: READY",
            "AT+CIMI": "234101234567890", "AT+CCID": "8944500102198304826F",
            "AT+CNUM": "", "AT+CSCA?": '+CSCA: "+447785016005",145', "AT+CREG?": "+CREG: 1,1",
            "AT+CSQ": '+CMTI: "SM",9\r\n\x00\xff\xfe\r\n+CSQ: 17,99',
            "AT+COPS?": '+COPS: 0,0,"Vodafone UK",0', "AT+CGATT?": "+CGATT: 1"}
        self._master, slave = os.openpty()
        tty.setraw(slave)
        self._slave = slave
        self.path = os.ttyname(slave)
        self._stop = False
        self._pending = bytearray()
        self._prompt: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        os.close(self._master)
        os.close(self._slave)

    def push(self, text: str) -> None:
        os.write(self._master, text.encode("latin-1"))

    def _run(self) -> None:
        while not self._stop:
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if ready:
                data = os.read(self._master, 4096)
                os.write(self._master, data)            # echo, always
                self._feed(data)

    def _feed(self, data: bytes) -> None:
        for byte in data:
            if self._prompt is not None and byte == 0x1A:
                self._submitted(self._pending.decode())
            elif byte == 0x1B:
                self._prompt = None
                self._pending.clear()
            elif byte == 0x0D and self._prompt is None:
                self._command(self._pending.decode().strip())
            else:
                self._pending.append(byte)
                continue
            self._pending.clear()

    def _command(self, line: str) -> None:
        if not line:
            return
        self.log.append(line)
        if line.startswith("AT+CMGS="):
            self._prompt = line
            self.push("\r\n> ")
            return
        self.push(self._reply(line))

    def _reply(self, line: str) -> str:
        if line.startswith("AT+CMGR="):
            pdu_hex = self.storage.get(int(line[8:]))
            return (f"\r\n+CMGR: 0,,{tpdu_len(pdu_hex)}\r\n{pdu_hex}\r\n\r\nOK\r\n"
                    if pdu_hex else "\r\nOK\r\n")
        if line.startswith("AT+CMGD="):
            self.storage.pop(int(line[8:]), None)
        if line == "AT+CMGL=4":
            body = "".join(f"\r\n+CMGL: {i},1,,{tpdu_len(p)}\r\n{p}"
                           for i, p in sorted(self.storage.items()))
            return body + "\r\n\r\nOK\r\n"
        text = self.replies.get(line, "")
        return (f"\r\n{text}\r\n" if text else "") + "\r\nOK\r\n"

    def _submitted(self, _: str) -> None:
        self._prompt = None
        if self.answer_cmgs:
            self.push("\r\n+CMGS: 77\r\n\r\nOK\r\n")


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture
def modem(log: list[str]) -> Iterator[ScriptedModem]:
    m = ScriptedModem(log)
    m.storage = {1: DELIVER, 9: DELIVER}
    yield m
    m.close()


def logging_sink(log: list[str]) -> RecordingSink:
    return RecordingSink(on_inbound=lambda msg: log.append(f"sink {msg.kind}"))


@pytest.fixture
def worker(modem: ScriptedModem, log: list[str]) -> Iterator[tuple[ModemWorker, RecordingSink]]:
    sink = logging_sink(log)
    w = ModemWorker(0, modem.path, sink, timing=FAST)
    w.start()
    assert sink.wait(lambda: w.info.state == STATE_READY)
    yield w, sink
    w.stop()
    assert not w.alive


def after(log: list[str], first: str, then: str) -> bool:
    return first in log and then in log[log.index(first):]


def wait_for(sink: RecordingSink, predicate: Callable[[], bool]) -> None:
    assert sink.wait(predicate, 5.0)


def test_init_with_echo_noise_and_urc_inside_csq(worker: tuple[ModemWorker, RecordingSink],
                                                 modem: ScriptedModem, log: list[str]) -> None:
    w, sink = worker
    info = w.info
    assert w.profile.name == "generic" and info.model == "SIM800"
    assert (info.imei, info.imsi, info.iccid) == ("869170031234567", "234101234567890",
                                                  "8944500102198304826")
    assert (info.signal, info.reg, info.type, info.number) == (17, REG_OK, "GSM", "")
    # The +CMTI inside the +CSQ answer is followed up after init; the init drain had already
    # taken index 9, so the follow-up finds the slot empty and nothing is delivered twice.
    wait_for(sink, lambda: "AT+CMGR=9" in log)
    assert not modem.storage and log.count("sink deliver") == 2


def test_stored_messages_are_drained_at_init_and_deleted_after_the_sink(
        worker: tuple[ModemWorker, RecordingSink], modem: ScriptedModem, log: list[str]) -> None:
    _, sink = worker
    wait_for(sink, lambda: not modem.storage)
    drain = log.index("AT+CMGL=4")
    assert log[drain + 1:drain + 5] == ["sink deliver", "AT+CMGD=1", "sink deliver",
                                        "AT+CMGD=9"]
    assert sink.inbound_msgs[0].pdu_hex == DELIVER


def test_status_report_stored_in_sr_is_read_from_sr(worker: tuple[ModemWorker, RecordingSink],
                                                    modem: ScriptedModem, log: list[str]) -> None:
    _, sink = worker
    wait_for(sink, lambda: not modem.storage)
    modem.storage[2] = REPORT
    modem.push('\r\n+CDSI: "SR",2\r\n')
    wait_for(sink, lambda: 'AT+CPMS="SM","SM","SM"' in log[log.index('AT+CPMS="SR"'):]
             if 'AT+CPMS="SR"' in log else False)
    tail = log[log.index('AT+CPMS="SR"'):]
    assert tail[1:5] == ["AT+CMGR=2", "sink status_report", "AT+CMGD=2",
                         'AT+CPMS="SM","SM","SM"']
    assert sink.inbound_msgs[-1].kind == "status_report"


def test_direct_cmt_goes_to_the_sink(worker: tuple[ModemWorker, RecordingSink],
                                     modem: ScriptedModem) -> None:
    _, sink = worker
    wait_for(sink, lambda: len(sink.inbound_msgs) == 2)
    modem.push(f"\r\n+CMT: ,{tpdu_len(DELIVER)}\r\n{DELIVER}\r\n")
    wait_for(sink, lambda: len(sink.inbound_msgs) == 3)
    assert sink.inbound_msgs[-1].pdu_hex == DELIVER


def test_spontaneous_reboot_is_followed_by_reinit(worker: tuple[ModemWorker, RecordingSink],
                                                  modem: ScriptedModem, log: list[str]) -> None:
    w, sink = worker
    wait_for(sink, lambda: not modem.storage)
    count = log.count("ATE0")
    modem.push("\r\nRDY\r\n")
    wait_for(sink, lambda: log.count("ATE0") == count + 1 and w.info.state == STATE_READY)


def test_cmgs_with_echo_and_prompt(worker: tuple[ModemWorker, RecordingSink]) -> None:
    w, sink = worker
    first = pdu.encode_submit("+447700900123", "hi")[0]
    w.submit(SendPart(1, first.hex, first.tpdu_len))
    wait_for(sink, lambda: len(sink.results) == 1)
    assert sink.results[0][1].ok and sink.results[0][1].mr == 77


def test_no_answer_after_prompt_is_on_air_timeout_then_retry_recovers(
        worker: tuple[ModemWorker, RecordingSink], modem: ScriptedModem, log: list[str]) -> None:
    w, sink = worker
    modem.answer_cmgs = False
    first = pdu.encode_submit("+447700900123", "hi")[0]
    w.submit(SendPart(1, first.hex, first.tpdu_len))
    wait_for(sink, lambda: len(sink.results) == 1)
    lost = sink.results[0][1]
    assert (lost.ok, lost.on_air, lost.error) == (False, True, "timeout")
    # the retry step is brief: look for it in what the worker published, not in its present state
    wait_for(sink, lambda: any(i.recovery_step == "retry" for i in sink.infos.get(w.port, [])))
    wait_for(sink, lambda: w.info.state == STATE_READY and w.info.recovery_step == "")
    assert "AT" in log
    modem.answer_cmgs = True
    w.submit(SendPart(2, first.hex, first.tpdu_len))
    wait_for(sink, lambda: len(sink.results) == 2)
    assert sink.results[1][1].ok


def test_ring_and_no_carrier_show_in_callstate(worker: tuple[ModemWorker, RecordingSink],
                                               modem: ScriptedModem) -> None:
    w, sink = worker
    modem.push("\r\nRING\r\n")
    wait_for(sink, lambda: w.info.callstate == "Ringing")
    modem.push("\r\nNO CARRIER\r\n")
    wait_for(sink, lambda: w.info.callstate == "Idle")


def test_silent_modem_is_quarantined_and_refuses_sends_without_spinning() -> None:
    master, slave = os.openpty()          # nobody ever answers on this line
    tty.setraw(slave)
    sink = RecordingSink()
    timing = Timing(command=0.1, probe=0.05, probe_tries=1, boot=0.1, quarantine_retry=30.0)
    w = ModemWorker(0, os.ttyname(slave), sink, timing=timing)
    w.start()
    try:
        wait_for(sink, lambda: w.info.state == STATE_QUARANTINED)
        steps = [i.recovery_step for i in sink.infos[0] if i.recovery_step]
        assert steps[0] == "retry" and steps[-1] == "quarantine" and "reopen" in steps
        assert w.info.reg == REG_UNKNOWN and not w.info.can_send
        w.submit(SendPart(1, "00", 1))
        wait_for(sink, lambda: len(sink.results) == 1)
        assert (sink.results[0][1].ok, sink.results[0][1].on_air) == (False, False)
        assert [name for name, _ in sink.calls].count("part_starting") == 0
        before = resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(0.3)
        after = resource.getrusage(resource.RUSAGE_SELF)
        assert (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) < 0.1
    finally:
        w.stop()
        os.close(master)
        os.close(slave)


def test_cpin_ready_urc_does_not_unregister_a_working_port(
        worker: tuple[ModemWorker, RecordingSink], modem: ScriptedModem) -> None:
    w, sink = worker
    modem.push("\r\n+CPIN: READY\r\n\r\nRING\r\n")
    wait_for(sink, lambda: w.info.callstate == "Ringing")     # both URCs handled by now
    assert w.info.reg == REG_OK and w.info.can_send
    modem.push("\r\n+CPIN: NOT INSERTED\r\n")
    wait_for(sink, lambda: w.info.reg == "NO_SIM")
