"""A WorkerSink that counts each port's submissions on their way up.

It sits outermost between the workers and the rest (ModemEventSink, LedSink), passes every
report on unchanged and first, and only then counts: a report is never held up or lost by the
metrics. A worker sends one part at a time, so the submit time of a port runs from its
`part_starting` (the part is durably on air, AT+CMGS goes out next) to its `part_result`.
Reports this class does not know (added to WorkerSink later) pass through untouched.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from prometheus_client.metrics import Counter, Histogram

from smsd.model import InboundPdu, PortInfo, SendResult, UssdReply
from smsd.modem.sink import WorkerSink

from .instruments import Instruments


class _PortMeters:
    """One port's children of the per-port metrics, looked up once: `labels()` builds a key and
    takes the metric's lock on every call, and a child, once made, is the same object for ever
    (nothing removes these series)."""

    __slots__ = ("label", "submit_seconds", "parts_sent", "parts_failed")

    def __init__(self, m: Instruments, port: int) -> None:
        self.label = str(port)
        self.submit_seconds: Histogram = m.submit_seconds.labels(self.label)
        self.parts_sent: Counter = m.parts_sent.labels(self.label)
        self.parts_failed: Counter = m.parts_failed.labels(self.label)


class SendTimes:
    """When each port last had a part accepted (wall clock), for the "last successful send"
    gauges: moved by MetricsSink as parts go out, merged once with the database's record
    (queries.last_sent) at the first scrape, so a restart does not forget the last send. The
    database is read on the scraping thread only, never on a worker's."""

    def __init__(self, seed: Callable[[], dict[int, float]] | None = None) -> None:
        self._seed = seed
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def note(self, port: int, when: float) -> None:
        with self._lock:
            self._last[port] = max(when, self._last.get(port, 0.0))

    def last(self) -> dict[int, float]:
        seed, self._seed = self._seed, None
        for port, when in (seed() if seed is not None else {}).items():
            self.note(port, when)
        with self._lock:
            return dict(self._last)


class MetricsSink:
    def __init__(self, sink: WorkerSink, instruments: Instruments, times: SendTimes, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self._sink, self._m, self._times = sink, instruments, times
        self._clock, self._wall = clock, wall
        self._started: dict[int, float] = {}       # port -> when its part went on air
        self._meters: dict[int, _PortMeters] = {}

    def part_starting(self, port: int, part_id: int) -> bool:
        going = self._sink.part_starting(port, part_id)
        if going:
            self._started[port] = self._clock()
        return going

    def part_result(self, port: int, result: SendResult) -> None:
        self._sink.part_result(port, result)
        self._count(port, result)

    def _count(self, port: int, result: SendResult) -> None:
        meters = self._meters.get(port)
        if meters is None:       # each port's worker is the only one to count for it
            meters = self._meters[port] = _PortMeters(self._m, port)
        started = self._started.pop(port, None)
        if started is not None and result.on_air:
            meters.submit_seconds.observe(max(0.0, self._clock() - started))
        if result.ok:
            meters.parts_sent.inc()
            self._times.note(port, self._wall())
            return
        meters.parts_failed.inc()
        if result.cms is not None:
            self._m.cms_errors.labels(meters.label, str(result.cms)).inc()

    def inbound(self, msg: InboundPdu) -> None:
        self._sink.inbound(msg)

    def ussd_reply(self, reply: UssdReply) -> None:
        self._sink.ussd_reply(reply)

    def port_changed(self, info: PortInfo) -> None:
        self._sink.port_changed(info)

    def __getattr__(self, name: str) -> Any:
        # Any other report of the workers (calls, SIM toolkit, ...) goes straight through.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._sink, name)
