"""The counters and histograms fed as things happen, in one registry per daemon.

A registry of its own (not prometheus_client's global one): a test process that starts several
daemons' parts, or imports this twice, never mixes their numbers, and nothing a library
registers globally shows up on our page uninvited.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.process_collector import ProcessCollector

# Seconds from AT+CMGS to its answer: a few hundred ms on LTE, seconds on a busy 2G cell; the
# worker gives up on a submit after a minute or so.
SUBMIT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)


class Instruments:
    """Everything /metrics serves: the registry, and in it the event-fed metrics; the
    state read at scrape time is a collector the daemon adds (collector.StateCollector)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # process_resident_memory_bytes, process_cpu_seconds_total, open fds, start time (Linux)
        ProcessCollector(registry=self.registry)
        self.http_requests = Counter(
            "smsd_http_requests", "HTTP requests answered, by API dialect (or console, "
            "metrics, other) and status code", ("dialect", "status"), registry=self.registry)
        self.parts_sent = Counter(
            "smsd_port_parts_sent", "SMS parts the network accepted (+CMGS), per port",
            ("port",), registry=self.registry)
        self.parts_failed = Counter(
            "smsd_port_parts_failed", "SMS part submissions that failed, per port (a failed part "
            "may be retried on another port)", ("port",), registry=self.registry)
        self.cms_errors = Counter(
            "smsd_port_cms_errors", "+CMS ERROR answers to a submission, per port and code",
            ("port", "code"), registry=self.registry)
        self.submit_seconds = Histogram(
            "smsd_port_submit_seconds", "Time from handing a part to the modem to the network's "
            "answer, per port", ("port",), buckets=SUBMIT_BUCKETS, registry=self.registry)
