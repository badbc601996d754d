"""The simulated modems' command interpreter, seen from the serial port."""
from __future__ import annotations

import time

from smsd.sim import SimBoard
from test_sim_client import AtClient, board, clients  # noqa: F401  (fixtures)


def test_echo_is_on_until_ate0_and_back_with_ate1(clients: list[AtClient]) -> None:
    c = clients[0]
    c.write(b"AT\r")
    assert c.read_until(b"OK\r\n") == b"AT\r\r\nOK\r\n"
    c.write(b"ATE0\r")
    assert c.read_until(b"OK\r\n") == b"ATE0\r\r\nOK\r\n"     # echoed: echo was still on
    c.write(b"AT\r")
    assert c.read_until(b"OK\r\n") == b"\r\nOK\r\n"
    c.write(b"ATE1\r")
    assert c.read_until(b"OK\r\n") == b"\r\nOK\r\n"
    c.write(b"AT\r")
    assert c.read_until(b"OK\r\n") == b"AT\r\r\nOK\r\n"


def test_cmee_chooses_error_verbosity(clients: list[AtClient]) -> None:
    c = clients[0]
    c.cmd("ATE0")
    assert c.cmd("AT+CPIN=1234") == ["ERROR"]                  # SIM already READY
    c.cmd("AT+CMEE=1")
    assert c.cmd("AT+CPIN=1234") == ["+CME ERROR: 3"]
    c.cmd("AT+CMEE=2")
    assert c.cmd("AT+CPIN=1234") == ["+CME ERROR: operation not allowed"]
    assert c.cmd("AT+CMEE?") == ["+CMEE: 2", "OK"]


def test_full_init_on_both_profiles(board: SimBoard, clients: list[AtClient]) -> None:
    iccid_cmd = {"quectel": ("AT+QCCID", "+QCCID: "), "simcom": ("AT+CICCID", "+ICCID: ")}
    model = {"quectel": "EC25", "simcom": "Model: SIMCOM_SIM7600E-H"}
    for port, c in enumerate(clients):
        ident = board.sim_identity(port, 0)
        profile = board.profile(port)
        c.init()
        assert model[profile] in c.cmd("ATI")
        assert c.cmd("AT+CGMI")[0] in ("Quectel", "SIMCOM INCORPORATED")
        assert c.cmd("AT+CGMM")[0] in model[profile]
        assert c.cmd("AT+CGMR")[-1] == "OK"
        assert c.cmd("AT+CGSN") == [board.imei(port), "OK"]
        assert c.cmd("AT+CPIN?") == ["+CPIN: READY", "OK"]
        assert c.cmd("AT+CIMI") == [ident.imsi, "OK"]
        command, prefix = iccid_cmd[profile]
        assert c.cmd(command) == [prefix + ident.iccid, "OK"]
        assert c.cmd("AT+CNUM") == [f'+CNUM: "","{ident.number}",145', "OK"]
        assert c.cmd('AT+CPMS="SM","SM","SM"') == ["+CPMS: 0,30,0,30,0,30", "OK"]
        assert c.cmd("AT+CSCA?")[0].startswith('+CSCA: "+')
        assert c.cmd("AT+CREG?") == ["+CREG: 1,1", "OK"]
        assert c.cmd("AT+CSQ")[0].startswith("+CSQ: ")
        assert c.cmd("AT+COPS?") == ['+COPS: 0,0,"SIMNET",7', "OK"]
        assert c.cmd("AT+CGATT?") == ["+CGATT: 1", "OK"]
        assert c.cmd("AT+CLCC") == ["OK"]
        assert c.cmd("AT+CMGL=4") == ["OK"]


def test_network_type_query_per_profile(clients: list[AtClient]) -> None:
    quectel, simcom = clients
    quectel.init()
    simcom.init()
    assert quectel.cmd("AT+QNWINFO")[0].startswith('+QNWINFO: "FDD LTE"')
    assert simcom.cmd("AT+CPSI?")[0].startswith("+CPSI: LTE,Online")
    assert quectel.cmd("AT+CPSI?") == ["ERROR"]              # vendor commands stay with their vendor
    assert simcom.cmd("AT+QCCID") == ["ERROR"]


def test_unknown_commands_are_errors(clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    assert c.cmd("AT+FOOBAR") == ["ERROR"]
    assert c.cmd("AT+CSQ=5") == ["ERROR"]
    assert c.cmd("ATX9") == ["ERROR"]


def test_bytes_one_at_a_time_and_several_commands_per_write(clients: list[AtClient]) -> None:
    c = clients[1]
    c.init()
    for byte in b"at+cgmm\r":
        c.write(bytes((byte,)))
        time.sleep(0.002)
    assert c.until_final() == ["SIMCOM_SIM7600E-H", "OK"]
    c.write(b"AT+CMEE?\rAT+CMGF?\rAT+CREG?\r")
    assert c.until_final() == ["+CMEE: 1", "OK"]
    assert c.until_final() == ["+CMGF: 0", "OK"]
    assert c.until_final() == ["+CREG: 1,1", "OK"]
    assert c.cmd("AT+CMEE=0;+CMEE?") == ["+CMEE: 0", "OK"]


def test_sim_pin_lock_survives_a_reset_and_wants_the_pin(board: SimBoard,
                                                        clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    assert c.cmd('AT+CLCK="SC",1,"0000"') == ["+CME ERROR: 16"]
    assert c.cmd('AT+CLCK="SC",1,"1234"') == ["OK"]
    assert c.cmd('AT+CLCK="SC",2') == ["+CLCK: 1", "OK"]
    assert c.cmd("AT+CFUN=1,1") == ["OK"]
    assert c.expect("RDY") == "RDY"
    assert c.line() == "+CPIN: SIM PIN"
    c.init()
    assert c.cmd("AT+CIMI") == ["+CME ERROR: 11"]
    assert c.cmd("AT+CREG?") == ["+CREG: 1,0", "OK"]
    assert c.cmd("AT+CPIN=9999") == ["+CME ERROR: 16"]
    assert c.cmd("AT+CPIN=1234") == ["OK"]
    assert c.cmd("AT+CPIN?")[-2:] == ["+CPIN: READY", "OK"]     # after the SIM's URCs
    assert c.expect("+CREG: 1") == "+CREG: 1"
    assert c.cmd("AT+CIMI") == [board.sim_identity(0, 0).imsi, "OK"]


def test_cereg_and_creg_with_cell_info(clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    assert c.cmd("AT+CEREG=2") == ["OK"]
    assert c.cmd("AT+CEREG?") == ['+CEREG: 2,1,"1A2B","01C3D4E5",7', "OK"]
    assert c.cmd("AT+CREG=0") == ["OK"]
    assert c.cmd("AT+CFUN=4") == ["OK"]
    assert c.line() == "+CEREG: 0"
    assert c.cmd("AT+CEREG?") == ["+CEREG: 2,0", "OK"]


def test_text_mode_is_accepted_but_sms_commands_want_pdu_mode(clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    assert c.cmd("AT+CMGF=1") == ["OK"]
    assert c.cmd('AT+CMGL="ALL"') == ["+CMS ERROR: 302"]
    assert c.cmd("AT+CMGS=20") == ["+CMS ERROR: 302"]
    assert c.cmd("AT+CMGF=0") == ["OK"]
    assert c.cmd("AT+CMGL=4") == ["OK"]
    assert c.cmd("AT+CMGR=0") == ["+CMS ERROR: 321"]
    assert c.cmd("AT+CMGR=30") == ["+CMS ERROR: 321"]


def test_three_wrong_pins_want_the_puk(clients: list[AtClient]) -> None:
    c = clients[1]
    c.init()
    for _ in range(3):
        assert c.cmd('AT+CLCK="SC",1,"0000"') == ["+CME ERROR: 16"]
    assert c.cmd("AT+CPIN?") == ["+CPIN: SIM PUK", "OK"]
    assert c.cmd('AT+CPIN="11111111","4321"') == ["+CME ERROR: 16"]
    assert c.cmd('AT+CPIN="12345678","4321"') == ["OK"]
    assert c.cmd('AT+CLCK="SC",1,"4321"')[-1] == "OK"
