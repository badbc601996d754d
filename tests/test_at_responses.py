"""Response parsers on replies as EC25, SIM7600 and SIM800 print them (tests/transcripts/).

Every block is replayed through the AT engine first, so the parsers see exactly the lines the
engine claims for the command.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from smsd.at import AtEngine, Command, Response
from smsd.at import responses as r

TRANSCRIPTS = Path(__file__).parent / "transcripts"
EXPECT = {"ATI": ("+GCAP",), "AT+QCCID": ("+QCCID",), "AT+CICCID": ("+ICCID",), "AT+CCID": ("+CCID",)}


def load(name: str) -> dict[str, tuple[str, ...]]:
    """command -> information lines, after a round trip through the engine."""
    blocks = (TRANSCRIPTS / name).read_text().split("\n\n")
    replies: dict[str, tuple[str, ...]] = {}
    for block in blocks:
        lines = [ln for ln in block.splitlines() if ln and not ln.startswith("#")]
        if lines:
            replies[lines[0]] = replay(lines[0], lines[1:])
    return replies


def replay(command: str, reply: list[str]) -> tuple[str, ...]:
    engine = AtEngine()
    cmd = Command(command, expect=EXPECT.get(command, ()))
    engine.send(cmd, 0)
    events = engine.receive_data(b"".join(b"\r\n" + ln.encode() + b"\r\n" for ln in reply), 0)
    assert len(events) == 1 and isinstance(events[0], Response), events
    return events[0].lines


@pytest.fixture(scope="module")
def ec25() -> dict[str, tuple[str, ...]]:
    return load("quectel_ec25.txt")


@pytest.fixture(scope="module")
def sim7600() -> dict[str, tuple[str, ...]]:
    return load("simcom_sim7600.txt")


@pytest.fixture(scope="module")
def sim800() -> dict[str, tuple[str, ...]]:
    return load("simcom_sim800.txt")


def test_ec25_identity(ec25: dict[str, tuple[str, ...]]) -> None:
    assert r.parse_ati(ec25["ATI"]) == r.Identity("Quectel", "EC25", "EC25EFAR06A06M4G")
    assert r.parse_imei(ec25["AT+CGSN"]) == "866758041234567"
    assert r.parse_imsi(ec25["AT+CIMI"]) == "234159876543210"
    assert r.parse_iccid(ec25["AT+QCCID"]) == "89441000301234567890"
    assert r.parse_cnum(ec25["AT+CNUM"]) == "+447912345678"
    assert r.parse_cpin(ec25["AT+CPIN?"]) == ""


def test_ec25_network(ec25: dict[str, tuple[str, ...]]) -> None:
    assert r.parse_csq(ec25["AT+CSQ"]) == 28
    assert r.parse_creg(ec25["AT+CREG?"]) == r.Registration(5, r.REG_OK)
    assert r.parse_creg(ec25["AT+CEREG?"], "+CEREG") == r.Registration(
        1, r.REG_OK, "1A2B", "01C3D4E5", 7)
    assert r.parse_cops(ec25["AT+COPS?"]) == r.Operator("vodafone UK", 7)
    assert r.parse_cops(ec25["AT+COPS?"]).type == "LTE"
    assert r.parse_qnwinfo(ec25["AT+QNWINFO"]) == "LTE"
    assert r.parse_cgatt(ec25["AT+CGATT?"]) == "attached"
    assert r.parse_csca(ec25["AT+CSCA?"]) == "+447785016005"


def test_ec25_storage(ec25: dict[str, tuple[str, ...]]) -> None:
    pdu = "07914477850160050405A10110F00000621132315240000548656C6C6F"
    assert r.parse_cmgr(ec25["AT+CMGR=3"], 3) == r.StoredPdu(3, 0, pdu)
    assert r.parse_cmgl(ec25["AT+CMGL=4"]) == [r.StoredPdu(0, 1, pdu), r.StoredPdu(4, 0, pdu)]
    assert r.parse_cpms(ec25["AT+CPMS?"]) == [r.Storage("SM", 2, 50)] * 3
    assert r.parse_slot(ec25["AT+QDSIM?"], "+QDSIM") == 1
    assert r.parse_cmgs(ec25["AT+CMGS=18"]) == 201


def test_sim7600(sim7600: dict[str, tuple[str, ...]]) -> None:
    assert r.parse_ati(sim7600["ATI"]) == r.Identity("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H",
                                                     "SIM7600M22_V2.0")
    assert r.parse_iccid(sim7600["AT+CICCID"]) == "89860318760230183391"
    assert r.parse_imsi(sim7600["AT+CIMI"]) == "460110123456789"
    assert r.parse_cnum(sim7600["AT+CNUM"]) == "13812345678"
    assert r.parse_csq(sim7600["AT+CSQ"]) == 21
    assert r.parse_creg(sim7600["AT+CREG?"]) == r.Registration(2, r.REG_SEARCHING)
    assert r.parse_cpsi(sim7600["AT+CPSI?"]) == "LTE"
    assert r.parse_cgatt(sim7600["AT+CGATT?"]) == "detached"
    assert r.parse_cpms(sim7600['AT+CPMS="SM","SM","SM"']) == [r.Storage("", 0, 50)] * 3
    assert r.parse_slot(sim7600["AT+SMSIMSLOT?"], "+SMSIMSLOT") == 2


def test_sim800(sim800: dict[str, tuple[str, ...]]) -> None:
    assert r.parse_ati(sim800["ATI"]).model == "SIM800"
    assert r.parse_iccid(sim800["AT+CCID"]) == "8944500102198304826"
    assert r.parse_csq(sim800["AT+CSQ"]) == 0
    assert r.parse_creg(sim800["AT+CREG?"]) == r.Registration(1, r.REG_OK, "D509", "80D4")
    assert r.parse_cops(sim800["AT+COPS?"]) == r.Operator("Vodafone UK", None)
    assert r.parse_cops(sim800["AT+COPS?"]).type == "UNKNOWN"
    assert r.parse_cnum(sim800["AT+CNUM"]) == ""
    assert r.parse_cpin(sim800["AT+CPIN?"]) == r.REG_PIN_REQUIRE
    assert r.parse_csca(sim800["AT+CSCA?"]) == "+447785016005"


@pytest.mark.parametrize("words, kind", [
    ('"GSM"', "GSM"), ('"EDGE"', "GSM"), ('"HSPA+"', "WCDMA"), ('"TDD LTE"', "LTE"),
    ('"No Service"', "UNKNOWN")])
def test_qnwinfo_words(words: str, kind: str) -> None:
    assert r.parse_qnwinfo((f"+QNWINFO: {words}",)) == kind


@pytest.mark.parametrize("code, reg", [("SIM PUK", r.REG_PUK_REQUIRE), ("NOT INSERTED", r.REG_NO_SIM),
                                       ("PH-NET PIN", r.REG_UNKNOWN)])
def test_cpin_states(code: str, reg: str) -> None:
    assert r.parse_cpin((f"+CPIN: {code}",)) == reg


def test_creg_urc_form() -> None:
    assert r.parse_creg_fields(("5", '"1A2B"', '"01C3"', "2"), is_answer=False) == \
        r.Registration(5, r.REG_OK, "1A2B", "01C3", 2)


def test_cusd_and_cmti_args() -> None:
    assert r.parse_cusd(("0", '"Balance 5.00"', "15")) == r.Cusd(0, "Balance 5.00", 15)
    assert r.parse_cusd(("4",)) == r.Cusd(4)
    assert r.parse_new_message(('"SR"', "2")) == ("SR", 2)
    assert r.parse_new_message(('"SM"',)) is None


def test_parsers_tolerate_junk() -> None:
    assert r.parse_csq(("+CSQ: x",)) == 0
    assert r.parse_creg(("+CREG: ",)) is None
    assert r.parse_cmgr(("+CMGR: 0,,0",), 1) is None
    assert r.parse_iccid(("ERRORISH",)) == ""
    assert r.parse_imsi(()) == ""
