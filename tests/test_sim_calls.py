"""Voice calls and call forwarding on the simulated modems, seen from the serial port."""
from __future__ import annotations

import pytest

from smsd.sim import SimBoard
from test_sim_client import AtClient, board, clients  # noqa: F401  (fixtures)

CALLER = "+447700900123"


def ready(c: AtClient) -> AtClient:
    c.init()
    assert c.cmd("AT+CLIP=1") == ["OK"]
    return c


def cmd(c: AtClient, command: str) -> list[str]:
    """A command's answer without the RING/+CLIP lines a ringing module prints meanwhile."""
    return [ln for ln in c.cmd(command) if ln != "RING" and not ln.startswith("+CLIP:")]


def test_an_incoming_call_rings_with_the_callers_number_until_they_give_up(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = ready(clients[0])
    assert board.place_call(0, CALLER, ring_seconds=0.35, hangup_cause=17) == "ringing"
    for _ in range(2):                              # RING then +CLIP, again and again
        assert c.line() == "RING"
        assert c.line() == f'+CLIP: "{CALLER}",145'
    assert cmd(c, "AT+CLCC") == [f'+CLCC: 1,1,4,0,0,"{CALLER}",145', "OK"]
    assert c.expect("NO CARRIER", timeout=2) == "NO CARRIER"
    assert cmd(c, "AT+CLCC") == ["OK"]
    assert cmd(c, "AT+CEER") == ['+CEER: "CC INFO","User busy"', "OK"]    # quectel on port 0


def test_without_clip_only_ring_and_a_national_caller_has_type_129(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = clients[1]
    c.init()
    assert c.cmd("AT+CLIP?") == ["+CLIP: 0,1", "OK"]
    board.place_call(1, "07700900123", ring_seconds=5)
    assert c.line() == "RING"
    assert c.line() == "RING"                       # no +CLIP in between
    assert cmd(c, "AT+CLCC") == ['+CLCC: 1,1,4,0,0,"07700900123",129', "OK"]
    assert cmd(c, "AT+CHUP") == ["OK"]               # the host rejects it
    assert cmd(c, "AT+CEER") == ["+CEER: Call rejected", "OK"]            # simcom on port 1
    assert c.silent_for(0.3)                        # no more RING


def test_answer_then_the_caller_hangs_up_with_the_given_cause(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = ready(clients[0])
    c.write(b"ATA\r")
    assert c.line() == "NO CARRIER"                 # nothing to answer: V.250's final result
    assert c.cmd("AT+CEER") == ['+CEER: "CC INFO","No cause information available"', "OK"]
    board.place_call(0, CALLER, ring_seconds=5, hangup_cause=31, talk_seconds=0.2)
    c.expect("RING")
    assert cmd(c, "ATA") == ["OK"]
    assert cmd(c, "AT+CLCC")[0] == f'+CLCC: 1,1,0,0,0,"{CALLER}",145'
    assert board.place_call(0, "+447700900999") == "busy"      # one call at a time
    c.expect("NO CARRIER", timeout=2)
    assert cmd(c, "AT+CEER") == ['+CEER: "CC INFO","Normal, unspecified"', "OK"]


def test_ath_ends_an_answered_call_with_normal_clearing(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = ready(clients[1])
    board.place_call(1, CALLER, ring_seconds=5, talk_seconds=5)
    c.expect("RING")
    assert cmd(c, "ATA") == ["OK"]
    assert cmd(c, "ATH") == ["OK"]
    assert cmd(c, "AT+CEER") == ["+CEER: Normal call clearing", "OK"]
    assert cmd(c, "AT+CLCC") == ["OK"]


def test_unconditional_forwarding_is_registered_queried_and_takes_calls_before_they_ring(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = ready(clients[0])
    assert c.cmd("AT+CCFC=0,2") == ["+CCFC: 0,7", "OK"]
    assert c.cmd('AT+CCFC=0,3,"447700900777",145') == ["OK"]
    assert c.cmd("AT+CCFC=0,2") == ['+CCFC: 1,1,"+447700900777",145', "OK"]
    assert board.place_call(0, CALLER) == "forwarded"
    assert c.silent_for(0.3)                        # never rang
    assert cmd(c, "AT+CCFC=0,0") == ["OK"]           # disabled: the number stays registered
    assert cmd(c, "AT+CCFC=0,2") == ["+CCFC: 0,7", "OK"]
    assert cmd(c, "AT+CCFC=0,1") == ["OK"]           # enabled again without naming it
    assert cmd(c, "AT+CCFC=0,2")[0] == '+CCFC: 1,1,"+447700900777",145'
    assert cmd(c, "AT+CCFC=0,4") == ["OK"]           # erased
    assert cmd(c, "AT+CCFC=0,1") == ["+CME ERROR: 3"]   # nothing registered to enable
    assert board.place_call(0, CALLER, ring_seconds=0.1) == "ringing"


def test_conditional_forwarding_acts_as_the_network_would(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = ready(clients[0])
    assert c.cmd('AT+CCFC=1,3,"+447700900001",145') == ["OK"]       # busy
    assert c.cmd('AT+CCFC=3,3,"07700900003",129') == ["OK"]          # not reachable
    assert c.cmd("AT+CCFC=3,2") == ['+CCFC: 1,1,"07700900003",129', "OK"]
    assert board.place_call(0, CALLER, ring_seconds=5, talk_seconds=5) == "ringing"
    c.expect("RING")
    assert board.place_call(0, "+447700900999") == "forwarded"       # busy -> forwarded
    assert cmd(c, "ATH") == ["OK"]
    assert board.place_call(0, CALLER, slot=1) == "unreachable"      # slot 1's SIM: no forward
    board.power_off(0)
    assert board.place_call(0, CALLER) == "forwarded"                # off -> not reachable


def test_no_reply_forwarding_clears_the_ringing_leg_after_its_time(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = ready(clients[1])
    assert c.cmd('AT+CCFC=2,3,"+447700900002",145,1,,,5') == ["OK"]
    assert c.cmd("AT+CCFC=2,2") == ['+CCFC: 1,1,"+447700900002",145,,,5', "OK"]
    board.place_call(1, CALLER, ring_seconds=30)
    c.expect("RING")
    c.expect("NO CARRIER", timeout=3)               # 5 s scaled to this fast board
    assert cmd(c, "AT+CEER") == ["+CEER: Normal call clearing", "OK"]


def test_all_forwardings_erased_at_once_and_bad_ccfc_arguments(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = ready(clients[0])
    for reason in range(4):
        assert c.cmd(f'AT+CCFC={reason},3,"+4477009000{reason}",145') == ["OK"]
    assert c.cmd("AT+CCFC=4,4") == ["OK"]
    assert [c.cmd(f"AT+CCFC={r},2")[0] for r in range(4)] == ["+CCFC: 0,7"] * 4
    assert c.cmd('AT+CCFC=0,3,"12ab",129') == ["+CME ERROR: 50"]    # not a number
    assert c.cmd("AT+CCFC=0,3") == ["+CME ERROR: 50"]               # registration needs one
    assert c.cmd("AT+CCFC=4,2") == ["+CME ERROR: 50"]               # query one reason at a time
    assert c.cmd("AT+CCFC=9,2") == ["ERROR"]
    assert c.cmd("AT+CCFC=?") == ["+CCFC: (0-5)", "OK"]


def test_ccfc_needs_a_sim_and_the_network(board: SimBoard, clients: list[AtClient]) -> None:
    c = ready(clients[0])
    board.set_fault(0, "no_network")
    assert c.cmd("AT+CCFC=0,2")[-1] == "+CME ERROR: 30"       # after the +CREG: 2 URC
    board.set_fault(0, "no_sim")
    c.raw.clear()
    assert c.cmd("AT+CCFC=0,2")[-1] == "+CME ERROR: 10"


@pytest.mark.parametrize("kwargs", [{"caller": '12"3'}, {"caller": "abc"},
                                    {"caller": CALLER, "hangup_cause": 99},
                                    {"caller": CALLER, "ring_seconds": -1}])
def test_impossible_calls_are_refused(board: SimBoard, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        board.place_call(0, **kwargs)  # type: ignore[arg-type]
