"""Runs the box's connections: builds each from its stored settings, starts the running ones,
and sends what routing gave them.

Theory of operation. Each connection that is running has a dispatcher thread. Every half second
(or at once when kicked) it asks the store for waiting messages whose routing tiers name the
connection's number and, while the connection is up and may send (SEND on), claims one (it is
then the connection's alone: the scheduler never sees a claimed message), submits it and
records the outcome: SENT_OK with the provider's id, FAILED with the reason, or, when it never
reached the provider, waiting again, and the connection rests 1, 2, 4 ... 60 s before it tries
again. A connection that is down (stopped, unbound, resting) is not `able`, so the scheduler
routes its messages by the rule's next tier meanwhile; a message with no next tier waits. The
scheduler forgets the messages a connection sends (they would fill its look-ahead): when one
stops being able, `on_unable` (the scheduler's `reread`) makes it read them again.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

from smsd.connections import lazy
from smsd.connections.base import Connection, Outgoing, Status, on
from smsd.connections.http_client import HttpClientConnection
from smsd.connections.http_server import HttpServerConnection
from smsd.routing import CONNECTION_BASE
from smsd.store.connections import ConnectionRow, Connections, Routed

if TYPE_CHECKING:
    from smsd.connections.smtp import MailInbound

log = logging.getLogger(__name__)
POLL = 0.5
REST_MAX = 60.0          # seconds a connection rests, at most, after a provider was unreachable

BUILDERS: dict[str, Callable[[str, dict[str, str], MailInbound], Connection]] = {
    "SMPP": lazy.smpp, "HTTPClient": HttpClientConnection,    # SMPP, SMTP: imported when built
    "HTTPServer": HttpServerConnection, "SMTP": lazy.smtp}


def number_of(row_id: int) -> int:
    return CONNECTION_BASE + row_id


class _Runner:
    """One running connection and its dispatcher thread."""

    def __init__(self, row: ConnectionRow, conn: Connection, rows: Connections,
                 clock: Callable[[], float], on_unable: Callable[[], None]) -> None:
        self.row = row
        self.conn = conn
        self.rows = rows
        self.clock = clock
        self.on_unable = on_unable
        self.rest_until = 0.0           # time.monotonic(): resting after an unreachable provider
        self.rest = 0.0
        self.why = ""
        self.number = number_of(row.id)
        self.kick = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"dispatch-{row.name}",
                                       daemon=True)

    def able(self) -> bool:
        return (on(self.row.settings.get("SEND", "on")) and time.monotonic() >= self.rest_until
                and self.conn.status().up)

    def status(self) -> Status:
        status = self.conn.status()
        left = self.rest_until - time.monotonic()
        if status.up and left > 0:
            return Status(False, f"provider unreachable, trying again in {left:.0f} s: "
                                 f"{self.why}")
        return status

    def start(self) -> None:
        self.conn.start()
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.kick.set()
        self.thread.join(timeout=2)
        self.conn.stop()                     # a submit still waiting gets its answer now
        self.thread.join(timeout=10)

    def _run(self) -> None:
        was_able = False
        while not self.stopping.is_set():
            self.kick.wait(POLL)
            self.kick.clear()
            able = self.able()
            if was_able and not able:
                self.on_unable()            # the scheduler takes its messages' next tiers
            was_able = able
            try:
                while self.able() and not self.stopping.is_set() and self._send_some():
                    pass
            except Exception:       # noqa: BLE001 - a dispatcher must outlive one bad message
                log.exception("connection %s: dispatch failed", self.row.name)

    def _send_some(self) -> bool:
        waiting = self.rows.waiting_for(self.number, 20)
        for msg in waiting:
            if self.stopping.is_set() or not self.able():
                return False
            if self.rows.claim(msg.id, self.row.id, self.number, self.clock()):
                self._send(msg)
        return bool(waiting)

    def _send(self, msg: Routed) -> None:
        outcome = self.conn.submit(Outgoing(msg.id, msg.number, msg.text, msg.sender,
                                            msg.encoding, msg.srr, msg.data, msg.udh))
        if outcome.ok:
            self.rest = 0.0
            self.rows.sent(msg.id, outcome.remote_id, self.clock())
        elif not outcome.on_air:
            self.rows.give_back(msg.id)
            self.rest = min(max(1.0, self.rest * 2), REST_MAX)
            self.rest_until, self.why = time.monotonic() + self.rest, outcome.reason
            log.info("connection %s: message %d waits, the connection rests %g s: %s",
                     self.row.name, msg.id, self.rest, outcome.reason)
            self.on_unable()
        else:
            self.rows.failed(msg.id, outcome.reason or "refused by the provider", self.clock())
            log.warning("connection %s: message %d failed: %s", self.row.name, msg.id,
                        outcome.reason)


class ConnectionManager:
    def __init__(self, rows: Connections, inbound: MailInbound,
                 clock: Callable[[], float] = time.time,
                 on_unable: Callable[[], None] = lambda: None) -> None:
        self.rows = rows
        self.inbound = inbound
        self.clock = clock
        self.on_unable = on_unable
        self._runners: dict[str, _Runner] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.rows.recover_after_restart(self.clock())
        for row in self.rows.all():
            self.reload(row.name)

    def stop(self) -> None:
        with self._lock:
            runners, self._runners = list(self._runners.values()), {}
        for runner in runners:
            runner.stop()

    def reload(self, name: str) -> None:
        """Apply `name`'s stored state: stopped, removed or (re)built with its settings."""
        with self._lock:
            old = self._runners.pop(name, None)
        if old is not None:
            old.stop()
            self.on_unable()
        row = self.rows.get(name)
        if row is None or not row.running or row.kind not in BUILDERS:
            return
        conn = BUILDERS[row.kind](row.name, self._settings(row), self.inbound)
        runner = _Runner(row, conn, self.rows, self.clock, self.on_unable)
        with self._lock:
            self._runners[name] = runner
        runner.start()

    @staticmethod
    def _settings(row: ConnectionRow) -> dict[str, str]:
        from smsd.connections.keys import effective
        return effective(row.kind, row.settings)

    def able(self, number: int) -> bool:
        """Can the connection numbered `number` take a message now (the scheduler asks)?"""
        with self._lock:
            runners = list(self._runners.values())
        return any(r.number == number and r.able() for r in runners)

    def kick(self) -> None:
        with self._lock:
            runners = list(self._runners.values())
        for r in runners:
            r.kick.set()

    def status(self, name: str) -> Status:
        with self._lock:
            runner = self._runners.get(name)
        if runner is None:
            return Status(False, "stopped")
        return runner.status()

    def connection(self, name: str) -> Connection | None:
        with self._lock:
            runner = self._runners.get(name)
        return None if runner is None else runner.conn
