"""The AT engine wired to in-memory byte streams: framing, URC separation, prompt, timeouts."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsd.at import (AtEngine, AtProtocolError, Command, CommandError, Discarded, Response,
                     Timeout, Urc)


def run(engine: AtEngine, command: Command, reply: bytes, now: float = 0.0) -> list[object]:
    engine.send(command, now)
    return list(engine.receive_data(reply, now))


def finals(events: list[object]) -> list[object]:
    return [e for e in events if isinstance(e, (Response, CommandError, Timeout))]


def urcs(events: list[object]) -> list[Urc]:
    return [e for e in events if isinstance(e, Urc)]


def test_send_returns_command_line_with_cr() -> None:
    assert AtEngine().send(Command("AT+CSQ"), 0.0) == b"AT+CSQ\r"


def test_simple_response_keeps_information_lines_only() -> None:
    events = run(AtEngine(), Command("AT+CSQ"), b"\r\n+CSQ: 23,99\r\n\r\nOK\r\n")
    assert events == [Response(Command("AT+CSQ"), ("+CSQ: 23,99",))]


def test_echo_before_ate0_is_dropped() -> None:
    events = run(AtEngine(), Command("ATE0"), b"ATE0\r\r\nOK\r\n")
    assert events == [Response(Command("ATE0"), ())]


def test_echoed_information_command_keeps_its_answer() -> None:
    events = run(AtEngine(), Command("AT+CGSN"), b"AT+CGSN\r\r\n866758041234567\r\n\r\nOK\r\n")
    assert finals(events) == [Response(Command("AT+CGSN"), ("866758041234567",))]


def test_urc_in_the_middle_of_a_response_is_reported_apart() -> None:
    cmd = Command("AT+CMGL=4", timeout=10)
    reply = (b"\r\n+CMGL: 0,1,,5\r\n0011000B91\r\n+CMTI: \"SM\",7\r\n"
             b"+CMGL: 1,1,,5\r\n0011000B92\r\nRING\r\n\r\nOK\r\n")
    events = run(AtEngine(), cmd, reply)
    assert urcs(events) == [Urc("+CMTI", ('"SM"', "7"), ('+CMTI: "SM",7',)),
                            Urc("RING", (), ("RING",))]
    assert finals(events) == [Response(cmd, ("+CMGL: 0,1,,5", "0011000B91",
                                             "+CMGL: 1,1,,5", "0011000B92"))]
    assert isinstance(events[0], Urc) and isinstance(events[-1], Response)


def test_creg_urc_during_creg_query_is_told_apart_by_arity() -> None:
    cmd = Command("AT+CREG?")
    events = run(AtEngine(), cmd, b"\r\n+CREG: 2\r\n+CREG: 1,1\r\n+CREG: 5,\"1A2B\",\"01C3\",7\r\n"
                                  b"\r\nOK\r\n")
    assert [u.args for u in urcs(events)] == [("2",), ("5", '"1A2B"', '"01C3"', "7")]
    assert finals(events) == [Response(cmd, ("+CREG: 1,1",))]


def test_creg_answer_with_location_is_claimed() -> None:
    cmd = Command("AT+CREG?")
    events = run(AtEngine(), cmd, b'\r\n+CREG: 2,1,"D509","80D4"\r\n\r\nOK\r\n')
    assert events == [Response(cmd, ('+CREG: 2,1,"D509","80D4"',))]


def test_prefix_not_expected_by_command_is_a_urc() -> None:
    cmd = Command("AT+CSQ")
    events = run(AtEngine(), cmd, b"\r\n+CPIN: NOT READY\r\n+CSQ: 5,99\r\nOK\r\n")
    assert urcs(events) == [Urc("+CPIN", ("NOT READY",), ("+CPIN: NOT READY",))]
    assert finals(events) == [Response(cmd, ("+CSQ: 5,99",))]


def test_expect_claims_a_foreign_prefix() -> None:
    cmd = Command("AT+CICCID", expect=("+ICCID",))
    events = run(AtEngine(), cmd, b"\r\n+ICCID: 89860318760230183391\r\n\r\nOK\r\n")
    assert events == [Response(cmd, ("+ICCID: 89860318760230183391",))]


def test_cusd_is_a_urc_even_while_cusd_command_is_pending() -> None:
    cmd = Command('AT+CUSD=1,"*100#",15')
    events = run(AtEngine(), cmd, b'\r\n+CUSD: 0,"Balance 5.00",15\r\n\r\nOK\r\n')
    assert urcs(events) == [Urc("+CUSD", ("0", '"Balance 5.00"', "15"),
                                ('+CUSD: 0,"Balance 5.00",15',))]
    assert finals(events) == [Response(cmd, ())]


def test_cusd_string_spanning_lines_is_one_urc() -> None:
    events = AtEngine().receive_data(b'\r\n+CUSD: 1,"Menu\r\n1 Balance\r\n2 Bundles",15\r\n', 0)
    assert events == [Urc("+CUSD", ("1", '"Menu 1 Balance 2 Bundles"', "15"),
                          ('+CUSD: 1,"Menu', "1 Balance", '2 Bundles",15'))]


def test_cmt_and_cds_carry_their_pdu_line() -> None:
    data = b"\r\n+CMT: ,24\r\n0791447785\r\n\r\n+CDS: 25\r\n07914477AA\r\n"
    assert AtEngine().receive_data(data, 0) == [
        Urc("+CMT", ("", "24"), ("+CMT: ,24", "0791447785")),
        Urc("+CDS", ("25",), ("+CDS: 25", "07914477AA"))]


def test_cmt_inside_a_command_does_not_steal_its_lines() -> None:
    cmd = Command("AT+CSQ")
    events = run(AtEngine(), cmd, b"\r\n+CMT: ,3\r\n00AABB\r\n+CSQ: 9,99\r\nOK\r\n")
    assert urcs(events) == [Urc("+CMT", ("", "3"), ("+CMT: ,3", "00AABB"))]
    assert finals(events) == [Response(cmd, ("+CSQ: 9,99",))]


def test_cmt_without_pdu_line_does_not_swallow_the_final_result() -> None:
    cmd = Command("AT")
    events = run(AtEngine(), cmd, b"\r\n+CMT: ,3\r\nOK\r\n")
    assert urcs(events) == [Urc("+CMT", ("", "3"), ("+CMT: ,3",))]
    assert finals(events) == [Response(cmd, ())]


@pytest.mark.parametrize("line, cme, cms", [
    (b"ERROR", None, None), (b"+CME ERROR: 10", 10, None), (b"+CMS ERROR: 500", None, 500),
    (b"+CME ERROR: SIM not inserted", None, None)])
def test_error_results(line: bytes, cme: int | None, cms: int | None) -> None:
    cmd = Command("AT+CPIN?")
    events = run(AtEngine(), cmd, b"\r\n" + line + b"\r\n")
    assert events == [CommandError(cmd, (), cme, cms, line.decode())]


def test_call_result_ends_a_dial_command() -> None:
    cmd = Command("ATD+447700900123;")
    assert run(AtEngine(), cmd, b"\r\nNO CARRIER\r\n") == [
        CommandError(cmd, (), None, None, "NO CARRIER")]


def test_call_result_during_another_command_is_a_urc() -> None:
    cmd = Command("AT+CSQ")
    events = run(AtEngine(), cmd, b"\r\nNO CARRIER\r\n+CSQ: 3,99\r\nOK\r\n")
    assert events == [Urc("NO CARRIER", (), ("NO CARRIER",)), Response(cmd, ("+CSQ: 3,99",))]


def test_call_result_when_idle_is_a_urc() -> None:
    assert AtEngine().receive_data(b"\r\nNO CARRIER\r\n", 0) == [
        Urc("NO CARRIER", (), ("NO CARRIER",))]


def test_cmgs_with_prompt_sends_payload_and_ctrl_z() -> None:
    engine = AtEngine()
    cmd = Command("AT+CMGS=18", timeout=30, prompt_payload="0011000B914477")
    assert engine.send(cmd, 0) == b"AT+CMGS=18\r"
    assert engine.receive_data(b"\r\n> ", 1.0) == []
    assert engine.pending_output() == b"0011000B914477\x1a"
    assert engine.pending_output() == b""
    events = engine.receive_data(b"\r\n+CMGS: 201\r\n\r\nOK\r\n", 2.0)
    assert events == [Response(cmd, ("+CMGS: 201",))]
    assert not engine.busy


def test_prompt_followed_by_a_line_end_still_counts() -> None:
    engine = AtEngine()
    cmd = Command("AT+CMGS=5", prompt_payload="00")
    engine.send(cmd, 0)
    assert engine.receive_data(b"\r\n> \r\n", 0) == []
    assert engine.pending_output() == b"00\x1a"


def test_prompt_restarts_the_deadline() -> None:
    engine = AtEngine()
    engine.send(Command("AT+CMGS=5", timeout=10, prompt_payload="00"), 0)
    engine.receive_data(b"> ", 8.0)
    assert engine.tick(12.0) == []
    assert engine.tick(18.0) == [Timeout(Command("AT+CMGS=5", timeout=10, prompt_payload="00"),
                                         prompt_seen=True)]


def test_missing_prompt_times_out_on_the_prompt_deadline() -> None:
    engine = AtEngine()
    cmd = Command("AT+CMGS=5", timeout=60, prompt_payload="00", prompt_timeout=2)
    engine.send(cmd, 0)
    assert engine.tick(1.9) == []
    assert engine.tick(2.0) == [Timeout(cmd, prompt_seen=False)]


def test_prompt_timeout_does_not_shorten_the_answer_wait() -> None:
    engine = AtEngine()
    cmd = Command("AT+CMGS=5", timeout=60, prompt_payload="00", prompt_timeout=2)
    engine.send(cmd, 0)
    engine.receive_data(b"\r\n> ", 1.0)
    assert engine.tick(60.9) == []
    assert engine.tick(61.0) == [Timeout(cmd, prompt_seen=True)]


def test_cms_error_before_prompt_means_payload_never_sent() -> None:
    engine = AtEngine()
    cmd = Command("AT+CMGS=5", prompt_payload="00")
    events = run(engine, cmd, b"\r\n+CMS ERROR: 304\r\n")
    assert events == [CommandError(cmd, (), None, 304, "+CMS ERROR: 304", prompt_seen=False)]
    assert engine.pending_output() == b""


def test_prompt_is_not_recognised_for_plain_commands() -> None:
    engine = AtEngine()
    run(engine, Command("AT"), b"> ")
    assert engine.pending_output() == b""


def test_modem_that_never_answers_times_out_and_frees_the_engine() -> None:
    engine = AtEngine()
    cmd = Command("AT+CSQ", timeout=5)
    engine.send(cmd, 100.0)
    assert engine.deadline == 105.0
    assert engine.tick(104.9) == []
    assert engine.tick(105.0) == [Timeout(cmd)]
    assert not engine.busy and engine.tick(200.0) == []
    assert engine.receive_data(b"\r\nOK\r\n", 106.0) == [Discarded("OK", "late")]
    engine.send(Command("AT"), 107.0)


def test_send_while_busy_is_a_local_error() -> None:
    engine = AtEngine()
    engine.send(Command("AT"), 0)
    with pytest.raises(AtProtocolError):
        engine.send(Command("AT+CSQ"), 0)


def test_garbage_bytes_are_discarded_and_do_not_break_the_command() -> None:
    cmd = Command("AT+CSQ")
    events = run(AtEngine(), cmd, b"\x00\xff\xfe\x13\r\n+CSQ: 12,99\r\n\x00\r\nOK\r\n")
    assert finals(events) == [Response(cmd, ("+CSQ: 12,99",))]
    assert all(isinstance(e, Discarded) for e in events[:-1])


def test_idle_bare_noise_is_discarded_not_a_urc() -> None:
    assert AtEngine().receive_data(b"hello\r\n", 0) == [Discarded("hello", "unsolicited")]


def test_reset_forgets_partial_state() -> None:
    engine = AtEngine()
    engine.send(Command("AT"), 0)
    engine.receive_data(b"+CMT: ,3\r\n", 0)
    engine.reset()
    assert not engine.busy
    assert engine.receive_data(b"RDY\r\n", 0) == [Urc("RDY", (), ("RDY",))]


# --- framing: the same bytes cut anywhere give the same events ----------------------------------
SESSION_CMD = Command("AT+CMGS=18", timeout=30, prompt_payload="0011")
SESSION = (b"AT+CMGS=18\r\r\n+CMTI: \"SM\",1\r\n> ", b"\r\n+CDS: 25\r\n07914477AA\r\nRING\r\n"
           b"+CMGS: 7\r\n\r\nOK\r\n+CREG: 1\r\n")


def feed(chunks: list[bytes]) -> tuple[list[object], bytes]:
    engine = AtEngine()
    engine.send(SESSION_CMD, 0)
    events: list[object] = []
    out = b""
    for chunk in chunks:
        events += engine.receive_data(chunk, 0)
        out += engine.pending_output()
    return events, out


def split_stream(cuts: list[int]) -> list[bytes]:
    # The prompt phase must be delivered before the modem can answer it; cut each phase.
    chunks: list[bytes] = []
    for part in SESSION:
        points = sorted({c % (len(part) + 1) for c in cuts} | {0, len(part)})
        chunks += [part[a:b] for a, b in zip(points, points[1:])]
    return chunks


def test_every_single_byte_boundary_gives_the_same_events() -> None:
    whole, out = feed(list(SESSION))
    assert out == b"0011\x1a"
    assert [type(e).__name__ for e in whole] == ["Urc", "Urc", "Urc", "Response", "Urc"]
    for cut in range(1, max(map(len, SESSION))):
        assert feed(split_stream([cut])) == (whole, out), cut


def test_byte_by_byte_feed() -> None:
    chunks = [bytes([b]) for part in SESSION for b in part]
    assert feed(chunks) == feed(list(SESSION))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_random_splits_give_the_same_events(cuts: list[int]) -> None:
    assert feed(split_stream(cuts)) == feed(list(SESSION))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    engine = AtEngine()
    engine.send(Command("AT+CMGS=3", prompt_payload="00"), 0)
    engine.receive_data(data, 0)
    engine.tick(10.0)
    assert not engine.busy


# --- property: URCs anywhere never leak into a response, nor a response line into a URC --------
COMMANDS = [
    (Command("AT+CSQ"), ["+CSQ: 5,99"]),
    (Command("AT+CREG?"), ["+CREG: 0,1"]),
    (Command("ATI", expect=("+GCAP",)), ["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"]),
    (Command("AT+CMGL=4", timeout=30), ["+CMGL: 0,1,,5", "0011000B91", "+CMGL: 3,0,,5",
                                        "0011000B92"]),
]
URCS = [
    Urc("+CMTI", ('"SM"', "3"), ('+CMTI: "SM",3',)), Urc("RING", (), ("RING",)),
    Urc("+CREG", ("1",), ("+CREG: 1",)), Urc("+CUSD", ("0", '"Hi"', "15"), ('+CUSD: 0,"Hi",15',)),
    Urc("+CMT", ("", "3"), ("+CMT: ,3", "00AABB")), Urc("RDY", (), ("RDY",)),
    Urc("+QIND", ("SMS DONE",), ("+QIND: SMS DONE",)), Urc("NO CARRIER", (), ("NO CARRIER",)),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(COMMANDS),
       st.lists(st.tuples(st.integers(0, 10), st.sampled_from(URCS)), max_size=6),
       st.lists(st.integers(1, 400), max_size=8))
def test_urcs_anywhere_are_told_apart(command: tuple[Command, list[str]],
                                      inserts: list[tuple[int, Urc]], cuts: list[int]) -> None:
    cmd, answer = command
    units: list[tuple[str, ...] | Urc] = [(line,) for line in answer]   # a URC is never split
    for position, urc in inserts:
        units.insert(position % (len(units) + 1), urc)
    lines = [ln for unit in units for ln in (unit.lines if isinstance(unit, Urc) else unit)]
    stream = b"".join(b"\r\n" + ln.encode() + b"\r\n" for ln in lines + ["OK"])
    points = sorted({0, len(stream), *(c % len(stream) for c in cuts)})
    engine = AtEngine()
    engine.send(cmd, 0)
    events: list[object] = []
    for a, b in zip(points, points[1:]):
        events += engine.receive_data(stream[a:b], 0)
    assert events[-1] == Response(cmd, tuple(answer))
    assert events[:-1] == [unit for unit in units if isinstance(unit, Urc)]
