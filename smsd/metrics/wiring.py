"""The daemon's one handle on monitoring: made right after the store, it wraps the workers'
sink (before the workers start) and the WSGI app (before HTTP starts), and gives the HTTP
server its /health answer."""
from __future__ import annotations

from typing import Callable

from smsd.api.auth import HttpAuth
from smsd.modem.sink import WorkerSink
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store.db import Store

from .collector import PushView, StateCollector
from .health import ServiceHealth
from .http import MetricsEndpoint, Wsgi, count_requests, serve_metrics
from .instruments import Instruments
from .queries import OpsQueries
from .sends import MetricsSink, SendTimes


class Monitoring:
    def __init__(self, store: Store, *, open_on_loopback: bool = True) -> None:
        self.instruments = Instruments()
        self._store = store
        self.queries = OpsQueries(store.db)
        self.times = SendTimes(self.queries.last_sent)
        self._open_on_loopback = open_on_loopback

    def sink(self, sink: WorkerSink) -> WorkerSink:
        return MetricsSink(sink, self.instruments, self.times)

    def serve(self, app: Wsgi, svc: Service, auth: HttpAuth,
              push: Callable[[], PushView | None]) -> Wsgi:
        """`app` with /metrics in front of it and every answer counted."""
        self.instruments.registry.register(StateCollector(svc, self.queries, self.times,
                                                          push=push))
        endpoint = MetricsEndpoint(self.instruments.registry, auth,
                                   open_on_loopback=self._open_on_loopback)
        return count_requests(serve_metrics(app, endpoint), self.instruments.http_requests)

    def health(self, scheduler: Scheduler, svc: Service) -> ServiceHealth:
        return ServiceHealth(self._store.settings, scheduler, svc.ports.info)
