"""Durable outbound pushes: the store's events table, delivered to each target in order.

Theory of operation: every state change a customer may want to hear of is appended to the
`events` table in the same transaction as the change itself. Each push target keeps a durable
cursor (the last event id it acknowledged with a 2xx). The push thread reads events after the
cursor, batches consecutive events of one kind into one POST (the spec's bodies carry arrays),
and moves the cursor only after a 2xx. A failure backs that target off exponentially (capped) and
retries the same batch; other targets are not held up. A restart resumes from the cursors, so
nothing is dropped and nothing acknowledged is sent again.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from smsd.push import json_format

log = logging.getLogger("smsd.push")


class EventSource(Protocol):
    def events_after(self, event_id: int, limit: int) -> Sequence[Any]: ...
    def push_cursor(self, target: str) -> int | None: ...
    def set_push_cursor(self, target: str, event_id: int) -> None: ...
    def last_event_id(self) -> int: ...


@dataclass
class PushTarget:
    url: str
    dialect: str = "json"
    backoff: float = 0.0                 # current back-off, seconds
    next_try: float = 0.0                # monotonic time of the next attempt
    delivered: int = 0
    failures: int = 0
    last_error: str = ""
    kinds: frozenset[str] = field(default_factory=lambda: json_format.KINDS)

    @property
    def key(self) -> str:
        return f"{self.dialect}:{self.url}"


def post_json(url: str, obj: Any, timeout: float) -> int:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class PushWorker(threading.Thread):
    MIN_BACKOFF = 1.0
    MAX_BACKOFF = 300.0

    def __init__(self, store: EventSource, targets: list[PushTarget], sn: str, *,
                 batch: int = 50, timeout: float = 10.0, poll: float = 0.2,
                 clock: Callable[[], float] = time.monotonic,
                 post: Callable[[str, Any, float], int] = post_json) -> None:
        super().__init__(name="push", daemon=True)
        self._store, self.targets, self._sn = store, targets, sn
        self._batch, self._timeout, self._poll = batch, timeout, poll
        self._clock, self._post = clock, post
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.heartbeat = clock()
        self._init_cursors()

    def _init_cursors(self) -> None:
        # A target seen for the first time starts at "now": it hears of what happens from here
        # on rather than of the whole history of the box.
        for target in self.targets:
            if self._store.push_cursor(target.key) is None:
                self._store.set_push_cursor(target.key, self._store.last_event_id())

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            self.heartbeat = self._clock()
            busy = False
            for target in self.targets:
                try:
                    busy |= self._service(target)
                except Exception:   # noqa: BLE001 - keep the push thread alive whatever happens
                    log.exception("push to %s failed unexpectedly", target.url)
            if not busy:
                self._wake.wait(self._poll)
                self._wake.clear()

    def _service(self, target: PushTarget) -> bool:
        """Deliver one batch to `target` if it is due; True when there may be more to do now."""
        if self._clock() < target.next_try:
            return False
        cursor = self._store.push_cursor(target.key) or 0
        events = self._store.events_after(cursor, self._batch)
        if not events:
            return False
        batch = _same_kind_prefix(events)
        wanted = [e for e in batch if e.kind in target.kinds]
        if wanted and not self._deliver(target, wanted):
            return False
        self._store.set_push_cursor(target.key, batch[-1].id)
        return True

    def _deliver(self, target: PushTarget, events: list[Any]) -> bool:
        kind = events[0].kind
        body = json_format.body(self._sn, kind, [e.payload for e in events])
        try:
            status = self._post(target.url, body, self._timeout)
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except (OSError, ValueError) as exc:
            error = str(exc) or exc.__class__.__name__
        if not error:
            target.backoff, target.delivered = 0.0, target.delivered + len(events)
            return True
        target.failures += 1
        target.last_error = error
        target.backoff = min(self.MAX_BACKOFF, max(self.MIN_BACKOFF, target.backoff * 2))
        target.next_try = self._clock() + target.backoff
        log.warning("push of %d %s event(s) to %s failed (%s); retrying in %.0f s",
                    len(events), kind, target.url, error, target.backoff)
        return False


def _same_kind_prefix(events: Sequence[Any]) -> list[Any]:
    first = events[0].kind
    out = []
    for event in events:
        if event.kind != first:
            break
        out.append(event)
    return out
