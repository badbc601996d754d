"""The live state as metric families, read when /metrics is scraped.

Labels stay few and bounded: `port` is the port number as the JSON API counts it (from 0);
texts that change (operator, registration, worker state, recovery step) are labels of one
`smsd_port_info` gauge whose value is 1, the usual "info" pattern, so a change is a new series
rather than a new metric. A push target is labelled by its cursor key with any user name,
password or query string of its URL left out (they may hold secrets).
"""
from __future__ import annotations

import dataclasses
import time
import urllib.parse
from typing import Callable, Iterable, Protocol, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import smsd
from smsd.model import REG_OK, PortInfo
from smsd.portcfg import PERIODS
from smsd.service import Service

from .queries import DAY, OpsQueries
from .recovery import recovery_families
from .remote import remote_families
from .sends import SendTimes


class PushTargetView(Protocol):
    """What the collector reads of a push target (smsd.push.worker.PushTarget)."""

    @property
    def key(self) -> str: ...
    delivered: int
    failures: int
    failing_since: float | None


class PushView(Protocol):
    """The push worker as the collector sees it: its current targets."""

    @property
    def targets(self) -> Sequence[PushTargetView]: ...


def target_label(key: str) -> str:
    """A push cursor key ("json:http://user:pw@host/p?token=x" or "route:3") without the
    URL's credentials and query."""
    kind, sep, url = key.partition(":")
    if not sep or "//" not in url:
        return key
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return f"{kind}:{urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, '', ''))}"


class StateCollector(Collector):
    def __init__(self, svc: Service, queries: OpsQueries, times: SendTimes, *,
                 push: Callable[[], PushView | None] = lambda: None,
                 clock: Callable[[], float] = time.time) -> None:
        self._svc, self._q, self._times = svc, queries, times
        self._push, self._clock = push, clock

    def describe(self) -> Iterable[Metric]:
        return []        # not asked at registration: that would read the database at start

    def collect(self) -> Iterable[Metric]:
        now = self._clock()
        info = self._svc.ports.info()
        yield from self._build_info()
        yield from self._ports(info)
        yield from recovery_families(info)
        yield from self._port_counts()
        yield from self._limits(info, now)
        yield from self._sims()
        yield from self._queue(now)
        yield from self._sends(now)
        yield from self._reports(now)
        yield from self._pushes()
        yield from remote_families(self._svc)

    def _build_info(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("smsd_build_info", "The running smsd", labels=("version",))
        family.add_metric((smsd.__version__,), 1)
        yield family

    def _ports(self, ports: list[PortInfo]) -> Iterable[Metric]:
        signal = GaugeMetricFamily("smsd_port_signal_rssi", "Signal quality of the port's "
                                   "modem, +CSQ rssi 0..31 (0 also when unknown)", labels=("port",))
        registered = GaugeMetricFamily("smsd_port_registered", "1 when the port is registered "
                                       "on its network", labels=("port",))
        can_send = GaugeMetricFamily("smsd_port_can_send", "1 when the port is ready and "
                                     "registered, so it can send", labels=("port",))
        recovering = GaugeMetricFamily("smsd_port_recovering", "1 while the port's worker is "
                                       "recovering its modem (see smsd_port_info's "
                                       "recovery_step)", labels=("port",))
        details = GaugeMetricFamily(
            "smsd_port_info", "The port as its worker last saw it (value always 1)",
            labels=("port", "state", "reg", "operator", "type", "recovery_step"))
        for p in ports:
            label = str(p.port)
            signal.add_metric((label,), p.signal)
            registered.add_metric((label,), 1 if p.reg == REG_OK else 0)
            can_send.add_metric((label,), 1 if p.can_send else 0)
            recovering.add_metric((label,), 1 if p.recovery_step else 0)
            details.add_metric((label, p.state, p.reg, p.operator, p.type, p.recovery_step), 1)
        yield from (signal, registered, can_send, recovering, details)
        total = GaugeMetricFamily("smsd_ports", "Modem ports of the box")
        total.add_metric((), len(ports))
        up = GaugeMetricFamily("smsd_ports_registered", "Ports registered on their network")
        up.add_metric((), sum(p.reg == REG_OK for p in ports))
        yield from (total, up)

    def _port_counts(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "smsd_port_messages_24h", "Messages per port and status in the last 24 hours, as "
            "the outbox records them (SENT_OK, DELIVERED, FAILED, UNKNOWN, SENDING)",
            labels=("port", "status"))
        for port, counts in sorted(self._svc.search.port_counts(None).items()):
            for status, count in sorted(counts.items()):
                family.add_metric((str(port), status), count)
        yield family

    def _limits(self, ports: list[PortInfo], now: float) -> Iterable[Metric]:
        """The ports' sending limits that are set (max_parts_per_day, _month) and their use."""
        config = self._svc.ports.config
        limit = GaugeMetricFamily("smsd_port_limit_parts", "A port's limit of parts per period "
                                  "(only limits that are set)", labels=("port", "period"))
        used = GaugeMetricFamily("smsd_port_limit_used_parts", "Parts the port sent in the "
                                 "current period of a limit", labels=("port", "period"))
        for p in ports:
            counts = config.period_counts(p.port, now)
            for key in PERIODS:
                if key in counts:
                    period = key.rpartition("_")[2]            # day | month
                    limit.add_metric((str(p.port), period), int(config.get(p.port, key)))
                    used.add_metric((str(p.port), period), counts[key])
        yield from (limit, used)

    def _sims(self) -> Iterable[Metric]:
        """Each port's active SIM: what its budgets still allow (those set), and its block."""
        remaining = GaugeMetricFamily(
            "smsd_sim_remaining", "What the port's active SIM may still use of a budget that is "
            "set: credit, monthly/daily parts, daily/hourly call minutes, daily calls",
            labels=("port", "slot", "budget"))
        blocked = GaugeMetricFamily("smsd_sim_blocked", "1 when the port's active SIM is "
                                    "blocked from sending", labels=("port", "slot"))
        for view in self._svc.sims.views():
            where = (str(view.port), str(view.slot))
            blocked.add_metric(where, 1 if view.blocked else 0)
            for budget, left in dataclasses.asdict(view.remaining).items():
                if left is not None:
                    remaining.add_metric((*where, budget), float(left))
        yield from (remaining, blocked)

    def _queue(self, now: float) -> Iterable[Metric]:
        depth = GaugeMetricFamily("smsd_queue_messages", "Messages accepted and not yet final "
                                  "(waiting for a port or being sent)")
        depth.add_metric((), self._svc.sending.in_queue())
        oldest = GaugeMetricFamily("smsd_queue_oldest_age_seconds", "Age of the oldest message "
                                   "still waiting for a port (0 when none waits)")
        accepted = self._q.oldest_waiting()
        oldest.add_metric((), 0.0 if accepted is None else max(0.0, now - accepted))
        yield from (depth, oldest)

    def _sends(self, now: float) -> Iterable[Metric]:
        last = self._times.last()
        per_port = GaugeMetricFamily("smsd_port_last_send_timestamp_seconds", "When the port "
                                     "last had a part accepted by the network (epoch seconds)",
                                     labels=("port",))
        for port, when in sorted(last.items()):
            per_port.add_metric((str(port),), when)
        yield per_port
        if last:          # absent, not 0 or +Inf, while nothing was ever sent
            age = GaugeMetricFamily("smsd_last_send_age_seconds", "Seconds since any port last "
                                    "had a part accepted by the network")
            age.add_metric((), max(0.0, now - max(last.values())))
            yield age

    def _reports(self, now: float) -> Iterable[Metric]:
        counts = self._q.status_reports(now - DAY)
        reports = GaugeMetricFamily("smsd_status_reports_24h", "Status reports received in the "
                                    "last 24 hours, by whether they matched a sent part",
                                    labels=("matched",))
        reports.add_metric(("yes",), counts.matched)
        reports.add_metric(("no",), counts.unmatched)
        yield reports
        if counts.match_ratio is not None:
            ratio = GaugeMetricFamily("smsd_status_report_match_ratio", "Share of the last 24 "
                                      "hours' status reports matched to a sent part (0..1)")
            ratio.add_metric((), counts.match_ratio)
            yield ratio

    def _pushes(self) -> Iterable[Metric]:
        backlog = GaugeMetricFamily("smsd_push_backlog_events", "Events a push target has not "
                                    "yet passed (delivered or skipped)", labels=("target",))
        delivered = CounterMetricFamily("smsd_push_delivered_events", "Events delivered to a "
                                        "push target since the start", labels=("target",))
        failures = CounterMetricFamily("smsd_push_failures", "Failed push attempts to a target "
                                       "since the start", labels=("target",))
        failing = GaugeMetricFamily("smsd_push_failing", "1 while a push target refuses its "
                                    "current batch", labels=("target",))
        push = self._push()
        cursors, last = self._q.push_cursors(), self._q.last_event_id()
        for target in list(push.targets) if push is not None else []:
            label = target_label(target.key)
            backlog.add_metric((label,), max(0, last - cursors.get(target.key, last)))
            delivered.add_metric((label,), target.delivered)
            failures.add_metric((label,), target.failures)
            failing.add_metric((label,), 0 if target.failing_since is None else 1)
        yield from (backlog, delivered, failures, failing)
        total = GaugeMetricFamily("smsd_push_backlog_total_events", "The push backlog summed "
                                  "over every target")
        total.add_metric((), sum(s.value for s in backlog.samples))
        parked = GaugeMetricFamily("smsd_push_parked_batches", "Push batches given up on and "
                                   "parked for replay (the Routing page's list)")
        parked.add_metric((), self._q.parked_pushes())
        yield from (total, parked)
