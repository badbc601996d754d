"""USSD, SIM slots, resets, power and faults of the simulated board."""
from __future__ import annotations

from smsd.sim import SimBoard
from test_sim_client import LATENCY, AtClient, board, clients  # noqa: F401  (fixtures)


def test_ussd_menu(board: SimBoard, clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    assert c.cmd('AT+CUSD=1,"*100#",15') == ["OK"]
    assert c.expect("+CUSD: ").startswith('+CUSD: 0,"Your balance is ')
    assert c.cmd('AT+CUSD=1,"*101#",15') == ["OK"]
    assert c.expect("+CUSD: ") == f'+CUSD: 0,"Your number is {board.sim_number(0, 0)}.",15'
    assert c.cmd('AT+CUSD=1,"*999#",15') == ["OK"]
    assert c.expect("+CUSD: ") == '+CUSD: 2,"Unknown application",15'


def test_slot_switch_changes_sim_and_reregisters(board: SimBoard,
                                                 clients: list[AtClient]) -> None:
    for port, (c, command) in enumerate(zip(clients, ("AT+QDSIM", "AT+SMSIMSLOT"))):
        c.init()
        assert c.cmd(f"{command}=1") == ["OK"]
        assert c.expect("+CREG: ") == "+CREG: 2"
        assert c.expect("+CREG: ") == "+CREG: 1"
        assert c.cmd(f"{command}?")[0].endswith(": 1")
        assert c.cmd("AT+CIMI") == [board.sim_identity(port, 1).imsi, "OK"]
        assert c.cmd("AT+CNUM")[0] == f'+CNUM: "","{board.sim_number(port, 1)}",145'
        assert c.cmd(f"{command}=2") == ["ERROR"]                    # a 2-slot board


def test_inject_to_the_inactive_slot_waits_for_that_sim(board: SimBoard,
                                                         clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    board.inject_sms(0, "+447700900123", "for slot one", slot=1)
    assert c.silent_for(0.1)
    c.cmd("AT+QDSIM=1")
    urc = c.expect("+CMTI: ")
    lines = c.cmd("AT+CMGR=" + urc.rsplit(",", 1)[1])
    assert lines[-1] == "OK" and len(lines) == 3


def test_reset_goes_silent_then_boots_with_the_profile_urcs(clients: list[AtClient]) -> None:
    quectel, simcom = clients
    expected = {0: ["RDY", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"],
                1: ["RDY", "+CPIN: READY", "SMS DONE", "PB DONE"]}
    for port, c in enumerate((quectel, simcom)):
        c.init()
        assert c.cmd("AT+CFUN=1,1") == ["OK"]
        c.write(b"AT\r")                                             # swallowed while booting
        assert [c.line() for _ in range(4)] == expected[port]
        assert c.cmd("AT") == ["AT", "OK"]                           # echo is back on


def test_hang_fault_answers_nothing_until_cleared(board: SimBoard,
                                                  clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    board.set_fault(0, "hang")
    c.write(b"AT\r")
    assert c.silent_for(5 * LATENCY)
    board.set_fault(0, "none")
    assert c.cmd("AT") == ["OK"]
    board.set_fault(0, "hang")
    board.power_on(0)                                                # the GPIO power cycle
    assert c.expect("RDY") == "RDY"
    assert c.expect("+QIND: SMS DONE")
    assert c.cmd("AT") == ["AT", "OK"]


def test_power_lines_and_power_off_command(board: SimBoard, clients: list[AtClient]) -> None:
    quectel, simcom = clients
    quectel.init()
    assert quectel.cmd("AT+QPOWD=1") == ["OK"]
    assert quectel.line() == "POWERED DOWN"
    assert not board.is_powered(0)
    quectel.write(b"AT\r")
    assert quectel.silent_for(5 * LATENCY)
    board.power_on(0)
    assert board.is_powered(0)
    assert quectel.expect("+QIND: SMS DONE")
    simcom.init()
    assert simcom.cmd("AT+CPOF") == ["OK"]
    assert not board.is_powered(1)
    board.power_off(0)
    assert not board.is_powered(0)


def test_no_sim_fault(board: SimBoard, clients: list[AtClient]) -> None:
    c = clients[1]
    c.init()
    board.set_fault(1, "no_sim")
    assert c.expect("+CREG: ") == "+CREG: 0"
    assert c.cmd("AT+CPIN?") == ["+CME ERROR: 10"]
    assert c.cmd("AT+CIMI") == ["+CME ERROR: 10"]
    assert c.cmd("AT+CREG?") == ["+CREG: 1,0", "OK"]
    board.set_fault(1, "none")
    assert c.expect("+CREG: 1") == "+CREG: 1"


def test_cfun_radio_off_and_on(clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    assert c.cmd("AT+CFUN=0") == ["OK"]
    assert c.line() == "+CREG: 0"
    assert c.cmd("AT+CFUN?") == ["+CFUN: 0", "OK"]
    assert c.cmd("AT+CFUN=1") == ["OK"]
    assert [c.line(), c.line()] == ["+CREG: 2", "+CREG: 1"]
