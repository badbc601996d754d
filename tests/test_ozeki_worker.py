"""The worker honours per-port settings from its provider: PIN, SMSC, submit timeout, receive.

Against the scripted modem of test_modem_scripted on a real pty (AT commands logged in order).
"""
from __future__ import annotations

import time
from typing import Iterator

import pytest

from smsd.model import REG_OK, STATE_READY
from smsd.modem.jobs import Refresh, SendPart
from smsd.modem.worker import ModemWorker
from tests.test_modem_scripted import (DELIVER, FAST, REPORT, ScriptedModem, logging_sink,
                                       tpdu_len)


class Settings(dict[str, str]):
    """The provider: a dict the test changes while the worker runs."""

    def __call__(self) -> dict[str, str]:
        return dict(self)


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture
def modem(log: list[str]) -> Iterator[ScriptedModem]:
    m = ScriptedModem(log)
    yield m
    m.close()


def start(modem: ScriptedModem, log: list[str], settings: Settings) -> tuple[ModemWorker, object]:
    sink = logging_sink(log)
    w = ModemWorker(0, modem.path, sink, timing=FAST, settings=settings)
    w.start()
    assert sink.wait(lambda: w.info.state == STATE_READY, 5.0)
    return w, sink


def test_pin_is_entered_once_and_smsc_set_at_init(modem: ScriptedModem, log: list[str]) -> None:
    modem.replies["AT+CPIN?"] = "+CPIN: SIM PIN"
    modem.replies['AT+CPIN="4321"'] = ""
    settings = Settings(sim_pin="4321", smsc="+447700900999")
    w, _ = start(modem, log, settings)
    try:
        assert log.count('AT+CPIN="4321"') == 1
        assert 'AT+CSCA="+447700900999",145' in log
        assert w.info.smsc == "+447700900999"
    finally:
        w.stop()


def test_no_pin_configured_sends_none(modem: ScriptedModem, log: list[str]) -> None:
    modem.replies["AT+CPIN?"] = "+CPIN: SIM PIN"
    w, _ = start(modem, log, Settings())
    try:
        assert not any(line.startswith("AT+CPIN=") for line in log)
        assert not any(line.startswith("AT+CSCA=") for line in log)
    finally:
        w.stop()


def test_submit_timeout_bounds_the_cmgs_wait(modem: ScriptedModem, log: list[str]) -> None:
    settings = Settings(submit_timeout="5")
    w, sink = start(modem, log, settings)
    modem.answer_cmgs = False
    pdu_hex = "0011000C914477009001230000AA05E8329BFD06"
    began = time.monotonic()
    w.submit(SendPart(1, pdu_hex, tpdu_len(pdu_hex)))
    try:
        assert sink.wait(lambda: bool(sink.results), 10.0)    # type: ignore[attr-defined]
        waited = time.monotonic() - began
        assert 4.5 <= waited < 8.0                              # FAST.cmgs is 0.5 s
        assert sink.results[0][1].on_air                        # type: ignore[attr-defined]
    finally:
        w.stop()


def test_receive_off_leaves_announced_sms_on_the_sim(modem: ScriptedModem,
                                                     log: list[str]) -> None:
    settings = Settings(receive="off")
    modem.storage = {3: DELIVER}
    w, sink = start(modem, log, settings)
    try:
        modem.push('\r\n+CMTI: "SM",3\r\n')
        time.sleep(1.0)
        assert 3 in modem.storage and "sink deliver" not in log
        settings["receive"] = "on"
        w.submit(Refresh())
        assert sink.wait(lambda: "sink deliver" in log, 5.0)    # type: ignore[attr-defined]
        assert sink.wait(lambda: not modem.storage, 5.0)        # type: ignore[attr-defined]
        assert w.info.reg == REG_OK
    finally:
        w.stop()


def test_receive_off_still_takes_the_stored_status_reports(modem: ScriptedModem,
                                                            log: list[str]) -> None:
    # Reports are stored on the SIM like SMS (AT+CNMI ds=2, docs/durability.md): the drain at
    # init takes them even with receive off, and leaves the SMS.
    settings = Settings(receive="off")
    modem.storage = {3: DELIVER, 4: REPORT}
    w, sink = start(modem, log, settings)
    try:
        assert sink.wait(lambda: "sink status_report" in log, 5.0)   # type: ignore[attr-defined]
        assert sink.wait(lambda: 4 not in modem.storage, 5.0)         # type: ignore[attr-defined]
        assert 3 in modem.storage and "sink deliver" not in log
    finally:
        w.stop()
