"""Per-SIM settings and budgets (smsd/budgets.py), rotation and exceptions (smsd/rotation.py),
the device/exception_info push bodies, and the simulator's IMEI / own-number / refusal side.

Real store (temp SQLite), real simulated modems over ptys; the only stand-in is the recorder of
the jobs the rotation hands to a worker.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from smsd.budgets import ALL_SLOTS, SINGLE, SimLimits, parse_slot_values
from smsd.model import REG_NO_SIM, REG_OK, STATE_QUARANTINED, STATE_READY, STATE_RECOVERING
from smsd.model import ModemJob, PortInfo, SendResult
from smsd.modem.jobs import SwitchSlot
from smsd.portcfg import BadSetting
from smsd.push import json_format
from smsd.rotation import SimWatch
from smsd.sim import SimBoard
from smsd.store.db import Store
from test_sim_client import AtClient

NOON = time.mktime((2026, 6, 15, 12, 0, 0, 0, 0, -1))      # local noon, mid-month
DAY = 86400.0


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limits(store: Store, clock: Clock, port_values: dict[str, str] | None = None) -> SimLimits:
    values = port_values or {}
    return SimLimits(store.sim_slots, lambda port, key: values.get(key, ""), clock=clock)


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in store.events.events_after(0, 1000) if e.kind == kind]


# --- settings ------------------------------------------------------------------------------------
def test_a_slot_overrides_its_port_and_the_port_value_applies_to_the_rest(store: Store) -> None:
    lim = limits(store, Clock(), {"smsc": "+447000000001"})
    lim.put(0, ALL_SLOTS, parse_slot_values({"sim_parts_per_day": "100"}))
    lim.put(0, 1, parse_slot_values({"sim_parts_per_day": "5", "smsc": "+447000000002"}))
    assert lim.value(0, 0, "sim_parts_per_day") == "100"
    assert lim.value(0, 1, "sim_parts_per_day") == "5"
    assert lim.value(1, 0, "sim_parts_per_day") == "0"              # another port: the default
    assert lim.value(0, 0, "smsc") == "+447000000001"                # the port setting
    assert lim.worker_settings(0, 1, {"smsc": "+447000000001", "receive": "on"}) == {
        "smsc": "+447000000002", "receive": "on"}
    lim.put(0, 1, parse_slot_values({"sim_parts_per_day": ""}))     # empty: the port's again
    assert lim.value(0, 1, "sim_parts_per_day") == "100"
    again = limits(store, Clock(), {"smsc": "+447000000001"})         # stored: a restart keeps it
    assert again.own(0, 1) == {"smsc": "+447000000002"}


@pytest.mark.parametrize("values", [{"max_parts_per_minute": "3"}, {"sim_parts_per_day": "-1"},
                                    {"sim_parts_per_day": "1e3"}, {"credit": "nan"},
                                    {"credit": "-5"}, {"credit": "ten"},
                                    {"call_minutes_per_hour": "61"}, {"sim_pin": "12"}])
def test_bad_slot_values_are_refused_naming_the_key(values: dict[str, str]) -> None:
    with pytest.raises(BadSetting) as caught:
        parse_slot_values(values)
    assert caught.value.key == next(iter(values))


# --- budgets -------------------------------------------------------------------------------------
def test_day_and_month_limits_count_per_sim_and_survive_a_restart(store: Store) -> None:
    clock = Clock()
    lim = limits(store, clock)
    lim.put(0, 0, parse_slot_values({"sim_parts_per_day": "2", "sim_parts_per_month": "3"}))
    for _ in range(2):
        assert lim.has_budget(0, 0, clock.now)
        lim.note_handed(0, 0, clock.now)
    assert lim.why_not(0, 0, clock.now) == "daily limit"
    assert lim.has_budget(0, 1, clock.now)               # the other SIM has its own count
    assert limits(store, clock).why_not(0, 0, clock.now) == "daily limit"     # restart
    clock.now += DAY
    assert lim.has_budget(0, 0, clock.now)
    lim.note_handed(0, 0, clock.now)
    assert lim.why_not(0, 0, clock.now) == "monthly limit"
    left = lim.remaining(0, 0)
    assert (left.daily, left.monthly, left.credit) == (1, 0, None)


def test_credit_counts_down_and_a_blocked_sim_has_no_budget(store: Store) -> None:
    clock = Clock()
    lim = limits(store, clock)
    lim.put(0, SINGLE, parse_slot_values({"credit": "2"}))
    lim.note_handed(0, SINGLE, clock.now)
    assert lim.remaining(0, SINGLE).credit == 1.0
    lim.note_handed(0, SINGLE, clock.now)
    assert lim.why_not(0, SINGLE, clock.now) == "credit"
    lim.put(0, SINGLE, parse_slot_values({"credit": ""}))        # no counter any more
    assert lim.has_budget(0, SINGLE, clock.now)
    lim.set_blocked(0, SINGLE, True)
    assert limits(store, clock).why_not(0, SINGLE, clock.now) == "blocked"


def test_call_budgets_come_from_the_call_records(store: Store) -> None:
    clock = Clock()
    lim = limits(store, clock)
    lim.put(0, 1, parse_slot_values({"call_minutes_per_day": "10", "call_minutes_per_hour": "5",
                                     "calls_per_day": "3"}))
    for started, answered, duration in ((NOON - 7200, NOON - 7190, 300), (NOON - 60, NOON - 50, 90),
                                        (NOON - 30, None, 0)):
        store.cdr.add(port=0, slot=1, imsi="", source_number="+447700900001",
                      destination_number="", started=started, answered=answered,
                      ended=started + duration + 10, duration=duration, direction="gsm->ip",
                      hangup="calling", gsm_code=16, policy="ignore", now=clock.now)
    left = lim.remaining(0, 1)
    assert (left.daily_call_minutes, left.hourly_call_minutes, left.daily_calls) == (3, 3, 1)
    assert lim.remaining(0, 0).daily_call_minutes is None          # no limit on that SIM


# --- rotation and exceptions ----------------------------------------------------------------------
class Jobs:
    def __init__(self) -> None:
        self.sent: list[tuple[int, ModemJob]] = []

    def __call__(self, port: int, job: ModemJob) -> None:
        self.sent.append((port, job))


def multi(slot: int = 0, **kw: Any) -> PortInfo:
    return PortInfo(**{"port": 0, "state": STATE_READY, "reg": REG_OK, "slots": 3, "slot": slot,
                       **kw})


def test_a_spent_sim_hands_over_to_the_next_slot_with_budget(store: Store) -> None:
    clock, jobs = Clock(), Jobs()
    watch = SimWatch(limits(store, clock), store.sim_slots, jobs, clock=clock)
    watch.limits.put(0, 0, parse_slot_values({"sim_parts_per_day": "1"}))
    watch.limits.set_blocked(0, 1, True)
    assert watch.usable(0, multi(0), clock.now)
    watch.limits.note_handed(0, 0, clock.now)
    assert not watch.usable(0, multi(0), clock.now)
    assert not watch.usable(0, multi(0), clock.now)           # asked once, not on every pass
    assert jobs.sent == [(0, SwitchSlot(2))]                   # slot 1 is blocked: slot 2
    assert events(store, "exception_info") == [
        {"port": 0, "type": "limit_reached", "action": "switch_slot", "slot": 0,
         "reason": "daily limit"}]
    watch.port_changed(multi(0), multi(2))
    assert watch.usable(0, multi(2), clock.now)
    assert events(store, "exception_info")[-1]["type"] == "slot_switched"


def test_with_no_slot_left_the_port_stops_and_says_so_once(store: Store) -> None:
    clock, jobs = Clock(), Jobs()
    watch = SimWatch(limits(store, clock), store.sim_slots, jobs, clock=clock)
    for slot in range(3):
        watch.limits.set_blocked(0, slot, True)
    assert not watch.usable(0, multi(1), clock.now) and not watch.usable(0, multi(1), clock.now)
    assert jobs.sent == []
    assert [e["action"] for e in events(store, "exception_info")] == ["stop_sending"]


def test_a_refused_sim_hands_over_and_its_barred_part_may_go_elsewhere(store: Store) -> None:
    clock, jobs = Clock(), Jobs()
    watch = SimWatch(limits(store, clock), store.sim_slots, jobs, clock=clock)
    watch.port_changed(multi(0), multi(0, denied=True))
    assert jobs.sent == [(0, SwitchSlot(1))] and watch.refused(0, 0) == "registration denied"
    failed = SendResult(7, ok=False, cms=8, permanent=True, error="operator determined barring")
    again = watch.part_result(0, multi(1), failed)
    assert again.permanent is False and watch.refused(0, 1).startswith("SIM barred")
    other = SendResult(8, ok=False, cms=1, permanent=True)
    assert watch.part_result(0, multi(1), other) is other          # the number's fault: as is
    assert [e["type"] for e in events(store, "exception_info")] == ["reg_denied", "sim_barred"]
    assert not watch.usable(0, multi(1), clock.now)            # barred: no part, no second push
    assert len(events(store, "exception_info")) == 2
    watch.port_changed(multi(0, denied=True), multi(0))        # registered again: forgiven
    assert watch.refused(0, 0) == ""


def test_sim_loss_and_every_recovery_step_are_exceptions(store: Store) -> None:
    clock = Clock()
    watch = SimWatch(limits(store, clock), store.sim_slots, Jobs(), clock=clock)
    single = PortInfo(port=3, state=STATE_READY, reg=REG_OK)
    steps = [PortInfo(port=3, state=STATE_RECOVERING),
             PortInfo(port=3, state=STATE_RECOVERING, recovery_step="retry"),
             PortInfo(port=3, state=STATE_RECOVERING, recovery_step="reinit"),
             PortInfo(port=3, state=STATE_QUARANTINED, recovery_step="quarantine"),
             PortInfo(port=3, state=STATE_READY, reg=REG_NO_SIM)]
    for old, new in zip([single, *steps], steps):
        watch.port_changed(old, new)
    assert [(e["type"], e["action"]) for e in events(store, "exception_info")] == [
        ("modem_hung", "recover"), ("modem_hung", "retry"), ("modem_hung", "reinit"),
        ("modem_hung", "quarantine"), ("sim_lost", "none")]


# --- push bodies ----------------------------------------------------------------------------------
def test_device_and_exception_bodies_are_one_object_each() -> None:
    device = {"port_number": 8, "IP": "10.0.0.2", "MAC": "F8-A0-3D-48-E5-19", "status": "power_on"}
    data, ctype = json_format.render("sn-1", "device", [device])
    assert json.loads(data) == {"sn": "sn-1", "device": device}
    assert ctype.startswith("application/json")
    single = {"port": 0, "type": "modem_hung", "action": "reset", "slot": 255, "reason": "x"}
    assert json_format.body("sn-1", "exception_info", [single]) == {
        "sn": "sn-1", "exception_info": {"port": 0, "type": "modem_hung", "action": "reset"}}
    multi_sim = {**single, "slot": 2}
    assert json_format.body("s", "exception_info", [multi_sim])["exception_info"]["slot"] == 2


# --- the simulator -------------------------------------------------------------------------------
def answer(client: AtClient, command: str) -> list[str]:
    """`command`'s answer without registration URCs (+CREG: <stat>, one number) around it."""
    return [line for line in client.cmd(command) if not re.fullmatch(r"\+CREG: \d", line)]


def test_the_simulated_modules_keep_a_written_imei_and_number(tmp_path: Path) -> None:
    with SimBoard(ports=2, slots=2, latency=0.01, profile="mixed", seed=5) as board:
        quectel, simcom = AtClient(board.device(0)), AtClient(board.device(1))
        try:
            for c in (quectel, simcom):
                c.init()
            assert quectel.cmd('AT+EGMR=1,7,"861673031234562"') == ["OK"]
            assert simcom.cmd("AT+SIMEI=862290041234562") == ["OK"]
            assert quectel.cmd("AT+SIMEI=862290041234562") == ["ERROR"]     # not its command
            assert simcom.cmd("AT+SIMEI=862290041234563") == ["+CME ERROR: 50"]   # check digit
            assert quectel.cmd('AT+CPBS="ON"') == ["OK"]
            assert quectel.cmd('AT+CPBW=1,"447700900777",145') == ["OK"]
            assert quectel.cmd("AT+CNUM") == ['+CNUM: "","+447700900777",145', "OK"]
            board.power_on(0)                                     # a reboot keeps both
            quectel.read_until(b"SMS DONE\r\n", timeout=10)
            quectel.init()
            # The rebooted module registers again while we ask: its +CREG URC may come first.
            assert answer(quectel, "AT+CGSN") == ["861673031234562", "OK"]
            assert answer(quectel, "AT+CNUM") == ['+CNUM: "","+447700900777",145', "OK"]
            assert board.sim_number(0, 0) == "+447700900777"
            assert board.sim_number(0, 1) != "+447700900777"       # the other SIM keeps its own
            assert simcom.cmd("AT+CGSN") == ["862290041234562", "OK"]
            board.set_denied(1, True)
            assert simcom.cmd("AT+CREG?") == ["+CREG: 3", "+CREG: 1,3", "OK"]    # URC, answer
            board.set_denied(1, False)
        finally:
            quectel.close()
            simcom.close()


def test_a_lost_sim_is_left_and_a_board_without_sims_does_not_switch_back_and_forth(
        store: Store) -> None:
    clock, jobs = Clock(), Jobs()
    watch = SimWatch(limits(store, clock), store.sim_slots, jobs, clock=clock)
    lost = {"reg": REG_NO_SIM}
    watch.port_changed(multi(0), multi(0, **lost))
    watch.port_changed(multi(0, **lost), multi(1))
    watch.port_changed(multi(1), multi(1, **lost))
    watch.port_changed(multi(1, **lost), multi(2))
    watch.port_changed(multi(2), multi(2, **lost))
    assert jobs.sent == [(0, SwitchSlot(1)), (0, SwitchSlot(2))]
    assert [e["action"] for e in events(store, "exception_info") if e["type"] == "sim_lost"] == [
        "switch_slot", "switch_slot", "stop_sending"]
    watch.port_changed(multi(2, **lost), multi(2))             # its SIM is back and registered
    assert watch.usable(0, multi(2), clock.now)



# --- the JSON API's SIM actions: the permission comes first ----------------------------------------
def test_sim_actions_need_port_control_before_anything_else(tmp_path: Path) -> None:
    from urllib.parse import quote

    from front import PW, Front, basic

    front = Front(str(tmp_path / "front.db")).start()
    try:
        front.svc.users.add("plain", PW, perms=("api:json",))
        front.svc.users.add("boss", PW, perms=(), admin=True)

        def call(user: str, **query: str) -> dict[str, Any]:
            target = "/api/set_port_info?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
            reply = front.get(target, basic(user, PW))
            assert reply.status == 200
            answer: dict[str, Any] = json.loads(reply.body)
            return answer

        for action, param in (("imei", ""), ("imei", "861673031234562"), ("number", ""),
                              ("number", "+447700900555"), ("block", ""), ("unblock", "")):
            refused = call("plain", port="0", action=action, param=param)
            assert refused["error_code"] == 403 and "ports" in refused["reason"]
        assert not front.svc.sims.views([0])[0].blocked
        assert front.svc.sims.limits.number(0, front.svc.sims.views([0])[0].slot) == ""
        assert call("boss", port="0", action="block")["error_code"] == 200
        assert front.svc.sims.views([0])[0].blocked
        assert call("boss", port="0", action="imei", param="12345")["error_code"] == 400
        assert call("boss", port="9", action="block")["error_code"] == 400
    finally:
        front.close()


# --- the worker: a slot switch applies the new SIM's own settings -------------------------------
def test_after_a_slot_switch_the_worker_uses_the_new_sims_own_smsc() -> None:
    from smsd.modem.timing import Timing
    from smsd.modem.worker import ModemWorker
    from test_modem_fakes import RecordingSink

    fast = Timing(command=1.0, cmgs=2.0, ussd=2.0, boot=3.0, sim_ready=3.0, refresh=30.0,
                  probe=0.2, probe_tries=2, quarantine_retry=60.0)
    own_smsc = {0: "", 1: "+447000000099"}           # what the daemon's _sim_settings gives
    with SimBoard(ports=1, slots=2, latency=0.02, profile="quectel", seed=2) as board:
        sink = RecordingSink()
        worker = ModemWorker(0, board.device(0), sink, slots=2, timing=fast,
                             settings=lambda: {"smsc": own_smsc[max(0, worker.info.slot)]})
        worker.start()
        try:
            assert sink.wait(lambda: worker.info.state == STATE_READY and bool(worker.info.smsc))
            assert worker.info.smsc == board.network.smsc
            worker.submit(SwitchSlot(1))
            assert sink.wait(lambda: worker.info.slot == 1 and worker.info.reg == REG_OK)
            assert sink.wait(lambda: worker.info.smsc == "+447000000099")
        finally:
            worker.stop()
