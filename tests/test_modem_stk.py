"""A port's STK session in its worker, against the simulated Quectel and SIMCom modules, and the
information lines of each family read into frames."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsd.modem.quirks import generic, simcom
from smsd.modem.quirks.stk import INKEY, INPUT, MENU, QUECTEL, SIMCOM, StkSyntax
from smsd.modem.stk import (CHARS_HIDDEN, DESKTOP, DIGITS, DIGITS_HIDDEN, ONE_CHAR, ONE_DIGIT,
                            YES_NO, StkJob, StkRefused, StkSession, StkView, _Run, answer_data)
from smsd.modem.jobs import Reset
from smsd.modem.worker import ModemWorker
from smsd.sim import SimBoard
from tests.test_modem_fakes import RecordingSink
from tests.test_modem_worker import FAST, LATENCY, start, stop_all


@pytest.fixture
def board() -> Iterator[SimBoard]:
    with SimBoard(ports=2, latency=LATENCY, profile="mixed", seed=5) as b:
        yield b
        stop_all()


def run(worker: ModemWorker, job: StkJob) -> StkJob:
    worker.submit(job)
    assert job.reply.wait(FAST.command * 6), "the worker did not answer the STK job"
    return job


def shown(worker: ModemWorker, job: StkJob) -> StkView:
    reply = run(worker, job).reply
    assert reply.view is not None, (reply.refused, reply.failed)
    return reply.view


@pytest.mark.parametrize("port,title", [(0, "SIM Services"), (1, "神州行天地")])
def test_worker_walks_the_menu(board: SimBoard, port: int, title: str) -> None:
    worker = start(board, RecordingSink(), port)
    main = shown(worker, StkJob("view"))
    assert (main.title, main.input_type, [i.text for i in main.items]) == (
        title, DESKTOP, ["Balance", "Top up", "Settings"])
    assert shown(worker, StkJob("view")).frame_id == main.frame_id     # held, not read again
    sub = shown(worker, StkJob("ok", item=3))
    assert sub.title == "Settings" and sub.frame_id == main.frame_id + 1
    pin = shown(worker, StkJob("ok", item=1))
    assert (pin.input_type, pin.min_len, pin.max_len, pin.text) == (DIGITS_HIDDEN, 4, 8, "New PIN")
    refused = run(worker, StkJob("ok", param="12")).reply
    assert refused.view is None and "4 to 8 digits" in refused.refused
    done = shown(worker, StkJob("ok", param="9876"))
    assert (done.input_type, done.text) == (0, "Saved: 9876")
    assert shown(worker, StkJob("ok")).input_type == DESKTOP
    stale = run(worker, StkJob("ok", item=1, frame_id=main.frame_id)).reply
    assert "stale frame_id" in stale.refused


def test_a_modem_without_stk_commands_says_so() -> None:
    job = StkJob("view")
    StkSession(3).handle(job, None, generic.PROFILE, True, 1.0)  # type: ignore[arg-type]
    assert job.reply.view is None and "no STK commands" in job.reply.failed
    job = StkJob("view")
    StkSession(3).handle(job, None, simcom.PROFILE, False, 1.0)  # type: ignore[arg-type]
    assert "not ready" in job.reply.failed


def parse(syntax: StkSyntax, kind: str, *lines: str) -> StkView:
    return _Run(StkSession(0), syntax, None, 1.0).parse(kind, lines, 7)  # type: ignore[arg-type]


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def test_simcom_lines_read_into_frames() -> None:
    menu = parse(SIMCOM, MENU, f'+STGI: 25,0,0,10,"{ucs2("神州行天地")}",2',
                 f'+STGI: 25,1,8,"{ucs2("Item")}"', '+STGI: 25,2,4,"00410042"')
    assert (menu.title, [(i.id, i.text) for i in menu.items]) == (
        "神州行天地", [(1, "Item"), (2, "AB")])
    assert parse(SIMCOM, INKEY, f'+STGI: 22,1,0,2,"{ucs2("?")}"').input_type == YES_NO
    assert parse(SIMCOM, INKEY, '+STGI: 22,2,0,0,""').input_type == ONE_DIGIT
    assert parse(SIMCOM, INKEY, '+STGI: 22,0,0,0,""').input_type == ONE_CHAR
    digits = parse(SIMCOM, INPUT, f'+STGI: 23,2,16,4,0,1,4,"{ucs2("No")}"')
    assert (digits.input_type, digits.min_len, digits.max_len, digits.text) == (DIGITS, 4, 16,
                                                                                "No")
    assert parse(SIMCOM, INPUT, '+STGI: 23,0,12,4,0,0,0,""').input_type == CHARS_HIDDEN


def test_quectel_lines_read_into_frames() -> None:
    menu = parse(QUECTEL, MENU, '+QSTKGI: 37,0,1,"Ops"', '+QSTKGI: 37,5,"Top, up",0')
    assert (menu.title, [(i.id, i.text) for i in menu.items]) == ("Ops", [(5, "Top, up")])
    assert parse(QUECTEL, INKEY, '+QSTKGI: 34,4,"Sure?"').input_type == YES_NO
    assert parse(QUECTEL, INKEY, '+QSTKGI: 34,1,"Key"').input_type == ONE_CHAR
    pin = parse(QUECTEL, INPUT, '+QSTKGI: 35,4,"PIN",4,8')
    assert (pin.input_type, pin.min_len, pin.max_len) == (DIGITS_HIDDEN, 4, 8)
    assert parse(QUECTEL, INPUT, '+QSTKGI: 35,5,"Pw",1,9').input_type == CHARS_HIDDEN


@pytest.mark.parametrize("input_type,param,words", [
    (YES_NO, "perhaps", "yes or no"), (ONE_DIGIT, "12", "one digit"),
    (ONE_CHAR, "", "one character"), (DIGITS, "1", "2 to 4 digits"),
    (DIGITS, "1a", "digits only"), (CHARS_HIDDEN, 'a"b', "printable ASCII"),
    (CHARS_HIDDEN, "né", "printable ASCII")])
def test_answers_that_do_not_fit_the_frame(input_type: int, param: str, words: str) -> None:
    view = StkView("", "", input_type, 1, min_len=2, max_len=4)
    with pytest.raises(StkRefused, match=words):
        answer_data(view, param, QUECTEL)


def test_answers_as_the_modem_takes_them() -> None:
    assert answer_data(StkView("", "", YES_NO, 1), "Yes", SIMCOM) == "Y"
    assert answer_data(StkView("", "", YES_NO, 1), "n", QUECTEL) == "N"
    assert answer_data(StkView("", "", ONE_DIGIT, 1), "#", SIMCOM) == "#"
    assert answer_data(StkView("", "", DIGITS, 1, min_len=1, max_len=3), "*12", SIMCOM) == "*12"


def test_a_reset_shows_the_main_menu_again(board: SimBoard) -> None:
    worker = start(board, RecordingSink(), 1)
    shown(worker, StkJob("view"))
    assert shown(worker, StkJob("ok", item=2)).input_type == 2           # in the sub-menu
    worker.submit(Reset())
    view = shown(worker, StkJob("view"))                                 # queued after the reset
    assert view.input_type == DESKTOP and [i.id for i in view.items] == [1, 2, 3]
