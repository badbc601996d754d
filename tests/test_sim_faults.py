"""The simulator's faults (smsd/sim/faults.py) as a host sees them: real bytes over the ptys.

What the daemon makes of each one is tests/e2e/test_faults.py; here each fault's own bytes and
timing are checked, one port each, without the daemon."""
from __future__ import annotations

import os
import time
from typing import Iterator

import pytest

from smsd.sim import SimBoard
from smsd.sim import faults
from test_sim_client import AtClient, board, clients  # noqa: F401  (fixtures)
from test_sim_sms import read_pdu, send


@pytest.fixture
def c(board: SimBoard, clients: list[AtClient]) -> Iterator[AtClient]:  # noqa: F811
    clients[0].init()
    yield clients[0]


def test_parse_names_codes_counts_and_seconds() -> None:
    assert faults.parse("cms:500", 3) == faults.FaultSpec("cms", 500, 3, 0.0)
    assert faults.parse("unplug").seconds == 2.0
    for bad, count, seconds in (("melt", None, None), ("cme:", None, None),
                                ("cme:1000", None, None), ("hang:1", None, None),
                                ("drop_ok", 0, None), ("unplug", None, -1.0),
                                ("slow", None, float("nan"))):
        with pytest.raises(ValueError):
            faults.parse(bad, count, seconds)


def test_cme_and_cms_answer_the_next_commands_then_stop(board: SimBoard, c: AtClient) -> None:
    board.set_fault(0, "cme:100", count=2)
    assert c.cmd("AT+CSQ")[-1] == "+CME ERROR: 100"
    assert c.cmd("AT+CREG?")[-1] == "+CME ERROR: 100"
    assert c.cmd("AT+CSQ")[-1] == "OK"
    assert c.cmd("AT") == ["OK"]                      # a bare AT is never refused
    board.set_fault(0, "cms:500")
    assert c.cmd("AT+CMGS=20") == ["+CMS ERROR: 500"]  # instead of the prompt
    assert send(c, "+447700900123", "sent")[-1] == "OK"


def test_drop_ok_leaves_out_the_final_result(board: SimBoard, c: AtClient) -> None:
    board.set_fault(0, "drop_ok")
    c.write(b"AT+CSQ\r")
    assert c.line().startswith("+CSQ: ")
    assert c.silent_for(0.3)
    assert c.cmd("AT+CSQ")[-1] == "OK"


def test_garbage_comes_between_replies_and_never_inside_one(board: SimBoard,
                                                            c: AtClient) -> None:
    board.set_fault(0, "garbage")
    c.write(b"AT+CSQ\r")
    c.read_until(b"OK\r\n")
    time.sleep(0.1)
    c._fill()
    junk = bytes(c.raw)
    assert junk and any(b >= 0x80 or b < 0x20 and b not in b"\r\n" for b in junk), junk
    c.raw.clear()
    board.set_fault(0, "none")
    assert c.cmd("AT+CSQ")[-1] == "OK"
    assert c.silent_for(0.2)


def test_slow_holds_every_answer(board: SimBoard, c: AtClient) -> None:
    board.set_fault(0, "slow")
    started = time.monotonic()
    assert c.cmd("AT+CSQ")[-1] == "OK"
    assert time.monotonic() - started >= faults.SLOW_FACTOR * faults.SLOW_BASE * 0.9
    board.set_fault(0, "none")
    started = time.monotonic()
    c.cmd("AT+CSQ")
    assert time.monotonic() - started < 0.3


def test_sim_busy_refuses_sim_and_sms_commands_for_a_while(board: SimBoard, c: AtClient) -> None:
    board.set_fault(0, "sim_busy", seconds=0.4)
    assert c.cmd("AT+CIMI")[-1] == "+CME ERROR: 14"
    assert c.cmd("AT+CPMS?")[-1] == "+CMS ERROR: 314"
    assert c.cmd("AT+CSQ")[-1] == "OK"              # the module itself answers
    time.sleep(0.5)
    assert c.cmd("AT+CIMI")[-1] == "OK"


def test_storage_full_fills_the_sim_and_new_sms_wait(board: SimBoard, c: AtClient) -> None:
    board.set_fault(0, "storage_full")
    assert c.cmd("AT+CPMS?")[0].startswith('+CPMS: "SM",30,30')
    board.inject_sms(0, "+447700900999", "waits in the network")
    assert c.silent_for(0.3)
    assert c.cmd("AT+CMGD=0")[-1] == "OK"            # room for one: it comes at once
    assert c.expect("+CMTI: ") == '+CMTI: "SM",0'


def test_reboot_goes_silent_then_says_rdy_with_echo_back_on(board: SimBoard,
                                                             c: AtClient) -> None:
    board.set_fault(0, "reboot")
    assert c.expect("RDY", timeout=3) == "RDY"
    time.sleep(0.2)
    c.raw.clear()
    assert c.cmd("AT")[-2:] == ["AT", "OK"]           # the echo is back


def test_mr_wrap_moves_the_reference_past_255(board: SimBoard, c: AtClient) -> None:
    board.set_fault(0, "mr_wrap")
    refs = [send(c, "+447700900123", f"n{i}")[0] for i in range(7)]
    assert refs[-2:] == ["+CMGS: 255", "+CMGS: 0"]


def test_no_report_and_late_report(board: SimBoard, c: AtClient) -> None:
    board.set_fault(0, "no_report")
    send(c, "+447700900123", "no report", report=True)
    assert c.silent_for(0.4)
    board.set_fault(0, "late_report", seconds=0.6)
    send(c, "+447700900123", "late", report=True)
    assert c.silent_for(0.3)
    assert c.expect("+CDS", timeout=2).startswith("+CDS")


def test_duplicate_and_out_of_order_inbound(board: SimBoard, c: AtClient) -> None:
    board.set_fault(0, "duplicate_mo")
    board.set_fault(0, "parts_out_of_order")
    assert board.inject_sms(0, "+447700900999", "x" * 300) == 2
    urcs = [c.expect("+CMTI: ") for _ in range(4)]
    seqs = [send_read(c, u) for u in urcs]
    assert seqs == [2, 1, 2, 1]


def send_read(c: AtClient, urc: str) -> int:
    decoded = read_pdu(c, urc)
    assert decoded.concat is not None
    return decoded.concat[2]


def test_unplug_takes_the_pty_away_and_brings_a_new_one_under_the_same_name() -> None:
    with SimBoard(ports=1, latency=0.02) as b:
        name, before = b.device(0), b.pty(0)
        assert os.path.realpath(name) == before
        c = AtClient(name)
        assert c.cmd("AT")[-1] == "OK"
        b.set_fault(0, "unplug", seconds=0.5)
        time.sleep(0.2)
        assert not os.path.exists(name) and b.pty(0) == ""
        with pytest.raises(Exception):            # the old tty is dead
            c.cmd("AT", timeout=0.3)
        c.close()
        deadline = time.monotonic() + 3
        while not os.path.exists(name):
            assert time.monotonic() < deadline, "the port never came back"
            time.sleep(0.05)
        assert b.pty(0) and os.path.realpath(name) == b.pty(0)
        again = AtClient(name)
        assert again.cmd("AT")[-1] == "OK"
        again.close()
    assert not os.path.exists(name)


def test_schedule_sets_and_clears_faults() -> None:
    with SimBoard(ports=2, latency=0.02) as b:
        planned = b.schedule_faults([{"at": 0.1, "port": 1, "fault": "slow", "for": 0.8}])
        assert planned == 1 and b.active_faults(1) == []
        time.sleep(0.4)
        assert b.active_faults(1) == ["slow"]
        deadline = time.monotonic() + 3
        while b.active_faults(1):
            assert time.monotonic() < deadline, "the scheduled fault was never cleared"
            time.sleep(0.05)
        assert b.schedule_faults({"random": {"every": 10, "until": 30, "for": 1}}) == 3
        with pytest.raises(ValueError):
            b.schedule_faults([{"at": 0, "port": 2, "fault": "hang"}])


def test_random_schedule_is_repeatable() -> None:
    one = faults.random_schedule(32, every=2, until=60, duration=3, seed=5)
    assert one == faults.random_schedule(32, every=2, until=60, duration=3, seed=5)
    assert len(one) == 30 and {p.spec.kind for p in one} <= set(faults.KINDS)


def test_reboot_asks_a_locked_sims_pin_again(board: SimBoard, c: AtClient) -> None:
    assert c.cmd('AT+CLCK="SC",1,"1234"')[-1] == "OK"
    if c.cmd("AT+CPIN?")[0] != "+CPIN: READY":
        assert c.cmd('AT+CPIN="1234"')[-1] == "OK"
    assert "+CPIN: READY" in c.cmd("AT+CPIN?")
    board.set_fault(0, "reboot")
    assert c.expect("+CPIN: SIM PIN", timeout=3) == "+CPIN: SIM PIN"
    assert "+CPIN: SIM PIN" in c.cmd("AT+CPIN?")


def test_the_standalone_board_takes_faults_too() -> None:
    """`python -m smsd.sim` (a board that outlives the daemon, for kill -9 soaks): POST /fault."""
    import json
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "smsd.sim", "--ports", "1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        hello = json.loads(proc.stdout.readline())

        def post(body: dict[str, object]) -> int:
            req = urllib.request.Request(hello["control"] + "/fault", json.dumps(body).encode())
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status
            except urllib.error.HTTPError as exc:
                return exc.code
        c = AtClient(hello["devices"][0])
        assert c.cmd("AT+CMEE=1")[-1] == "OK"
        assert post({"port": 0, "fault": "cme:100"}) == 200
        assert post({"port": 0, "fault": "melt"}) == 400
        assert post({"schedule": [{"at": 5, "port": 0, "fault": "slow"}]}) == 200
        assert c.cmd("AT+CSQ")[-1] == "+CME ERROR: 100"
        c.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_sms_sent_while_unplugged_waits_in_the_network_then_is_stored() -> None:
    with SimBoard(ports=1, latency=0.02) as b:
        b.set_fault(0, "unplug", seconds=0.4)
        time.sleep(0.1)
        b.inject_sms(0, "+447700900999", "while away")
        deadline = time.monotonic() + 3
        while not b.pty(0):
            assert time.monotonic() < deadline, "the port never came back"
            time.sleep(0.05)
        c = AtClient(b.device(0))
        c.init()
        lines = c.cmd("AT+CMGL=4")
        assert lines[0].startswith("+CMGL: 0,") and lines[-1] == "OK"
        c.close()
