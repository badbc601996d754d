"""The ports' recoveries as metric families (docs/recovery.md): how many each port began since
the start, and the last one's reason and ending rung. smsd_port_info's recovery_step label
shows the rung a port is on now."""
from __future__ import annotations

from typing import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from smsd.model import PortInfo


def recovery_families(ports: list[PortInfo]) -> Iterable[Metric]:
    count = CounterMetricFamily("smsd_port_recoveries", "Recoveries a port began since the "
                                "daemon started (the ladder, a modem that restarted by itself, "
                                "a full SIM store read out)", labels=("port",))
    last = GaugeMetricFamily("smsd_port_last_recovery", "The port's last recovery: why it "
                             "began and the rung that ended it ('quarantine' when none did; "
                             "'' while it runs); value always 1",
                             labels=("port", "reason", "recovered_by"))
    for p in ports:
        count.add_metric((str(p.port),), p.recoveries)
        if p.recoveries:
            last.add_metric((str(p.port), p.recovery_reason, p.recovered_by), 1)
    yield from (count, last)
