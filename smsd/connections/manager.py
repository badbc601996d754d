"""Runs the box's connections: builds each from its stored settings, starts the running ones,
and sends what routing gave them.

Theory of operation. Each connection that is running has a dispatcher thread. Every half second
(or at once when kicked) it asks the store for waiting messages whose routing tiers name the
connection's number and, while the connection is up and may send (SEND on), claims one (it is
then the connection's alone: the scheduler never sees a claimed message), submits it and
records the outcome: SENT_OK with the provider's id, FAILED with the reason, or, when it never
reached the provider, waiting again. A connection that is down is not `able`, so the scheduler
routes its messages by the rule's next tier meanwhile; a message with no next tier waits.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from smsd.connections.base import Connection, Outgoing, Status, on
from smsd.connections.http_client import HttpClientConnection
from smsd.connections.http_server import HttpServerConnection
from smsd.connections.smpp_client import SmppConnection
from smsd.connections.smtp import MailInbound, SmtpConnection
from smsd.routing import CONNECTION_BASE
from smsd.store.connections import ConnectionRow, Connections, Routed

log = logging.getLogger(__name__)
POLL = 0.5

BUILDERS: dict[str, Callable[[str, dict[str, str], MailInbound], Connection]] = {
    "SMPP": SmppConnection, "HTTPClient": HttpClientConnection,
    "HTTPServer": HttpServerConnection, "SMTP": SmtpConnection}


def number_of(row_id: int) -> int:
    return CONNECTION_BASE + row_id


class _Runner:
    """One running connection and its dispatcher thread."""

    def __init__(self, row: ConnectionRow, conn: Connection, rows: Connections,
                 clock: Callable[[], float]) -> None:
        self.row = row
        self.conn = conn
        self.rows = rows
        self.clock = clock
        self.number = number_of(row.id)
        self.kick = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"dispatch-{row.name}",
                                       daemon=True)

    def able(self) -> bool:
        return on(self.row.settings.get("SEND", "on")) and self.conn.status().up

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
        while not self.stopping.is_set():
            self.kick.wait(POLL)
            self.kick.clear()
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
            self.rows.sent(msg.id, outcome.remote_id, self.clock())
        elif not outcome.on_air:
            self.rows.give_back(msg.id)
            log.info("connection %s: message %d waits: %s", self.row.name, msg.id,
                     outcome.reason)
            self.stopping.wait(POLL)          # down: don't spin while status catches up
        else:
            self.rows.failed(msg.id, outcome.reason or "refused by the provider", self.clock())
            log.warning("connection %s: message %d failed: %s", self.row.name, msg.id,
                        outcome.reason)


class ConnectionManager:
    def __init__(self, rows: Connections, inbound: MailInbound,
                 clock: Callable[[], float] = time.time) -> None:
        self.rows = rows
        self.inbound = inbound
        self.clock = clock
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
        row = self.rows.get(name)
        if row is None or not row.running or row.kind not in BUILDERS:
            return
        conn = BUILDERS[row.kind](row.name, self._settings(row), self.inbound)
        runner = _Runner(row, conn, self.rows, self.clock)
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
        return runner.conn.status()

    def connection(self, name: str) -> Connection | None:
        with self._lock:
            runner = self._runners.get(name)
        return None if runner is None else runner.conn
