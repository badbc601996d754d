"""The pieces that show a port's recoveries (docs/recovery.md), one by one: the [modem] waits,
the dashboard's line, get_port_info's object, the metric families, and the inbox's refusal of
a delivery the network repeated. The whole path runs in tests/e2e/test_faults.py."""
from __future__ import annotations


import pytest
from prometheus_client.core import Metric

from smsd.api.json_recovery import recovery
from smsd.metrics.recovery import recovery_families
from smsd.model import STATE_QUARANTINED, STATE_READY, STATE_RECOVERING, PortInfo
from smsd.modem import timing
from smsd.store import Store
from smsd.web.dashboard import recovery_text

CLIMBING = PortInfo(0, state=STATE_RECOVERING, recovery_step="reopen",
                    recovery_reason="port lost (EIO)", recoveries=2)
BACK = PortInfo(1, state=STATE_READY, recovery_reason="no answer to 'AT+CSQ'",
                recovered_by="reset_line", recoveries=1)
STUCK = PortInfo(2, state=STATE_QUARANTINED, recovery_step="quarantine",
                 recovery_reason="port lost (EIO)", recovered_by="quarantine", recoveries=1)


def test_modem_waits_from_the_config() -> None:
    t = timing.from_config({"command_timeout": "1.5", "quarantine_retry": "20"})
    assert (t.command, t.quarantine_retry, t.boot) == (1.5, 20.0, timing.Timing().boot)
    for bad in ({"command_timeout": "0"}, {"reappear": "soon"}, {"boot_timeout": "nan"},
                {"probe_timeout": "1e9"}):
        with pytest.raises(ValueError, match=r"\[modem\]"):
            timing.from_config(bad)


def test_dashboard_line() -> None:
    assert recovery_text(PortInfo(3)) == "healthy"
    assert recovery_text(CLIMBING) == "reopen: port lost (EIO)"
    assert recovery_text(BACK) == "healthy; last: no answer to 'AT+CSQ' (by reset_line, 1 in all)"
    assert recovery_text(STUCK) == "quarantine: port lost (EIO)"


def test_get_port_info_object() -> None:
    assert recovery(BACK) == {"state": "ready", "step": "", "reason": "no answer to 'AT+CSQ'",
                              "recovered_by": "reset_line", "count": 1}
    assert recovery(STUCK)["state"] == "quarantined"


def samples(families: list[Metric]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in families for s in f.samples}


def test_metric_families() -> None:
    got = samples(list(recovery_families([PortInfo(3), CLIMBING, BACK])))
    assert got[("smsd_port_recoveries_total", (("port", "3"),))] == 0
    assert got[("smsd_port_recoveries_total", (("port", "0"),))] == 2
    last = [k for k in got if k[0] == "smsd_port_last_recovery"]
    assert sorted(dict(k[1])["port"] for k in last) == ["0", "1"]      # none for a healthy one
    assert ("smsd_port_last_recovery", (("port", "1"), ("reason", "no answer to 'AT+CSQ'"),
                                        ("recovered_by", "reset_line"))) in got


def test_a_repeated_delivery_is_stored_once(store: Store) -> None:
    def add(text: str, scts: float | None, imsi: str = "234100000000001",
            concat: tuple[int, int, int] | None = None) -> int | None:
        return store.inbox.add_inbound(port=0, slot=255, imsi=imsi, sender="+447700900111",
                                       smsc="+447990000001", scts=scts, text=text,
                                       concat=concat, now=1_800_000_100.0)
    assert add("hello", 1_800_000_000.0)
    assert add("hello", 1_800_000_000.0) is None                # the network's repeat
    assert add("hello", 1_800_000_060.0)                        # sent again a minute later
    assert add("hello", 1_800_000_000.0, imsi="234100000000002")   # another SIM's copy
    assert add("hello", None) and add("hello", None)            # no stamp: nothing to compare
    assert add("long ", 1_800_000_000.0, concat=(7, 2, 1)) is None
    assert add("one", 1_800_000_000.0, concat=(7, 2, 2))
    assert add("long ", 1_800_000_000.0, concat=(7, 2, 1)) is None
    assert add("one", 1_800_000_000.0, concat=(7, 2, 2)) is None   # the whole repeat
    texts = [m.text for m in store.inbox.query_incoming(flag="all").sms]
    assert texts.count("hello") == 5 and texts.count("long one") == 1
