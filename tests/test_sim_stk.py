"""The simulated SIMs' STK application, seen from the serial port (issue 16, point 6).

Port 0 of the "mixed" board is a Quectel module (+QSTK family), port 1 a SIMCom one (+STIN /
+STGI / +STGR); both walk the same application: main menu -> sub-menu -> digit input -> yes/no
-> display text -> main menu again, and the bad answers a module refuses.
"""
from __future__ import annotations

from smsd.sim import SimBoard
from test_sim_client import AtClient, board, clients  # noqa: F401  (fixtures)

QUECTEL, SIMCOM = 0, 1


def ucs2(text: str) -> str:
    data = text.encode("utf-16-be").hex().upper()
    return f'{len(data) // 2},"{data}"'


def ready(clients: list[AtClient], port: int) -> AtClient:
    c = clients[port]
    c.cmd("ATE0")
    c.cmd("AT+CMEE=1")
    return c


def test_profiles_are_as_the_board_says(board: SimBoard) -> None:
    assert (board.profile(QUECTEL), board.profile(SIMCOM)) == ("quectel", "simcom")


def test_quectel_walk_main_menu_to_display_text_and_back(clients: list[AtClient]) -> None:
    c = ready(clients, QUECTEL)
    assert c.cmd("AT+QSTK?") == ["+QSTK: 1,1", "OK"]
    assert c.cmd("AT+QSTKGI=37") == [
        '+QSTKGI: 37,0,3,"SIM Services"', '+QSTKGI: 37,1,"Balance",0',
        '+QSTKGI: 37,2,"Top up",0', '+QSTKGI: 37,3,"Settings",0', "OK"]
    assert c.cmd("AT+QSTKRSP=253,0,2") == ["OK"]
    assert c.line() == "+QSTKURC: 36"
    assert c.cmd("AT+QSTKGI=36") == ['+QSTKGI: 36,0,2,"Top up"', '+QSTKGI: 36,1,"Voucher",0',
                                     '+QSTKGI: 36,2,"Help",0', "OK"]
    assert c.cmd("AT+QSTKRSP=36,0,1") == ["OK"]
    assert c.line() == "+QSTKURC: 35"
    assert c.cmd("AT+QSTKGI=35") == ['+QSTKGI: 35,0,"Enter the voucher code",4,16', "OK"]
    assert c.cmd('AT+QSTKRSP=35,0,"123"') == ["+CME ERROR: 50"]        # under the minimum
    assert c.cmd('AT+QSTKRSP=35,0,"12345678"') == ["OK"]
    assert c.line() == "+QSTKURC: 34"
    assert c.cmd("AT+QSTKGI=34") == ['+QSTKGI: 34,4,"Top up with voucher 12345678?"', "OK"]
    assert c.cmd('AT+QSTKRSP=34,0,"Y"') == ["OK"]
    assert c.line() == "+QSTKURC: 33"
    assert c.cmd("AT+QSTKGI=33") == ['+QSTKGI: 33,128,"Voucher 12345678 accepted."', "OK"]
    assert c.cmd("AT+QSTKRSP=33,0") == ["OK"]
    assert c.line() == "+QSTKURC: 253"                                 # main menu back
    assert c.cmd("AT+QSTKGI=33") == ["+CME ERROR: 3"]                  # nothing pending


def test_quectel_backward_and_end_session(clients: list[AtClient]) -> None:
    c = ready(clients, QUECTEL)
    c.cmd("AT+QSTKRSP=253,0,3")
    assert c.line() == "+QSTKURC: 36"
    c.cmd("AT+QSTKRSP=36,0,1")
    assert c.line() == "+QSTKURC: 35"
    assert c.cmd("AT+QSTKGI=35") == ['+QSTKGI: 35,4,"New PIN",4,8', "OK"]   # no echo
    assert c.cmd("AT+QSTKRSP=35,17") == ["OK"]                            # backward move
    assert c.line() == "+QSTKURC: 36"
    assert c.cmd("AT+QSTKRSP=36,16") == ["OK"]                            # terminated by user
    assert c.line() == "+QSTKURC: 253"
    assert c.cmd("AT+QSTKRSP=253,0,9") == ["+CME ERROR: 50"]             # no item 9


def test_simcom_walk_with_ucs2_texts(clients: list[AtClient]) -> None:
    c = ready(clients, SIMCOM)
    assert c.cmd("AT+STIN?") == ["+STIN: 25", "OK"]
    assert c.cmd("AT+STGI=25") == [
        f"+STGI: 25,0,0,{ucs2('神州行天地')},3", f"+STGI: 25,1,{ucs2('Balance')}",
        f"+STGI: 25,2,{ucs2('Top up')}", f"+STGI: 25,3,{ucs2('Settings')}", "OK"]
    assert c.cmd("AT+STGR=25,2") == ["OK"]
    assert c.line() == "+STIN: 24"
    assert c.cmd("AT+STIN?") == ["+STIN: 24", "OK"]
    assert c.cmd("AT+STGI=24") == [f"+STGI: 24,0,0,0,{ucs2('Top up')},2",
                                   f"+STGI: 24,1,{ucs2('Voucher')}",
                                   f"+STGI: 24,2,{ucs2('Help')}", "OK"]
    assert c.cmd("AT+STGR=24,1") == ["OK"]
    assert c.line() == "+STIN: 23"
    assert c.cmd("AT+STGI=23") == [f"+STGI: 23,2,16,4,0,1,{ucs2('Enter the voucher code')}",
                                   "OK"]
    assert c.cmd('AT+STGR=23,"12a45"') == ["+CME ERROR: 50"]            # not digits
    assert c.cmd('AT+STGR=23,"55554444"') == ["OK"]
    assert c.line() == "+STIN: 22"
    assert c.cmd("AT+STGI=22") == [f"+STGI: 22,1,0,{ucs2('Top up with voucher 55554444?')}",
                                   "OK"]
    assert c.cmd('AT+STGR=22,"N"') == ["OK"]
    assert c.line() == "+STIN: 21"
    assert c.cmd("AT+STGI=21") == [f"+STGI: 21,0,0,{ucs2('Top-up cancelled.')}", "OK"]
    assert c.cmd("AT+STGR=21") == ["OK"]
    assert c.line() == "+STIN: 25"


def test_simcom_backward_end_and_wrong_command(clients: list[AtClient]) -> None:
    c = ready(clients, SIMCOM)
    c.cmd("AT+STGR=25,3")
    assert c.line() == "+STIN: 24"
    assert c.cmd("AT+STGR=22,\"Y\"") == ["+CME ERROR: 3"]               # no GET INKEY pending
    c.cmd("AT+STGR=24,5")
    assert c.line() == "+STIN: 22"
    assert c.cmd("AT+STGI=22") == [f"+STGI: 22,0,0,{ucs2('Your initial')}", "OK"]
    assert c.cmd("AT+STGR=84") == ["OK"]
    assert c.line() == "+STIN: 24"
    assert c.cmd("AT+STGR=83") == ["OK"]
    assert c.line() == "+STIN: 25"


def test_no_sim_answers_cme_10(board: SimBoard, clients: list[AtClient]) -> None:
    board.set_fault(SIMCOM, "no_sim")
    c = ready(clients, SIMCOM)
    assert c.cmd("AT+STGI=25") == ["+CME ERROR: 10"]
    assert c.cmd("AT+QSTKGI=37") == ["ERROR"]          # the other family's command: unknown
