"""Forward as SMS: received SMS that match a forward rule go on as SMS (docs/routing.md).

Theory of operation. One thread follows the events table with its own durable cursor
(`push_cursors` row "forward"), as a push target does, so a received SMS is forwarded even when
the box restarts between receiving and forwarding it. For each `sms` event, every forward rule
made before it was received and matching its port, sender and keyword is applied once: the
outcome (forwarded, or why not) is one `forward_log` row per (rule, received SMS), written as
"queuing" before the forward is queued and replaced by the outcome after, so a crash in between
finds the forward's task (the owner's forward task with its text, queued since) instead of
queuing it again, or queues it when there is none.

Who pays: the forward is an ordinary submission of the rule's owner (front end "forward"),
through `svc.sending.send_sms`: their credits, the ports' limits, outbound routing rules (a
rule may name the front end "forward"), and it shows in their outbox.

Loops are stopped four ways:
- a received SMS that is a forward's own copy (its text is exactly the text of a forward queued
  in the last day, or it comes from one of the box's own numbers and starts with the forward
  prefix) is never forwarded;
- a rule forwards at most `max_per_hour` SMS per sender per hour;
- a forward never goes to its sender, nor to the receiving port's own number;
- the forwarded text starts with "Fwd from <sender>: ", so a copy is recognisable.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from smsd.errors import ServiceError
from smsd.model import EventRow, Recipient, SendRequest
from smsd.numbers import same_subscriber
from smsd.routing import ForwardRule
from smsd.scheduler import Scheduler
from smsd.service.routes import Routing
from smsd.service.sending import Sending
from smsd.store.db import Store
from smsd.store.routes_rules import FORWARD_DIALECT, FORWARDED, QUEUING

log = logging.getLogger("smsd.forward")

CURSOR = "forward"
PREFIX = "Fwd from {sender}: "
LOOP_WINDOW = 86400.0          # a forward's copy arriving back this long after is still one
RATE_WINDOW = 3600.0           # max_per_hour counts forwards in this window
BATCH = 200
IDLE_PERSIST = 30.0            # seconds between cursor writes while there are no rules
IDLE_LOOK = 1.0                # seconds between looks for a rule while there is none


def forward_text(sender: str, text: str) -> str:
    return PREFIX.format(sender=sender) + text


class Forwarder:
    def __init__(self, store: Store, sending: Sending, routing: Routing, scheduler: Scheduler,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._rules = routing.rules_store
        self._routing = routing
        self._sending = sending
        self._scheduler = scheduler
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._cursor: int | None = None
        self._persisted = 0.0
        self._idle = False             # the last pass found no rules

    # --- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="forward", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; no wait (as the push worker's): it sleeps in wait_events for
        up to a second, and a stop must not take that long. What it left undone is redone from
        its durable cursor at the next start."""
        self._stopping.set()

    def _run(self) -> None:
        events = self._store.events
        while not self._stopping.is_set():
            try:
                if self.run_once() == 0:
                    if self._idle:
                        # No rules: no event can start a forward, so none should wake this
                        # thread (each one did: two reads and the GIL's hand-overs, per send's
                        # events). A rule made meanwhile is seen within the second, and takes
                        # the SMS received from its making on, which the cursor still holds.
                        self._stopping.wait(IDLE_LOOK)
                    else:
                        events.wait_events(self.cursor(), 1.0)
            except Exception:  # noqa: BLE001 - the thread must outlive one bad event
                log.exception("forwarding pass failed")
                self._stopping.wait(1.0)

    # --- the work -------------------------------------------------------------------------------
    def cursor(self) -> int:
        """Where the thread goes on; with no cursor stored yet (a new box, one restored from a
        configuration backup), the newest event: rules restored with their old making time
        must not forward the SMS this box received before."""
        if self._cursor is None:
            found = self._store.events.push_cursor(CURSOR)
            self._cursor = found if found is not None else self._store.events.last_event_id()
        return self._cursor

    def run_once(self) -> int:
        """Handle the events after the cursor (up to BATCH); how many were read. A rule takes
        the SMS received from its making on (`ForwardRule.since`)."""
        rules = self._routing.forwards()
        after = self.cursor()
        self._idle = not rules
        if not rules:
            # Nothing to forward: skip ahead without reading, writing the cursor now and then.
            self._advance(self._store.events.last_event_id(), idle=True)
            return 0
        batch = self._store.events.events_after(after, BATCH)
        for event in batch:
            if event.kind == "sms":
                self._received(event, rules)
        if batch:
            self._advance(batch[-1].id, idle=False)
        return len(batch)

    def _advance(self, event_id: int, idle: bool) -> None:
        if event_id == self._cursor:
            return
        self._cursor = event_id
        now = time.monotonic()
        if not idle or now - self._persisted >= IDLE_PERSIST:
            self._store.events.set_push_cursor(CURSOR, event_id)
            self._persisted = now

    def _received(self, event: EventRow, rules: list[ForwardRule]) -> None:
        sms: dict[str, Any] = event.payload
        port, sender, text = int(sms["port"]), str(sms["number"]), str(sms["text"])
        for rule in rules:
            if rule.matches(port, sender, text, event.created):
                self._apply(rule, int(sms["incoming_sms_id"]), port, sender, text)

    def _apply(self, rule: ForwardRule, inbox_id: int, port: int, sender: str,
               text: str) -> None:
        state = self._rules.log_state(rule.id, inbox_id)
        if state is not None and state[0] != QUEUING:
            return                            # done before
        task_id = None
        if state is not None:                 # queuing when the box stopped: was it queued?
            task_id = self._rules.forward_task(rule.owner, forward_text(sender, text), state[1])
        else:
            self._rules.log_forward(rule.id, inbox_id, sender, QUEUING, None, self._clock())
        if task_id is not None:
            outcome = FORWARDED
        else:
            outcome, task_id = self._forward(rule, port, sender, text)
        log.info("forward rule %d, received SMS %d from %s: %s", rule.id, inbox_id, sender,
                 outcome if task_id is None else f"{outcome} (task {task_id})")
        self._rules.log_forward(rule.id, inbox_id, sender, outcome, task_id, self._clock())

    def _forward(self, rule: ForwardRule, port: int, sender: str,
                 text: str) -> tuple[str, int | None]:
        now = self._clock()
        why = self._refusal(rule, port, sender, text, now)
        if why:
            return f"not forwarded: {why}", None
        numbers = self._numbers(rule, port, sender)
        if not numbers:
            return "not forwarded: its only numbers are the sender's or the port's own", None
        request = SendRequest(text=forward_text(sender, text),
                              recipients=tuple(Recipient(n) for n in numbers),
                              dialect=FORWARD_DIALECT)
        try:
            accepted = self._sending.send_sms(request, user=rule.owner)
        except ServiceError as exc:
            return f"not forwarded: {exc}", None
        return FORWARDED, accepted.task_id

    def _refusal(self, rule: ForwardRule, port: int, sender: str, text: str, now: float) -> str:
        owner = self._store.users.info(rule.owner)
        if owner is None or owner.disabled:
            return f"its user {rule.owner!r} is disabled or deleted"
        if self._is_copy(sender, text, now):
            return "it is a forward's own copy (loop stopped)"
        if self._rules.forwarded_since(rule.id, sender, now - RATE_WINDOW) >= rule.max_per_hour:
            return f"rate limit, {rule.max_per_hour} per sender per hour"
        return ""

    def _is_copy(self, sender: str, text: str, now: float) -> bool:
        if self._rules.is_forward_copy(text, now - LOOP_WINDOW):
            return True
        own = [self._own_number(p) for p in self._scheduler.ports]
        return text.startswith("Fwd from ") and any(n and same_subscriber(n, sender) for n in own)

    def _own_number(self, port: int) -> str:
        info = self._scheduler.last_info(port)
        return info.number if info is not None else ""

    def _numbers(self, rule: ForwardRule, port: int, sender: str) -> list[str]:
        own = self._own_number(port)
        return [n for n in rule.numbers
                if not same_subscriber(n, sender) and not (own and same_subscriber(n, own))]
