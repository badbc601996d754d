"""SMPP's business rules (svc.smpp): who may bind and with which password, and the durable
per-user queue of what waits for a receiver bind (docs/smpp.md).

Passwords: an SMPP bind carries at most 8 password characters. A user whose own password is that
short binds with it; anybody else gets a separate SMPP password (`new_password`), made here and
shown once. Binds go through the service's login throttle like every other login.

The queue: `feed()` follows the events table with a durable cursor and turns
- the final `sms_result` of a message submitted over SMPP with registered_delivery into a
  delivery receipt for the user who submitted it, and
- every received SMS (`sms`) into one queued delivery for each user who was explicitly granted
  the `smpp` permission and may see it (an admin, or a user with that port assigned).
A queued row stays until an ESME acknowledged its deliver_sm (`ack`).
"""
from __future__ import annotations

import secrets
import string
import time
from typing import Any, Callable

from smsd.errors import AuthError, Forbidden, NotFound
from smsd.model import EventRow
from smsd.service.users import Users
from smsd.store.db import Store
from smsd.store.smpp_queue import QueuedDelivery

__all__ = ["FAILURE_ONLY", "QueuedDelivery", "Smpp", "SMPP_PERM"]

SMPP_PERM = "smpp"
SMPP_PASSWORD_MAX = 8             # octets of the bind PDU's password field, NUL excluded
FEED_BATCH = 500
# registered_delivery 2 (receipt on failure only) is kept on the task as its usercontext.
FAILURE_ONLY = "smpp:registered_delivery=2"
# A message's end: UNKNOWN too (a part on the air when the box stopped, never sent twice): the
# ESME that asked for a receipt hears of it (stat:UNKNOWN) instead of waiting for ever.
FINAL = ("DELIVERED", "FAILED", "UNKNOWN")
ST_FAILED = 0x40                  # TP-Status from here on: the SMSC gave up on the message
_ALPHABET = string.ascii_letters + string.digits


class Smpp:
    def __init__(self, store: Store, users: Users, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._users = users
        self._clock = clock

    # --- binds ----------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, *, remote: str = "") -> str:
        """The user name when `password` is the user's password or SMPP password and the user
        has the smpp permission; Throttled / AuthError / Forbidden as svc.users.authenticate."""
        self._users.throttle_check(name, remote=remote)
        if not name:
            self._users.failed(name, remote=remote)      # counts the failure, raises AuthError
        # within the throttle's limit of simultaneous slow checks, like every other login: 64
        # binds hashing at once would hold a gigabyte of scrypt buffers
        if not self._users.check_limited(name, password, remote, self._store.smpp.check_password):
            raise AuthError("bad user name or password")  # the failure is counted
        self._users.succeeded(name, remote=remote)
        if not self._users.has_perm(name, SMPP_PERM):
            raise Forbidden(f"user {name!r} lacks permission {SMPP_PERM}")
        return name

    def new_password(self, name: str) -> str:
        """A new SMPP password for `name` (8 characters), to be shown once; NotFound."""
        if not self._store.users.exists(name):
            raise NotFound(f"no user {name!r}")
        password = "".join(secrets.choice(_ALPHABET) for _ in range(SMPP_PASSWORD_MAX))
        self._store.smpp.set_password(name, password)
        return password

    def has_password(self, name: str) -> bool:
        return self._store.smpp.has_password(name)

    # --- the delivery queue ---------------------------------------------------------------------
    def feed(self, limit: int = FEED_BATCH) -> int:
        """Queue what the next events mean for SMPP users; the number of events read. One
        thread (the SMPP server's) calls it."""
        cursor = self._store.smpp.cursor()
        if cursor is None:     # first start: what happened before SMPP existed is not replayed
            cursor = self._store.events.last_event_id()
            self._store.smpp.enqueue([], cursor, self._clock())
            return 0
        events = self._store.events.events_after(cursor, limit)
        if not events:
            return 0
        rows = [row for event in events for row in self._rows(event)]
        self._store.smpp.enqueue(rows, events[-1].id, self._clock())
        return len(events)

    def wait_events(self, timeout: float) -> bool:
        cursor = self._store.smpp.cursor() or 0
        return self._store.events.wait_events(cursor, timeout)

    def pending(self, user: str, after_id: int = 0, limit: int = 100) -> list[QueuedDelivery]:
        return self._store.smpp.pending(user, after_id, limit)

    def ack(self, user: str, delivery_id: int) -> bool:
        return self._store.smpp.ack(user, delivery_id)

    def waiting(self, user: str | None = None) -> int:
        return self._store.smpp.waiting(user)

    def _rows(self, event: EventRow) -> list[tuple[str, str, dict[str, Any]]]:
        if event.kind == "sms_result":
            receipt = self._receipt(event.payload, done=event.created)
            return [] if receipt is None else [receipt]
        if event.kind == "sms_deliver_status":       # a failed report leaves it SENT_OK
            failed = self._failed_report(event.payload, event.created)
            return [] if failed is None else [failed]
        if event.kind == "sms":
            return [(user, "sms", event.payload) for user in self._readers(event.payload)]
        return []

    def _failed_report(self, payload: dict[str, Any],
                       done: float) -> tuple[str, str, dict[str, Any]] | None:
        """A status report of a permanent failure (TP-ST 0x40 and up) is the message's end."""
        st = payload.get("status_code")
        if not isinstance(st, int) or st < ST_FAILED:
            return None
        return self._receipt({**payload, "status": "FAILED", "count": 1, "succ_count": 0},
                             dr_status=st, done=done)

    def _receipt(self, payload: dict[str, Any], dr_status: int | None = None,
                 done: float | None = None) -> tuple[str, str, dict[str, Any]] | None:
        status = payload.get("status")
        message_id = payload.get("message_id")
        if status not in FINAL or not isinstance(message_id, int):
            return None
        submitted = self._store.smpp.submitted(message_id)
        if submitted is None:
            return None
        created, usercontext, srr, owner = submitted
        if not srr or (usercontext == FAILURE_ONLY and status == "DELIVERED"):
            return None
        state = self._store.outbox.message_state(message_id)
        receipt = {"message_id": message_id, "number": payload.get("number", ""),
                   "status": status, "submitted": created,
                   "done": self._clock() if done is None else done,
                   "count": payload.get("count", 0), "succ_count": payload.get("succ_count", 0),
                   "text": state.text if state is not None else "",
                   "reason": state.reason if state is not None else "",
                   "dr_status": dr_status if dr_status is not None
                   else state.dr_status if state is not None else None}
        return owner, "receipt", receipt

    def _readers(self, payload: dict[str, Any]) -> list[str]:
        """Users an inbound SMS is queued for: the `smpp` permission granted explicitly (not by
        being an admin, so a box whose admin never binds keeps no queue), enabled, and allowed
        to see the port's inbox."""
        port = payload.get("port")
        readers = []
        for info in self._store.users.all():
            if info.disabled or SMPP_PERM not in info.perms:
                continue
            if info.admin or port in self._store.users.assigned(info.name, "port"):
                readers.append(info.name)
        return readers

