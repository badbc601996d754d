"""Routing rules (docs/routing.md): outbound rules -> port groups in fall-back order, decided at
intake per recipient and kept by the scheduler; inbound forward-as-SMS with its loop guards.

A real store (temp SQLite), the real scheduler and service, fake modem workers (threads that
call the sink as real workers do)."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from smsd import pdu
from smsd.errors import BadRequest, NoPortAvailable, NotFound
from smsd.model import REG_OK, REG_SEARCHING, Recipient, SendRequest
from smsd.routing import (Decision, OutboundRule, PortGroup, clean_prefix, keyword_matches,
                          number_matches, parse_tiers, route, tier_of, tiers_text)
from smsd.service.forwarding import Forwarder, forward_text
from smsd.service.routes import Routing
from smsd.store import Store
from smsd.store.migrate import load
from smsd.store.routes_rules import RoutingRules

from fakes import wait_for
from test_scheduler import Rig

UTC = dt.timezone.utc


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(str(tmp_path / "routing.db"), 3)
    r.store.users.create("admin", "pw-admin-123", admin=True)     # as the daemon makes it
    yield r
    r.close()


def message_ports(rig: Rig, message_id: int) -> str | None:
    row = rig.store.db.conn().execute("SELECT ports FROM messages WHERE id = ?",
                                      (message_id,)).fetchone()
    return None if row[0] is None else str(row[0])


def reason(rig: Rig, message_id: int) -> str:
    row = rig.store.db.conn().execute("SELECT reason FROM messages WHERE id = ?",
                                      (message_id,)).fetchone()
    return str(row[0] or "")


# --- pure rules -------------------------------------------------------------------------------
def test_prefixes_match_on_digits_whatever_the_plus() -> None:
    assert clean_prefix(" 0044 79-1 ") == "+44791"
    assert number_matches("+44", "+447700900123") and number_matches("+44", "447700900123")
    assert number_matches("44", "+447700900123") and not number_matches("+44", "+337700")
    assert number_matches("07", "07700900123") and not number_matches("07", "+447700")
    assert number_matches("", "anything")
    for bad in ("+", "12a", "+44+", "1" * 25):
        with pytest.raises(ValueError):
            clean_prefix(bad)


def test_keyword_is_the_first_word_in_any_case() -> None:
    assert keyword_matches("", "whatever") and keyword_matches("stop", "STOP now")
    assert keyword_matches("alarm", "Alarm: pump 3") and keyword_matches("alarm", "ALARM!")
    assert not keyword_matches("stop", "stopped") and not keyword_matches("stop", "")


def test_route_narrows_and_never_widens() -> None:
    rules = [OutboundRule(1, 1, "+44", "", "", (PortGroup("a"), PortGroup("b"))),
             OutboundRule(2, 2, "", "shop", "", (PortGroup("c"),))]
    groups = {"a": (0, 1), "b": (2,), "c": (3,)}
    uk = route(rules, groups, "+447700", "u", "json", requested=None, allowed=None)
    assert uk.tiers == ((0, 1), (2,)) and uk.ports == (0, 1, 2) and not uk.refused
    narrowed = route(rules, groups, "+447700", "u", "json", requested=[1, 2, 3], allowed=None)
    assert narrowed.tiers == ((1,), (2,))
    mine = route(rules, groups, "+447700", "u", "json", requested=None, allowed=[2])
    assert mine.tiers == ((2,),)
    none = route(rules, groups, "+447700", "u", "json", requested=[3], allowed=None)
    assert none.refused and none.tiers == ()
    assert "routing rule 1 allows port(s) 1, 2, 3 only" in none.reason
    assert "names none of them" in none.reason
    assert route(rules, groups, "+337700", "shop", "isms", requested=None,
                 allowed=None).tiers == ((3,),)
    # No rule matches: the request's ports, as before rules existed.
    other = route(rules, groups, "+337700", "u", "json", requested=[1], allowed=None)
    assert other == Decision(None, ((1,),)) and other.ports == (1,)
    assert route(rules, groups, "+337700", "u", "json", requested=None,
                 allowed=None).ports is None


def test_tiers_round_trip_and_fall_back_only_when_a_tier_cannot_send() -> None:
    tiers = ((0, 1), (2,))
    assert parse_tiers(tiers_text(tiers)) == tiers and tiers_text(tiers) == "0,1;2"
    assert tier_of(tiers, lambda p: True) == (0, 1)
    assert tier_of(tiers, lambda p: p == 1) == (0, 1)       # one port of tier 1 is enough
    assert tier_of(tiers, lambda p: p == 2) == (2,)
    assert tier_of(tiers, lambda p: False) == ()


# --- rules as the service keeps them ----------------------------------------------------------
def test_groups_and_rules_validated_before_anything_is_written(rig: Rig) -> None:
    routing = rig.svc.routing
    for name, ports in (("", [0]), ("a;b", [0]), ("x" * 41, [0]), ("ok", []), ("ok", [7])):
        with pytest.raises(BadRequest):
            routing.set_group(name, ports)
    assert routing.groups() == []
    routing.set_group("uk", [1, 0, 1])
    assert [(g.name, g.ports) for g in routing.groups()] == [("uk", (0, 1))]
    for kw in ({"prefix": "4x"}, {"user": "nobody"}, {"dialect": "telex"}):
        with pytest.raises(BadRequest):
            routing.add_outbound(["uk"], **kw)  # type: ignore[arg-type]
    for targets in ([], ["nope"], ["uk", "uk"]):
        with pytest.raises(BadRequest):
            routing.add_outbound(targets)
    assert routing.outbound() == []
    first = routing.add_outbound(["uk"], prefix="0044")
    second = routing.add_outbound(["uk"], dialect="isms")
    assert [(r.id, r.prefix) for r in routing.outbound()] == [(first, "+44"), (second, "")]
    routing.move_outbound(second, -1)
    assert [r.id for r in routing.outbound()] == [second, first]
    with pytest.raises(BadRequest):
        routing.delete_group("uk")                  # in use
    with pytest.raises(NotFound):
        routing.delete_outbound(999)
    routing.delete_outbound(first)
    routing.delete_outbound(second)
    routing.delete_group("uk")
    assert routing.groups() == [] and routing.outbound() == []


# --- intake and dispatch ----------------------------------------------------------------------
def test_no_rule_is_todays_behaviour(rig: Rig) -> None:
    rig.start()
    (mid,) = rig.send(["+447700900001"])
    assert message_ports(rig, mid) is None
    assert rig.drained() and rig.statuses()[mid] == "SENT_OK"


def test_a_submission_is_split_per_recipient(rig: Rig) -> None:
    routing = rig.svc.routing
    routing.set_group("uk", [0])
    routing.set_group("fr", [2])
    routing.add_outbound(["uk"], prefix="+44")
    routing.add_outbound(["fr"], prefix="+33")
    rig.start()
    numbers = ["+447700900001", "+33612345678", "+15550100", "+447700900002"]
    accepted = rig.svc.sending.send_sms(SendRequest("hi", tuple(Recipient(n) for n in numbers)))
    ids = list(accepted.message_ids)
    assert [message_ports(rig, m) for m in ids] == ["0", "2", None, "0"]
    assert rig.drained()
    assert [rig.part_ports(m) for m in ids[:2]] == [{0}, {2}] and rig.part_ports(ids[3]) == {0}
    # One submission: every message under the one task id the client was given.
    tasks = {r.task_id for r in rig.store.outbox.query_sms_result()}
    assert tasks == {accepted.task_id}


def test_fall_back_to_the_next_group_only_while_the_first_cannot_send(rig: Rig) -> None:
    routing = rig.svc.routing
    routing.set_group("main", [0])
    routing.set_group("spare", [1])
    routing.add_outbound(["main", "spare"])
    rig.start()
    (first,) = rig.send(["+447700900001"])
    assert rig.drained() and rig.part_ports(first) == {0}
    assert message_ports(rig, first) == "0;1"
    rig.workers[0].change(reg=REG_SEARCHING)
    assert wait_for(lambda: not rig.sched.able(0))
    assert routing.which("+447700900002").now == (1,)
    (second,) = rig.send(["+447700900002"])
    assert rig.drained() and rig.part_ports(second) == {1}
    # Port sending switched off counts as "cannot send" too; port 2 is in no group.
    rig.workers[0].change(reg=REG_OK)
    rig.svc.ports.set_settings(1, send="off")
    assert wait_for(lambda: rig.sched.able(0))
    (third,) = rig.send(["+447700900003"])
    assert rig.drained() and rig.part_ports(third) == {0}


def test_a_recipient_with_no_port_left_fails_with_its_reason_and_costs_nothing(rig: Rig) -> None:
    routing = rig.svc.routing
    routing.set_group("uk", [0])
    routing.add_outbound(["uk"], prefix="+44")
    rig.store.users.add("shop", "pw-shop-123", perms=("api:json",))
    rig.store.users.update("shop", credits=10)
    rig.start()
    req = SendRequest("hi", (Recipient("+447700900001"), Recipient("+33612345678")), ports=(1,))
    accepted = rig.svc.sending.send_sms(req, user="shop")
    uk, fr = accepted.message_ids
    assert rig.drained()
    assert rig.statuses()[uk] == "FAILED" and "routing rule" in reason(rig, uk)
    assert rig.statuses()[fr] == "SENT_OK" and rig.part_ports(fr) == {1}
    assert rig.store.users.info("shop").credits == 9           # only the one that could go
    # Every recipient refused: the whole submission is refused (each dialect's own format).
    with pytest.raises(NoPortAvailable, match="routing rule"):
        rig.svc.sending.send_sms(SendRequest("hi", (Recipient("+447700900002"),), ports=(1, 2)),
                                 user="shop")


def test_rules_match_on_user_and_front_end(rig: Rig) -> None:
    routing = rig.svc.routing
    routing.set_group("g0", [0])
    routing.set_group("g2", [2])
    rig.store.users.add("shop", "pw-shop-123")
    routing.add_outbound(["g2"], user="shop")
    routing.add_outbound(["g0"], dialect="isms")
    assert routing.which("+447700", user="shop").decision.tiers == ((2,),)
    assert routing.which("+447700", user="admin", dialect="isms").decision.tiers == ((0,),)
    assert routing.which("+447700", user="admin", dialect="json").decision.rule is None
    with pytest.raises(BadRequest):
        routing.which("not a number")


# --- forward as SMS ---------------------------------------------------------------------------
def receive(rig: Rig, port: int, sender: str, text: str) -> None:
    scts = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    for hex_pdu in pdu.encode_deliver(sender, text, scts=scts):
        rig.workers[port].receive(hex_pdu)


def running_forwarder(rig: Rig) -> Forwarder:
    """The forwarding thread's work, one pass at a time; started (its cursor set) before the
    SMS arrive, as the daemon starts it before the ports."""
    forwarder = rig.svc.forwarding
    forwarder.run_once()
    return forwarder


def forward_tasks(rig: Rig) -> list[tuple[int, str, str]]:
    return [(r[0], r[1], r[2]) for r in rig.store.db.conn().execute(
        "SELECT id, user, text FROM tasks WHERE dialect = 'forward' ORDER BY id")]


def test_forward_rules_validated(rig: Rig) -> None:
    routing = rig.svc.routing
    for numbers, kw in (([], {}), (["abc"], {}), ([f"+4479000{i:02d}" for i in range(11)], {}),
                        (["+4479"], {"port": 9}), (["+4479"], {"keyword": "two words"}),
                        (["+4479"], {"max_per_hour": 0}), (["+4479"], {"sender_prefix": "x"})):
        with pytest.raises(BadRequest):
            routing.add_forward(numbers, "admin", **kw)  # type: ignore[arg-type]
    with pytest.raises(BadRequest):
        routing.add_forward(["+4479"], "nobody")
    assert routing.forwards() == []


def test_forward_queued_as_the_owner_prefixed_by_the_sender(rig: Rig) -> None:
    rig.store.users.add("ops", "pw-ops-1234")
    rig.svc.routing.add_forward(["+447700900111", "+15550001"], "ops", port=0, keyword="alarm")
    rig.start()
    forwarder = running_forwarder(rig)
    receive(rig, 0, "+15550001", "hello")                  # no keyword: not forwarded
    receive(rig, 1, "+15550002", "ALARM on port 2")        # another port: not forwarded
    receive(rig, 0, "+15550001", "Alarm: pump 3")
    assert wait_for(lambda: forwarder.run_once() == 0 and bool(forward_tasks(rig)))
    # Not back to the sender: only the other number.
    ((task, user, text),) = forward_tasks(rig)
    assert user == "ops" and text == forward_text("+15550001", "Alarm: pump 3")
    numbers = [r[0] for r in rig.store.db.conn().execute(
        "SELECT number FROM messages WHERE task_id = ?", (task,))]
    assert numbers == ["+447700900111"]
    (logged,) = rig.svc.routing.forward_log()
    assert logged.outcome == "forwarded" and logged.task_id == task
    assert rig.drained()


def test_forward_rate_limit_own_number_and_copies(rig: Rig) -> None:
    own = rig.workers[0].info.number
    rule = rig.svc.routing.add_forward(["+447700900111"], "admin", port=0, max_per_hour=2)
    only_own = rig.svc.routing.add_forward([own], "admin", port=0, keyword="own")
    rig.start()
    forwarder = running_forwarder(rig)
    for i in range(4):
        receive(rig, 0, "+15550001", f"burst {i}")
    assert wait_for(lambda: forwarder.run_once() == 0 and len(
        rig.svc.routing.forward_log()) == 4)
    outcomes = [e.outcome for e in reversed(rig.svc.routing.forward_log()) if e.rule_id == rule]
    assert outcomes[:2] == ["forwarded", "forwarded"]
    assert all("rate limit, 2 per sender per hour" in o for o in outcomes[2:])
    receive(rig, 0, "+15550003", "own number please")
    # A forward's own copy arriving back is never forwarded again.
    copy = forward_tasks(rig)[0][2]
    receive(rig, 0, "+15550004", copy)
    assert wait_for(lambda: forwarder.run_once() == 0 and len(
        rig.svc.routing.forward_log()) == 7)
    log = {(e.rule_id, e.sender): e.outcome for e in rig.svc.routing.forward_log()}
    assert "sender's or the port's own" in log[(only_own, "+15550003")]
    assert "loop stopped" in log[(rule, "+15550004")]
    assert log[(rule, "+15550003")] == "forwarded"          # another sender, its own budget
    assert len(forward_tasks(rig)) == 3
    assert rig.drained()


def test_no_forward_for_a_disabled_owner_or_without_credit(rig: Rig) -> None:
    rig.store.users.add("ops", "pw-ops-1234")
    rig.store.users.update("ops", credits=0)
    rig.store.users.add("gone", "pw-gone-1234")
    rig.svc.routing.add_forward(["+447700900111"], "ops", keyword="credit")
    rig.svc.routing.add_forward(["+447700900111"], "gone", keyword="disabled")
    rig.store.users.update("gone", disabled=True)
    rig.start()
    forwarder = running_forwarder(rig)
    receive(rig, 0, "+15550001", "credit please")
    receive(rig, 0, "+15550001", "disabled please")
    assert wait_for(lambda: forwarder.run_once() == 0 and len(
        rig.svc.routing.forward_log()) == 2)
    newest, oldest = rig.svc.routing.forward_log()
    assert oldest.outcome.startswith("not forwarded: ") and "credit" in oldest.outcome.lower()
    assert "'gone' is disabled or deleted" in newest.outcome
    assert forward_tasks(rig) == []


def test_forward_is_exactly_once_across_a_restart(rig: Rig, tmp_path: Path) -> None:
    rig.svc.routing.add_forward(["+447700900111"], "admin")
    rig.start()
    forwarder = running_forwarder(rig)
    receive(rig, 0, "+15550001", "once")
    assert wait_for(lambda: forwarder.run_once() == 0 and bool(forward_tasks(rig)))
    # As if the box stopped after queuing but before logging the outcome: the log row still
    # says "queuing", the cursor is back; the next pass finds the task instead of queuing again.
    with rig.store.db.write() as conn:
        conn.execute("UPDATE forward_log SET outcome = 'queuing', task_id = NULL")
    rig.store.events.set_push_cursor("forward", 0)
    again = type(forwarder)(rig.store, rig.svc.sending, rig.svc.routing, rig.sched)
    assert wait_for(lambda: again.run_once() == 0)
    (task,) = forward_tasks(rig)
    assert [(e.outcome, e.task_id) for e in rig.svc.routing.forward_log()] == [
        ("forwarded", task[0])]
    # As if it stopped before queuing: "queuing" and no task; the next pass queues it.
    with rig.store.db.write() as conn:
        conn.execute("UPDATE forward_log SET outcome = 'queuing', task_id = NULL")
        conn.execute("UPDATE tasks SET text = 'something else' WHERE dialect = 'forward'")
    rig.store.events.set_push_cursor("forward", 0)
    third = type(forwarder)(rig.store, rig.svc.sending, rig.svc.routing, rig.sched)
    assert wait_for(lambda: third.run_once() == 0)
    assert [t[2] for t in forward_tasks(rig)] == ["something else",
                                                  forward_text("+15550001", "once")]
    assert [e.outcome for e in rig.svc.routing.forward_log()] == ["forwarded"]
    # No usercontext: a reply to the forward is not taken for an IntelliSoftware reply.
    contexts = {r[0] for r in rig.store.db.conn().execute("SELECT usercontext FROM tasks")}
    assert contexts == {""}
    assert rig.drained()


def test_forward_rule_applies_to_sms_received_after_it_was_made(rig: Rig) -> None:
    rig.start()
    receive(rig, 0, "+15550001", "before")
    time.sleep(0.01)
    rig.svc.routing.add_forward(["+447700900111"], "admin")
    rig.store.events.set_push_cursor("forward", 0)            # even reading from the start
    forwarder = rig.svc.forwarding
    assert wait_for(lambda: forwarder.run_once() == 0)
    assert forward_tasks(rig) == [] and rig.svc.routing.forward_log() == []


def test_a_forwarder_without_a_cursor_starts_at_the_newest_event(rig: Rig) -> None:
    """A box restored from a configuration backup has old rules and no cursor of its own: the
    SMS it received before are not forwarded, the next one is."""
    rig.svc.routing.add_forward(["+447700900111"], "admin")
    rig.start()
    receive(rig, 0, "+15550001", "received before the thread ran")
    forwarder = running_forwarder(rig)
    assert forward_tasks(rig) == []
    receive(rig, 0, "+15550001", "received after")
    assert wait_for(lambda: forwarder.run_once() == 0 and bool(forward_tasks(rig)))
    assert [t[2] for t in forward_tasks(rig)] == [forward_text("+15550001", "received after")]
    assert rig.drained()


def test_migration_0011_keeps_waiting_messages_as_they_were(tmp_path: Path) -> None:
    """A box upgraded with messages waiting: they have no ports of their own (NULL), so they
    go out on their task's ports as before, and the rule tables start empty."""
    path = str(tmp_path / "old.db")
    old = Store(path, migrations=load()[:10])
    assert old.db.conn().execute("PRAGMA user_version").fetchone()[0] == 10
    old.outbox.intake(user="admin", text="waiting", encoding="auto", srr=False, ports=[1],
                      rows=[("+447700900001", None, None, 1)], now=1.0)
    old.close()
    new = Store(path)
    try:
        (msg,) = new.outbox.waiting(0, 10)
        assert (msg.ports, msg.tiers) == ((1,), ())
        rules = RoutingRules(new.db)
        assert rules.groups() == [] and rules.outbound() == [] and rules.forwards() == []
    finally:
        new.close()


class CountingForwarder(Forwarder):
    """The forwarding thread as the daemon runs it, counting its passes."""

    passes = 0

    def run_once(self) -> int:
        self.passes += 1
        return super().run_once()


def test_without_rules_events_do_not_wake_the_forwarder_and_a_new_rule_is_seen(rig: Rig) -> None:
    svc = rig.svc
    forwarder = CountingForwarder(rig.store, svc.sending, svc.routing, rig.sched)
    rig.start()
    forwarder.start()
    try:
        wait_for(lambda: forwarder.passes >= 1)
        before = forwarder.passes
        rig.send([f"+4477009001{i:02d}" for i in range(40)])        # 40 messages' events
        assert rig.drained()
        # Each event woke it before: 40 sends made well over 40 passes. Now: a look a second.
        assert forwarder.passes - before <= 3
        svc.routing.add_forward(["+447700900111"], "admin")
        receive(rig, 0, "+15550001", "after the rule")
        assert wait_for(lambda: bool(forward_tasks(rig)), timeout=10)
        assert [t[2] for t in forward_tasks(rig)] == [forward_text("+15550001", "after the rule")]
    finally:
        forwarder.stop()


def outbound_reads(store: Store, read: Callable[[], object]) -> int:
    """How many statements read the outbound rules table while `read` runs (on this thread)."""
    seen: list[str] = []
    conn = store.db.conn()
    conn.set_trace_callback(lambda sql: seen.append(sql) if "FROM outbound_rules" in sql
                            else None)
    try:
        read()
    finally:
        conn.set_trace_callback(None)
    return len(seen)


def test_outbound_rules_are_read_once_per_change_whoever_changes_them(rig: Rig) -> None:
    """Submissions (Sending's Routing) and the Routing page (the service's) are two objects on
    one store: a change through either is seen by both at once, and between changes a
    submission reads no rule from the database."""
    page, intake = rig.svc.routing, Routing(rig.store, rig.sched)
    rig.svc.routing.set_group("g", [0])
    assert outbound_reads(rig.store, intake.outbound) == 1
    assert outbound_reads(rig.store, intake.outbound) == 0
    first = page.add_outbound(["g"], prefix="+44")
    assert [r.id for r in intake.outbound()] == [first]
    second = page.add_outbound(["g"], prefix="+33")
    page.move_outbound(second, -1)
    assert [r.id for r in intake.outbound()] == [second, first]
    assert outbound_reads(rig.store, intake.outbound) == 0
    page.delete_outbound(second)
    assert [r.id for r in intake.outbound()] == [first]
    with pytest.raises(RuntimeError):
        with rig.store.db.write():                        # a change rolled back: nothing moves
            rig.store.routing_rules.delete_outbound(first)
            raise RuntimeError("rolled back")
    assert outbound_reads(rig.store, intake.outbound) == 0
    assert [r.id for r in intake.outbound()] == [first]
