"""The remote tunnel (smsd/drp, docs/remote.md) as metric families: whether the box is
connected to its relay, and since when. Nothing when no tunnel is configured."""
from __future__ import annotations

import calendar
import time
from typing import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from smsd.service import Service


def remote_families(svc: Service) -> Iterable[Metric]:
    status = svc.remote.status()
    if status is None:
        return
    connected = GaugeMetricFamily("smsd_remote_connected", "1 while the box is connected to "
                                  "its DRP relay ([remote] server)", labels=("server",))
    connected.add_metric((str(status["server"]),), 1 if status["connected"] else 0)
    yield connected
    since = str(status.get("since") or "")
    if since:
        changed = GaugeMetricFamily("smsd_remote_state_since_seconds", "Unix time of the "
                                    "tunnel's last change between connected and not")
        changed.add_metric((), float(calendar.timegm(time.strptime(since,
                                                                   "%Y-%m-%dT%H:%M:%SZ"))))
        yield changed
