"""The scheduler's cheap paths (issue 20): resolved settings kept per port and per SIM, and an
intake that finds every port full costing no dispatch pass. What is checked is that each shortcut
never changes an outcome: a settings change applies to the very next question, and a message
accepted while every port was full goes out as soon as a port frees.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import pytest

from fakes import ready_info, wait_for
from smsd.budgets import ALL_SLOTS, SimLimits, _day, parse_slot_values
from smsd.model import STATE_INIT, Recipient, SendRequest, SendResult
from smsd.pdu import decode
from smsd.portcfg import PortConfig
from smsd.scheduler import Scheduler, port_profiles
from smsd.service import Service
from smsd.store import Store
from test_ozeki_ports import Recorder, Rig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path / "db.sqlite")
    yield r
    r.store.close()


# --- per-port settings: asked once, dropped by every change -------------------------------------
def test_a_port_setting_change_applies_to_the_next_question(rig: Rig) -> None:
    cfg, now = rig.sched.port_config, rig.clock.now
    assert cfg.may_send(0, now) and cfg.sending_enabled(0)          # resolved (and kept) now
    assert cfg.next_free(0, now) is None
    rig.svc.ports.set_settings(0, send="off")
    assert not cfg.sending_enabled(0) and not cfg.may_send(0, now)
    rig.svc.ports.set_settings(0, send="on", max_parts_per_minute=1)
    assert cfg.may_send(0, now)
    cfg.note_handed(0, now)
    assert not cfg.may_send(0, now) and cfg.next_free(0, now) == now + 60
    assert cfg.limited_ports() == {0}
    rig.svc.ports.set_settings(0, max_parts_per_minute=0)
    assert cfg.may_send(0, now) and cfg.next_free(0, now) is None
    assert cfg.limited_ports() == set()
    rig.svc.ports.connection_run("GSMModem0", False)                 # running off
    assert not cfg.sending_enabled(0)
    rig.svc.ports.connection_run("GSMModem0", True)
    assert cfg.sending_enabled(0)


def test_a_rate_limit_set_after_a_pass_times_the_next_one(rig: Rig) -> None:
    rig.svc.ports.set_settings(1, send="off")
    rig.send(1, ports=(1,))                           # waits: every pass looks for rate limits
    rig.send(1, ports=(0,))
    assert rig.handed()[0] == 1                       # a pass with no limit anywhere
    rig.svc.ports.set_settings(0, max_parts_per_minute=1)
    rig.send(3, ports=(0,))
    assert rig.handed()[0] == 2
    rig.clock.now += 45
    assert 14 < rig.sched.dispatch_once() <= 15.01    # woken when the minute frees a place
    rig.clock.now += 15.5
    assert rig.handed()[0] == 3


def test_a_lease_never_started_expires_on_time_and_a_started_one_stays(rig: Rig) -> None:
    rig.send(1, ports=(0,))
    assert rig.handed()[0] == 1
    rig.clock.now += 100
    rig.send(1, ports=(0,))
    assert rig.handed()[0] == 2
    first, second = rig.workers[0].parts()
    assert rig.sched.part_starting(0, first.part_id)          # the oldest lease is on the air
    rig.clock.now += 195
    assert 4.9 < rig.sched.dispatch_once() <= 5.01            # the oldest lease's time, at most
    rig.clock.now += 6
    assert rig.sched.dispatch_once() == 30.0                 # recounted: no spin on a stale time
    assert rig.handed()[0] == 2
    rig.clock.now += 100                                      # the second lease is stale now
    assert rig.handed()[0] == 3
    assert rig.workers[0].parts()[2].part_id == second.part_id   # back and handed again
    assert rig.sched.held(0) == 2


def test_a_port_that_goes_down_gets_nothing_and_one_that_comes_up_gets_work(rig: Rig) -> None:
    def port_1(**state: object) -> None:
        old = rig.sched.update_port(ready_info(1, **state))
        rig.sched.port_state_changed(old, ready_info(1, **state))
    port_1(state=STATE_INIT)
    rig.send(4)
    assert rig.handed() == {0: 4, 1: 0}
    port_1()                                          # registered: it can send
    rig.send(4)
    assert rig.handed() == {0: 6, 1: 2}               # a part each, round by round
    port_1(state=STATE_INIT)                          # down: its 2 unstarted parts come back
    rig.send(2)
    assert rig.handed() == {0: 10, 1: 2}
    assert rig.sched.held(1) == 0


def test_pdu_shaping_settings_apply_to_the_next_message(rig: Rig) -> None:
    cfg = rig.sched.port_config
    rig.send(1, ports=(0,), text="hello")
    rig.handed()                                      # port 0's settings resolved for dispatch
    assert (cfg.encoding(0, "auto"), cfg.languages(0), cfg.status_reports(0, True)) == (
        "auto", (), True)
    rig.svc.ports.set_settings(0, charset="UCS2", status_reports="off",
                               national_languages="turkish")
    assert (cfg.encoding(0, "auto"), cfg.languages(0), cfg.status_reports(0, True)) == (
        "ucs2", (1,), False)
    rig.send(1, ports=(0,), text="hello")
    rig.handed()
    first, second = [decode(p.pdu_hex) for p in rig.workers[0].parts()]
    assert (first.encoding, first.status_report_requested) == ("gsm7", True)
    assert (second.encoding, second.status_report_requested) == ("ucs2", False)


def test_the_intake_profiles_follow_every_change(rig: Rig) -> None:
    cfg = rig.sched.port_config
    assert port_profiles(cfg, [0, 1]) == [("auto", ())]
    rig.svc.ports.set_settings(1, charset="UCS2")
    assert port_profiles(cfg, [0, 1]) == [("auto", ()), ("ucs2", ())]
    assert port_profiles(cfg, [0]) == [("auto", ())]
    rig.svc.ports.set_settings(0, national_languages="turkish")
    assert port_profiles(cfg, [0, 1]) == [("auto", (1,)), ("ucs2", ())]
    cfg.clear(1)                                      # a deleted connection: defaults again
    assert port_profiles(cfg, [0, 1]) == [("auto", ()), ("auto", (1,))]
    # what intake charges follows at once: a 100-character text is 1 part in GSM 7-bit, 2 in UCS2
    rig.svc.ports.set_settings(0, charset="UCS2", national_languages="none")
    accepted = rig.svc.sending.send_sms(_request("x" * 100, ports=(0,)))
    [state] = [rig.store.outbox.message_state(m) for m in accepted.message_ids]
    assert state is not None and state.count == 2


def test_the_worker_reads_a_changed_setting_at_once(rig: Rig) -> None:
    cfg = rig.sched.port_config
    first = cfg.worker_settings(0)
    assert first["submit_timeout"] == "60"
    first["submit_timeout"] = "5"                     # a caller's copy, not the kept one
    assert cfg.worker_settings(0)["submit_timeout"] == "60"
    rig.svc.ports.set_settings(0, submit_timeout=90, receive="off")
    assert (cfg.worker_settings(0)["submit_timeout"], cfg.worker_settings(0)["receive"]) == (
        "90", "off")
    assert cfg.worker_settings(1)["submit_timeout"] == "60"
    rig.svc.ports.connection_run("GSMModem0", False)
    assert cfg.worker_settings(0)["running"] == "off"


def test_each_message_is_built_with_its_own_tasks_payload(rig: Rig) -> None:
    for flash in (True, False, True):                 # tasks alternate: flash, plain, flash
        rig.svc.sending.send_sms(SendRequest("hi", (Recipient("+447700900001"),
                                                    Recipient("+447700900002")),
                                             ports=(0,), flash=flash))
    rig.handed()
    classes = [decode(p.pdu_hex).message_class for p in rig.workers[0].parts()]
    assert classes == [0, 0, None, None, 0, 0]


def test_the_kept_profiles_of_port_lists_are_bounded(rig: Rig) -> None:
    cfg = rig.sched.port_config
    for n in range(200):                              # clients choose the port lists
        port_profiles(cfg, [0, 1] * (n + 1))
    assert len(cfg._profiles) <= 64


# --- per-SIM budgets: resolved once, dropped by every put ---------------------------------------
def test_a_sim_limit_change_applies_to_the_next_question(store: Store) -> None:
    now = time.time()
    lim = SimLimits(store.sim_slots, lambda port, key: "", clock=lambda: now)
    lim.note_handed(0, 1, now)
    assert lim.why_not(0, 1, now) == ""                               # no limit: resolved, kept
    lim.put(0, ALL_SLOTS, parse_slot_values({"sim_parts_per_day": "1"}))   # the port's, for all
    assert lim.why_not(0, 1, now) == "daily limit"
    lim.put(0, 1, parse_slot_values({"sim_parts_per_day": "5"}))     # the slot's own wins
    assert lim.why_not(0, 1, now) == ""
    lim.put(0, 1, parse_slot_values({"sim_parts_per_month": "1"}))
    assert lim.why_not(0, 1, now) == "monthly limit"
    lim.put(0, 1, parse_slot_values({"sim_parts_per_month": ""}))    # empty: the port's again
    assert lim.why_not(0, 1, now) == ""
    lim.put(0, 1, parse_slot_values({"sim_parts_per_day": ""}))
    assert lim.why_not(0, 1, now) == "daily limit"
    lim.set_blocked(0, 2, True)
    assert lim.why_not(0, 2, now) == "blocked"


def test_the_local_date_of_a_part_changes_at_local_midnight() -> None:
    midnight = time.mktime((2026, 12, 7, 0, 0, 0, 0, 0, -1))
    assert _day(midnight - 0.5) == "2026-12-06"
    assert _day(midnight) == "2026-12-07"
    assert _day(midnight + 59.5) == "2026-12-07"
    assert _day(midnight - 0.5) == "2026-12-06"       # a clock set back is answered anew


# --- intake while every port is full ------------------------------------------------------------
def _request(text: str, n: int = 1, ports: tuple[int, ...] | None = None) -> SendRequest:
    return SendRequest(text, tuple(Recipient(f"+4477008{i:05d}") for i in range(n)), ports=ports)


def _settled(sched: Scheduler) -> float:
    """The scheduler's last loop turn, once it has stopped turning (no pass pending)."""
    seen: list[float] = []

    def still() -> bool:
        seen.append(sched.heartbeat)
        time.sleep(0.1)
        return sched.heartbeat == seen[-1]
    assert wait_for(still, 5)
    return seen[-1]


@dataclass
class Running:
    """A started scheduler with two recording ports, depth 1 (one part each fills them)."""
    store: Store
    sched: Scheduler
    workers: dict[int, Recorder]
    svc: Service


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    store = Store(str(tmp_path / "db.sqlite"))
    sched = Scheduler(store, depth=1)
    workers = {p: Recorder(p) for p in (0, 1)}
    sched.attach(workers)
    sched.start()
    try:
        yield Running(store, sched, workers, Service(store, sched, workers))
    finally:
        sched.stop()
        store.close()


def test_an_intake_finding_every_port_full_runs_no_pass_and_a_result_refills(
        running: Running) -> None:
    store, sched, workers, svc = running.store, running.sched, running.workers, running.svc
    svc.sending.send_sms(_request("first", 2))           # a port had room: a pass runs
    assert wait_for(lambda: all(len(w.parts()) == 1 for w in workers.values()), 5)
    turn = _settled(sched)
    later = svc.sending.send_sms(_request("later", 3)).message_ids
    time.sleep(0.3)
    assert sched.heartbeat == turn                        # full: no pass for that intake
    assert [len(w.parts()) for w in workers.values()] == [1, 1]
    # port 0's part is sent: its result refills it at once with what waited meanwhile
    [done] = workers[0].parts()
    assert sched.part_starting(0, done.part_id)
    sched.part_result(0, SendResult(done.part_id, ok=True, mr=1))
    assert wait_for(lambda: len(workers[0].parts()) == 2, 5)
    handed = workers[0].parts()[1].part_id
    message = store.db.conn().execute("SELECT message_id FROM parts WHERE id = ?",
                                      (handed,)).fetchone()[0]
    assert message == later[0]


def test_an_intake_with_a_port_free_is_dispatched_without_any_other_kick(
        running: Running) -> None:
    sched, workers, svc = running.sched, running.workers, running.svc
    svc.sending.send_sms(_request("one", ports=(0,)))
    assert wait_for(lambda: len(workers[0].parts()) == 1, 5)
    _settled(sched)
    svc.sending.send_sms(_request("two"))                 # port 1 has room
    assert wait_for(lambda: len(workers[1].parts()) == 1, 5)


class SentCounter:
    """The settings store's side PortConfig reads (a fake: values in a dict, parts sent as a
    number the test moves, as sending would)."""

    def __init__(self) -> None:
        self.sent = 0
        self.values: dict[int, dict[str, str]] = {}

    def all(self) -> dict[int, dict[str, str]]:
        return self.values

    def put(self, port: int, values: Mapping[str, str | None]) -> None:
        pass

    def clear(self, port: int) -> None:
        pass

    def parts_sent_since(self, port: int, since: float) -> int:
        return self.sent


def test_a_day_limit_set_again_counts_what_was_sent_while_it_was_off() -> None:
    """Parts are counted in memory only while a limit is set: a limit removed and set again
    the same day counts from the store again, not from the count it had when removed."""
    repo, now = SentCounter(), 1_800_000_000.0
    cfg = PortConfig(repo, clock=lambda: now)
    cfg.put(0, {"max_parts_per_day": "100"})
    for _ in range(10):
        cfg.note_handed(0, now)
        repo.sent += 1
    assert cfg.period_counts(0, now) == {"max_parts_per_day": 10}
    cfg.put(0, {"max_parts_per_day": None})
    for _ in range(500):
        cfg.note_handed(0, now)
        repo.sent += 1
    cfg.put(0, {"max_parts_per_day": "100"})
    assert cfg.period_counts(0, now) == {"max_parts_per_day": 510}
    assert not cfg.may_send(0, now)


class ChangedMidQuestion(PortConfig):
    """Another thread's settings change landing between finding a day counter and using it."""

    interleave = False

    def _period_slot(self, port: int, key: str, now: float) -> tuple[int, str, str]:
        slot = super()._period_slot(port, key, now)
        if self.interleave:
            self.interleave = False
            self.put(port, {"name": "renamed meanwhile"})
        return slot


def test_a_settings_change_between_finding_and_using_a_day_counter_is_no_keyerror() -> None:
    repo, now = SentCounter(), 1_800_000_000.0
    cfg = ChangedMidQuestion(repo, clock=lambda: now)
    cfg.put(0, {"max_parts_per_day": "3"})
    for _ in range(2):
        cfg.note_handed(0, now)
        repo.sent += 1
    cfg.interleave = True
    cfg.note_handed(0, now)                   # its part is leased: the store counts it
    repo.sent += 1
    cfg.interleave = True
    assert cfg.period_counts(0, now) == {"max_parts_per_day": 3}
    cfg.interleave = True
    assert not cfg.may_send(0, now)


def test_an_unknown_stored_language_is_left_out_not_fatal_to_every_port() -> None:
    repo, now = SentCounter(), 1_800_000_000.0
    repo.values = {0: {"national_languages": "klingon,portuguese"}}
    cfg = PortConfig(repo, clock=lambda: now)
    assert cfg.limited_ports() == set()                   # every pass asks this: no KeyError
    assert cfg.languages(0) == (3,)                       # 3GPP TS 23.038: Portuguese is 3
