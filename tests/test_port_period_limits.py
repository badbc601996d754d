"""Daily and monthly limits of a port (max_parts_per_day, max_parts_per_month): the scheduler
hands no more parts that day or month, wakes at the next one, and a restart counts what the
port already sent in the period (from the store), not from zero."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from smsd.api.ozeki_settings import to_core
from smsd.portcfg import BadSetting, parse_values, period_end
from test_ozeki_ports import Rig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path / "db.sqlite")
    r.clock.now = time.mktime((2026, 12, 6, 10, 0, 0, 0, 0, -1))
    yield r
    r.store.close()


def test_a_daily_limit_holds_until_local_midnight(rig: Rig) -> None:
    rig.svc.ports.set_settings(0, max_parts_per_day=3)
    rig.send(5, ports=(0,))
    assert rig.handed()[0] == 3
    rig.clock.now += 120
    assert rig.handed()[0] == 3
    midnight = time.mktime((2026, 12, 7, 0, 0, 0, 0, 0, -1))
    assert rig.sched.port_config.next_free(0, rig.clock.now) == midnight
    rig.clock.now = midnight + 1
    assert rig.handed()[0] >= 5            # (the Recorder never finishes: leases come back)
    assert rig.sched.port_config.period_counts(0, rig.clock.now)["max_parts_per_day"] >= 2


def test_a_monthly_limit_and_the_other_port(rig: Rig) -> None:
    rig.svc.ports.set_settings(0, max_parts_per_month=2)
    rig.send(4)
    handed = rig.handed()
    assert handed[0] == 2 and handed[1] == 2
    rig.send(2, ports=(0,))
    rig.clock.now += 120
    assert rig.handed()[0] == 2
    assert rig.sched.port_config.next_free(0, rig.clock.now + 10 * 86400) == \
        period_end("max_parts_per_month", rig.clock.now)          # the first of January
    rig.clock.now = period_end("max_parts_per_month", rig.clock.now) + 1
    assert rig.handed()[0] >= 4


def test_a_restart_counts_what_was_sent_today(tmp_path: Path) -> None:
    first = Rig(tmp_path / "db.sqlite")
    first.clock.now = time.mktime((2026, 12, 6, 10, 0, 0, 0, 0, -1))
    first.svc.ports.set_settings(0, max_parts_per_day=3)
    first.send(2, ports=(0,))
    assert first.handed()[0] == 2
    with first.store.db.write() as conn:        # as the worker's results would have it
        conn.execute("UPDATE parts SET status = 'sent', sent = ? WHERE port = 0",
                     (first.clock.now,))
    first.store.close()
    again = Rig(tmp_path / "db.sqlite")
    try:
        again.clock.now = first.clock.now + 60
        again.send(3, ports=(0,))
        assert again.handed()[0] == 1                  # 2 of the day's 3 went before
    finally:
        again.store.close()


@pytest.mark.parametrize("value", ["-1", "x", "1.5", "10000001"])
def test_bad_limits_are_refused(value: str) -> None:
    with pytest.raises(BadSetting, match="max_parts_per_day"):
        parse_values({"max_parts_per_day": value})
    assert to_core({"LIMITPERDAY": "5"}) == {"max_parts_per_day": "5"}
