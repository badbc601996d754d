"""Durable outbound pushes: the store's events table, delivered to each target in order.

Theory of operation: every state change a customer may want to hear of is appended to the
`events` table in the same transaction as the change itself. Each push target keeps a durable
cursor (the last event id it acknowledged with a 2xx). The push thread reads events after the
cursor, batches consecutive events of one kind into one POST (the spec's bodies carry arrays),
and moves the cursor only after a 2xx. A failure backs that target off exponentially (capped) and
retries the same batch; other targets are not held up. A restart resumes from the cursors, so
nothing is dropped and nothing acknowledged is sent again.

A target with `give_up` set (the routing rules: a day) stops retrying a batch its receiver has
refused for that long: the batch's events are parked in the store as failed for good (the
Routing page lists and replays them) and the target goes on with the next events, so one bad
event or a receiver gone for days does not hold everything after it back forever.
"""
from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from smsd.push import intelli_format
from smsd.push import isms_format, json_format

log = logging.getLogger("smsd.push")


class Formatter(Protocol):
    """How one push protocol renders events (a module: json_format, isms_format, ...)."""

    KINDS: frozenset[str]
    BATCH: bool          # may consecutive events of one kind share one POST

    def render(self, sn: str, kind: str, payloads: list[Any]) -> tuple[bytes, str]: ...


FORMATTERS: dict[str, Any] = {"json": json_format, "isms": isms_format}


def register_formatter(protocol: str, module: Any) -> None:
    FORMATTERS[protocol] = module


for _protocol, _formatter in intelli_format.PROTOCOLS.items():
    register_formatter(_protocol, _formatter)


class EventSource(Protocol):
    def events_after(self, event_id: int, limit: int) -> Sequence[Any]: ...
    def push_cursor(self, target: str) -> int | None: ...
    def set_push_cursor(self, target: str, event_id: int) -> None: ...
    def last_event_id(self) -> int: ...


class FailureSink(Protocol):
    """Where given-up pushes go (smsd.store.push_failed.PushFailures)."""

    def park(self, target: str, event_ids: Sequence[int], error: str, attempts: int) -> None: ...


@dataclass
class PushTarget:
    url: str
    dialect: str = "json"
    name: str = ""                       # durable cursor key; default "<dialect>:<url>"
    match: Callable[[str, Any], bool] | None = None   # route filter on (kind, payload)
    retry: float | None = None           # fixed retry interval; default the formatter's RETRY
    give_up: float | None = None         # seconds of refusals after which a batch is parked
    failing_since: float | None = None   # monotonic time of the current batch's first failure
    attempts: int = 0                    # of the current batch
    backoff: float = 0.0                 # current back-off, seconds
    next_try: float = 0.0                # monotonic time of the next attempt
    delivered: int = 0
    failures: int = 0
    last_error: str = ""

    @property
    def key(self) -> str:
        return self.name or f"{self.dialect}:{self.url}"

    @property
    def formatter(self) -> Any:
        return FORMATTERS[self.dialect]

    def wants(self, kind: str, payload: Any) -> bool:
        accepts = getattr(self.formatter, "accepts", None)    # a formatter may skip events
        return kind in self.formatter.KINDS and (self.match is None or self.match(kind, payload)) \
            and (accepts is None or accepts(kind, payload))

    @property
    def fixed_retry(self) -> float | None:
        """A protocol that retries at a fixed pace (IntelliSoftware: every 5 minutes)."""
        retry = self.retry if self.retry is not None else getattr(self.formatter, "RETRY", None)
        return None if retry is None else float(retry)


def post(url: str, data: bytes, content_type: str, timeout: float) -> int:
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": content_type})
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
                 post: Callable[[str, bytes, str, float], int] = post,
                 dynamic: Callable[[], list[PushTarget]] | None = None,
                 refresh: float = 2.0, failures: FailureSink | None = None) -> None:
        super().__init__(name="push", daemon=True)
        self._store, self.targets, self._sn = store, list(targets), sn
        self._static = {t.key for t in targets}
        self._dynamic, self._refresh, self._refreshed = dynamic, refresh, float("-inf")
        self._batch, self._timeout, self._poll = batch, timeout, poll
        self._clock, self._post = clock, post
        self._failures = failures
        self._halt = threading.Event()
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
        self._halt.set()
        self._wake.set()

    def _refresh_dynamic(self) -> None:
        """Re-read routing rules now and then; keep the retry state of targets that stay."""
        if self._dynamic is None or self._clock() - self._refreshed < self._refresh:
            return
        self._refreshed = self._clock()
        current = {t.key: t for t in self.targets}
        fresh = [current.get(t.key, t) for t in self._dynamic()]
        self.targets = [t for t in self.targets if t.key in self._static] + fresh
        for target in fresh:
            if target.key not in current and self._store.push_cursor(target.key) is None:
                self._store.set_push_cursor(target.key, self._store.last_event_id())

    def run(self) -> None:
        while not self._halt.is_set():
            self.heartbeat = self._clock()
            self._refresh_dynamic()
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
        alone = events[0].kind in getattr(target.formatter, "SINGLE", ())    # one object a body
        batch = _same_kind_prefix(events) if target.formatter.BATCH and not alone \
            else list(events[:1])
        wanted = [e for e in batch if target.wants(e.kind, e.payload)]
        if wanted and not self._deliver(target, wanted):
            return False
        self._store.set_push_cursor(target.key, batch[-1].id)
        return True

    def _deliver(self, target: PushTarget, events: list[Any]) -> bool:
        kind = events[0].kind
        data, ctype = target.formatter.render(self._sn, kind, [e.payload for e in events])
        try:
            status = self._post(target.url, data, ctype, self._timeout)
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except (OSError, ValueError) as exc:
            error = str(exc) or exc.__class__.__name__
        if not error:
            target.backoff, target.delivered = 0.0, target.delivered + len(events)
            target.failing_since, target.attempts = None, 0
            _log_pushed(target, events)
            return True
        target.failures += 1
        target.attempts += 1
        target.last_error = error
        if target.failing_since is None:
            target.failing_since = self._clock()
        if self._given_up(target, events, error):
            return True
        fixed = target.fixed_retry
        target.backoff = fixed if fixed is not None else \
            min(self.MAX_BACKOFF, max(self.MIN_BACKOFF, target.backoff * 2))
        target.next_try = self._clock() + target.backoff
        log.warning("push of %d %s event(s) to %s failed (%s); retrying in %.0f s",
                    len(events), kind, target.url, error, target.backoff)
        return False


    def _given_up(self, target: PushTarget, events: list[Any], error: str) -> bool:
        """Park the batch when the target has been refusing it for its give-up time."""
        if target.give_up is None or self._failures is None or target.failing_since is None \
                or self._clock() - target.failing_since < target.give_up:
            return False
        self._failures.park(target.key, [e.id for e in events], error, target.attempts)
        log.warning("push of %d %s event(s) to %s failed for good after %d attempts (%s); "
                    "parked for replay", len(events), events[0].kind, target.url,
                    target.attempts, error)
        target.failing_since, target.attempts, target.backoff = None, 0, 0.0
        return True


def _log_pushed(target: PushTarget, events: Sequence[Any]) -> None:
    """The last step of a message's life in the log (docs/logs.md): its event was pushed."""
    if not log.isEnabledFor(logging.INFO):
        return
    for event in events:
        message_id = event.payload.get("message_id") if isinstance(event.payload, dict) else None
        if message_id is not None:
            log.info("message %s: %s pushed to %s", message_id, event.kind, target.name or
                     target.url)


def _same_kind_prefix(events: Sequence[Any]) -> list[Any]:
    first = events[0].kind
    out = []
    for event in events:
        if event.kind != first:
            break
        out.append(event)
    return out
