"""The pure parts of smsd.modem: ladder, CMS classification, USSD text, profiles, sequences."""
from __future__ import annotations

import pytest

from smsd.at.responses import Cusd
from smsd.model import REG_NO_SIM, REG_OK, REG_PIN_REQUIRE, PortInfo
from smsd.modem import errors_table, inbound, recovery, sequences, ussd
from smsd.modem.quirks import choose_profile, generic, quectel, simcom
from smsd.pdu import _python as pdu


def test_ladder_order_and_first_success_stops_the_climb() -> None:
    calls: list[str] = []

    def action(name: str) -> recovery.Action:
        def run() -> bool:
            calls.append(name)
            return name == recovery.RESET
        return run

    actions = {name: action(name)
               for name in (recovery.RETRY, recovery.REINIT, recovery.RESET, recovery.REOPEN)}
    steps: list[str] = []
    outcome = recovery.climb(actions, steps.append)
    assert outcome == recovery.Outcome(True, recovery.RESET, ("retry", "reinit", "reset"))
    assert steps == calls == ["retry", "reinit", "reset"]


def test_ladder_skips_missing_gpio_rungs_and_ends_in_quarantine() -> None:
    steps: list[str] = []
    actions = {recovery.RETRY: lambda: False, recovery.POWER_ENABLE: lambda: False}
    outcome = recovery.climb(actions, steps.append)
    assert not outcome.recovered and steps == ["retry", "power_enable", "quarantine"]


@pytest.mark.parametrize("code, permanent", [
    (1, True), (21, True), (0xC3, True), (304, True), (38, False), (42, False), (0xC0, False),
    (310, False), (331, False), (500, False), (513, False), (None, False)])
def test_cms_classification(code: int | None, permanent: bool) -> None:
    assert errors_table.is_permanent(code) is permanent


def test_cms_description() -> None:
    assert errors_table.describe(331) == "+CMS ERROR: 331 (no network service)"
    assert errors_table.describe(None) == "ERROR"


@pytest.mark.parametrize("dcs, kind", [(15, "gsm7"), (0, "gsm7"), (None, "gsm7"), (72, "ucs2"),
                                       (0x11, "ucs2"), (0x44, "8bit"), (0xF4, "8bit")])
def test_ussd_alphabet(dcs: int | None, kind: str) -> None:
    assert ussd.alphabet(dcs) == kind


def test_ussd_text_mode_request_and_replies() -> None:
    assert ussd.request_command(quectel.PROFILE, "*100#") == 'AT+CUSD=1,"*100#",15'
    assert ussd.decode_reply(simcom.PROFILE, Cusd(0, "Balance 5.00", 15)) == "Balance 5.00"
    ucs2 = "Баланс".encode("utf-16-be").hex().upper()
    assert ussd.decode_reply(simcom.PROFILE, Cusd(0, ucs2, 72)) == "Баланс"


def test_ussd_packed_mode_round_trip() -> None:
    packed = generic.Profile(name="packed", ussd_mode="packed")
    command = ussd.request_command(packed, "*100#")
    hex_text = command.split('"')[1]
    assert hex_text == pdu.ussd_encode("*100#").hex().upper()
    assert ussd.decode_reply(packed, Cusd(0, hex_text, 15)) == "*100#"


@pytest.mark.parametrize("ati, name", [
    (("Quectel", "EC25", "Revision: EC25EFAR06A06M4G"), "quectel"),
    (("Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600E-H"), "simcom"),
    (("SIM800 R14.18",), "generic")])
def test_profile_chosen_from_ati(ati: tuple[str, ...], name: str) -> None:
    assert choose_profile(ati).name == name


def test_profiles_match_the_documented_table() -> None:
    q, s = quectel.PROFILE, simcom.PROFILE
    assert (q.iccid_command, q.slot_set.format(slot=2), q.power_off, q.network_query) == (
        "AT+QCCID", "AT+QDSIM=2", "AT+QPOWD=1", "AT+QNWINFO")
    assert (s.iccid_command, s.iccid_prefix, s.slot_set.format(slot=1), s.power_off,
            s.network_query) == ("AT+CICCID", "+ICCID", "AT+SMSIMSLOT=1", "AT+CPOF", "AT+CPSI?")
    assert q.ready_marker == "+QIND: SMS DONE" and s.ready_marker == "PB DONE"


def test_sequence_steps_resolve_per_profile() -> None:
    texts = [sequences.resolve(step.command, simcom.PROFILE) for step in sequences.INIT]
    assert "AT+CICCID" in texts and "AT+CPSI?" in texts and "AT+SMSIMSLOT?" in texts
    generic_texts = [sequences.resolve(step.command, generic.PROFILE) for step in sequences.INIT]
    assert "" in generic_texts       # no network-type query and no slot query: skipped


def test_sim_state_beats_registration() -> None:
    info = PortInfo(port=0)
    locked = sequences.set_sim_state(info, ("+CPIN: SIM PIN",), generic.PROFILE)
    assert locked.reg == REG_PIN_REQUIRE
    assert sequences.set_registration(locked, ("+CREG: 0,1",), generic.PROFILE).reg == \
        REG_PIN_REQUIRE
    ready = sequences.set_sim_state(locked, ("+CPIN: READY",), generic.PROFILE)
    assert sequences.set_registration(ready, ("+CREG: 0,1",), generic.PROFILE).reg == REG_OK
    assert sequences.sim_error(info, 10).reg == REG_NO_SIM


def test_slot_only_tracked_on_multi_slot_ports() -> None:
    single = PortInfo(port=0)
    assert sequences.set_slot(single, ("+QDSIM: 1",), quectel.PROFILE).slot == 255
    multi = PortInfo(port=0, slots=4, slot=0)
    assert sequences.set_slot(multi, ("+QDSIM: 3",), quectel.PROFILE).slot == 3


def test_pdu_kind_from_mti() -> None:
    import datetime as dt
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    deliver = pdu.encode_deliver("+447700900555", "hi", scts=when)[0]
    report = pdu.encode_status_report("+447700900555", 1, 0, scts=when, discharge=when)
    submit = pdu.encode_submit("+447700900555", "hi")[0].hex
    assert [inbound.pdu_kind(p) for p in (deliver, report, submit, "zz")] == [
        "deliver", "status_report", None, None]
