"""SMS through the simulated board: submit, network routing, storage, status reports."""
from __future__ import annotations

import dataclasses
import json
import pathlib

import pytest

from smsd import pdu
from smsd.sim import SimBoard, SimTiming
from test_sim_client import AtClient, board, clients  # noqa: F401  (fixtures)

LONG_TEXT = ("The quick brown fox jumps over the lazy dog. " * 6).strip()


def send(c: AtClient, number: str, text: str, report: bool = False, mr: int = 0) -> list[str]:
    """AT+CMGS each part; return the final lines of every part."""
    finals = []
    for part in pdu.encode_submit(number, text, request_status_report=report, concat_ref=9):
        c.write(f"AT+CMGS={part.tpdu_len}\r".encode())
        c.read_until(b"> ")
        c.write(part.hex.encode() + b"\x1a")
        finals += c.until_final()
    return finals


def read_pdu(c: AtClient, urc: str) -> pdu.Decoded:
    index = urc.rsplit(",", 1)[1]
    lines = c.cmd(f"AT+CMGR={index}")
    assert lines[0].startswith("+CMGR: 0,,") and lines[-1] == "OK"
    return pdu.decode(lines[1])


def test_submit_between_two_simulated_sims(board: SimBoard, clients: list[AtClient]) -> None:
    a, b = clients
    a.init()
    b.init()
    finals = send(a, board.sim_number(1, 0), "Hello from port 0")
    assert finals[0].startswith("+CMGS: ") and finals[-1] == "OK"
    deliver = read_pdu(b, b.expect('+CMTI: "SM",'))
    assert deliver.kind == "deliver"
    assert deliver.text == "Hello from port 0"
    assert deliver.number == board.sim_number(0, 0)
    assert b.cmd("AT+CMGR=0")[0].startswith("+CMGR: 1,,")           # now REC READ


def test_multipart_submit_arrives_as_the_same_parts(board: SimBoard,
                                                    clients: list[AtClient]) -> None:
    a, b = clients
    a.init()
    b.init()
    finals = send(a, board.sim_number(1, 0), LONG_TEXT)
    assert pdu.count_parts(LONG_TEXT) == 2
    assert [f for f in finals if f.startswith("+CMGS")] == ["+CMGS: 0", "+CMGS: 1"]
    parts = [read_pdu(b, b.expect("+CMTI:")) for _ in range(2)]
    assert sorted(p.concat for p in parts if p.concat) == [(9, 2, 1), (9, 2, 2)]
    assert "".join(p.text for p in sorted(parts, key=lambda p: p.concat or ())) == LONG_TEXT


def test_injected_long_sms_arrives_in_concatenated_parts(board: SimBoard,
                                                        clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    parts = board.inject_sms(0, "+447700900123", LONG_TEXT)
    assert parts == 2
    assert [c.expect("+CMTI:") for _ in range(parts)] == ['+CMTI: "SM",0', '+CMTI: "SM",1']
    lines = c.cmd("AT+CMGL=4")
    pdus = [pdu.decode(line) for line in lines[1:-1:2]]
    assert [p.number for p in pdus] == ["+447700900123"] * 2
    assert [p.concat[1:] for p in pdus if p.concat] == [(2, 1), (2, 2)]
    assert "".join(p.text for p in pdus) == LONG_TEXT
    assert c.cmd("AT+CMGD=0") == ["OK"]
    assert c.cmd("AT+CMGD=0,4") == ["OK"]
    assert c.cmd("AT+CMGL=4") == ["OK"]


@pytest.mark.parametrize("number, status", [("+447700900123", 0x00), ("+447700900000", 0x41)])
def test_status_report_as_cds(board: SimBoard, clients: list[AtClient], number: str,
                              status: int) -> None:
    c = clients[0]
    c.init()
    finals = send(c, number, "report please", report=True)
    mr = int(finals[0].split(": ")[1])
    assert c.expect("+CDS: ").startswith("+CDS: ")
    report = pdu.decode(c.line())
    assert (report.kind, report.number, report.mr, report.status) == \
        ("status_report", number, mr, status)


def test_no_status_report_for_9999_or_when_none_was_requested(clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    send(c, "+447700909999", "silent", report=True)
    send(c, "+447700900123", "unasked", report=False)
    assert c.silent_for(0.2)


def test_status_report_stored_and_announced_as_cdsi(clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    assert c.cmd("AT+CNMI=2,1,0,2,0") == ["OK"]
    send(c, "+447700900123", "store the report", report=True)
    urc = c.expect('+CDSI: "SR",')
    report = read_pdu(c, urc)
    assert (report.kind, report.status) == ("status_report", 0)


def test_cnmi_mt2_routes_deliver_straight_to_the_host(board: SimBoard,
                                                      clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    c.cmd("AT+CNMI=2,2,0,1,0")
    board.inject_sms(0, "+447700900123", "direct")
    assert c.expect("+CMT: ,").startswith("+CMT: ,")
    assert pdu.decode(c.line()).text == "direct"
    assert c.cmd("AT+CMGL=4") == ["OK"]                              # not stored


def test_bad_pdus_and_cancel(clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    part = pdu.encode_submit("+447700900123", "x")[0]
    for length, body in ((part.tpdu_len + 1, part.hex), (part.tpdu_len, "00GG"),
                         (part.tpdu_len, part.hex[:-4] + "05" + part.hex[-2:])):
        c.write(f"AT+CMGS={length}\r".encode())
        c.read_until(b"> ")
        c.write(body.encode() + b"\x1a")
        assert c.until_final() == ["+CMS ERROR: 304"]
    c.write(f"AT+CMGS={part.tpdu_len}\r".encode())
    c.read_until(b"> ")
    c.write(part.hex.encode() + b"\x1b")
    assert c.until_final() == ["OK"]
    assert send(c, "ALPHA", "to a name") == ["+CMS ERROR: 1"]


def test_no_network_fails_sends_and_deregisters(board: SimBoard,
                                                clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    board.set_fault(0, "no_network")
    assert c.expect("+CREG: ") == "+CREG: 2"
    assert send(c, "+447700900123", "nope") == ["+CMS ERROR: 331"]
    assert c.cmd("AT+CSQ") == ["+CSQ: 99,99", "OK"]
    board.set_fault(0, "none")
    assert c.expect("+CREG: 1") == "+CREG: 1"
    assert send(c, "+447700900123", "yes")[-1] == "OK"


def test_full_storage_keeps_messages_in_the_network(board: SimBoard,
                                                    clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    c.cmd("AT+CNMI=2,0,0,0,0")                                      # stored, not announced
    for i in range(31):
        board.inject_sms(0, "+447700900123", f"message {i}")
    assert c.cmd("AT+CPMS?")[0] == '+CPMS: "SM",30,30,"SM",30,30,"SM",30,30'
    c.cmd("AT+CNMI=2,1,0,0,0")
    assert c.cmd("AT+CMGD=5") == ["OK"]
    assert read_pdu(c, c.expect("+CMTI: ")).text == "message 30"


def test_message_reference_counts_per_port(board: SimBoard, clients: list[AtClient]) -> None:
    a = clients[0]
    a.init()
    refs = [send(a, "+447700900123", f"n{i}")[0] for i in range(3)]
    assert refs == ["+CMGS: 0", "+CMGS: 1", "+CMGS: 2"]


def test_journal_records_every_accepted_submit(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "network.jsonl"
    with SimBoard(ports=1, latency=0.01, seed=7, journal=str(path)) as b:
        c = AtClient(b.device(0))
        c.init()
        send(c, "+447700900123", "first")
        send(c, "ALPHA", "refused by the network")
        send(c, "+447700900124", "second", report=True)
        c.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["to"], r["text"], r["mr"], r["status_report"]) for r in records] == [
        ("+447700900123", "first", 0, False), ("+447700900124", "second", 2, True)]


@pytest.mark.parametrize("early", [0.0, 1.0])
def test_urcs_wait_for_a_busy_command_and_may_come_just_before_its_result(
        early: float) -> None:
    timing = dataclasses.replace(SimTiming.scaled(0.05), urc_early=early)
    with SimBoard(ports=1, timing=timing) as b:
        c = AtClient(b.device(0))
        c.init()
        part = pdu.encode_submit("+447700900123", "busy")[0]
        c.write(f"AT+CMGS={part.tpdu_len}\r".encode())
        c.read_until(b"> ")
        b.inject_sms(0, "+447700900999", "while you were typing")
        c.write(part.hex.encode() + b"\x1a")
        lines = c.until_final()
        if early:
            assert lines == ["+CMGS: 0", '+CMTI: "SM",0', "OK"]
        else:
            assert lines == ["+CMGS: 0", "OK"]
            assert c.line() == '+CMTI: "SM",0'
        c.close()


def test_cmgl_filters_by_status_and_cmgd_delflag_deletes_read_ones(
        board: SimBoard, clients: list[AtClient]) -> None:
    c = clients[0]
    c.init()
    c.cmd("AT+CNMI=2,0,0,0,0")
    for text in ("one", "two", "three"):
        board.inject_sms(0, "+447700900123", text)
    assert len(c.cmd("AT+CMGR=1")) == 3                              # "two" is now read
    unread = c.cmd("AT+CMGL=0")
    assert [line.split(",")[0] for line in unread[:-1:2]] == ["+CMGL: 0", "+CMGL: 2"]
    assert c.cmd("AT+CMGL=1")[0].startswith("+CMGL: 0,1,,")            # CMGL=0 marked them read
    assert c.cmd("AT+CMGD=0,1") == ["OK"]
    assert c.cmd("AT+CPMS?")[0].startswith('+CPMS: "SM",0,30')
