"""Per-port settings: validation, persistence, and their effect on the scheduler's dispatch.

The scheduler runs its passes on the test's thread with a fake clock; workers only record what
they are handed, so the test sees exactly which port got which part and when.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from fakes import ready_info
from smsd.errors import BadRequest
from smsd.model import ModemJob, PortInfo, Recipient, SendRequest
from smsd.modem.jobs import Refresh, SendPart
from smsd.pdu import decode
from smsd.api.ozeki_settings import in_ozeki_words, to_core, to_ozeki
from smsd.portcfg import KEYS, BadSetting, PortConfig, parse_values
from smsd.scheduler import Scheduler
from smsd.service import Service
from smsd.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A worker that never finishes a part: what the scheduler hands it is all we look at."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.jobs: list[ModemJob] = []

    @property
    def info(self) -> PortInfo:
        return ready_info(self.port)

    def submit(self, job: ModemJob) -> None:
        self.jobs.append(job)

    def parts(self) -> list[SendPart]:
        return [j for j in self.jobs if isinstance(j, SendPart)]


class Rig:
    def __init__(self, path: Path, ports: int = 2) -> None:
        self.clock = Clock()
        self.store = Store(str(path))
        self.sched = Scheduler(self.store, depth=20, clock=self.clock)
        self.workers = {p: Recorder(p) for p in range(ports)}
        self.sched.attach(self.workers)
        self.svc = Service(self.store, self.sched, self.workers, clock=self.clock)

    def send(self, n: int, ports: tuple[int, ...] | None = None, text: str = "hi") -> None:
        recipients = tuple(Recipient(f"+4477009{i:05d}") for i in range(n))
        self.svc.sending.send_sms(SendRequest(text, recipients, ports=ports))

    def handed(self) -> dict[int, int]:
        self.sched.dispatch_once()
        return {p: len(w.parts()) for p, w in self.workers.items()}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path / "db.sqlite")
    yield r
    r.store.close()


def ozeki_parse(values: dict[str, Any]) -> dict[str, str]:
    """The core's validation of settings an Ozeki client names (smsd/api/ozeki_settings.py)."""
    try:
        return to_ozeki(parse_values(to_core(values)))
    except BadSetting as exc:
        raise in_ozeki_words(exc) from None


def test_values_are_validated_and_canonical() -> None:
    assert ozeki_parse({"send": "No", "LimitToMPM": "2", "preferedcharset": "ucs2",
                         "SMSServiceCenterAddress": "+447785016005"}) == {
        "SEND": "off", "LIMITTOMPM": "2", "PREFEREDCHARSET": "UCS2",
        "SMSSERVICECENTERADDRESS": "+447785016005"}
    assert ozeki_parse({"DELIVERYREPORT": True, "KEEPALIVEPERIOD": 45}) == {
        "DELIVERYREPORT": "on", "KEEPALIVEPERIOD": "45"}
    for bad in ({"BAUDRATE": "9600"}, {"SEND": "maybe"}, {"PINCODE": "12"},
                {"SUBMITTIMEOUT": "0"}, {"PREFEREDCHARSET": "latin1"}, {"PROTOCOL": "SMPP"}):
        with pytest.raises(BadRequest) as err:
            ozeki_parse(bad)
        assert next(iter(bad)).upper() in str(err.value)
    with pytest.raises(BadRequest, match="supported: SEND, RECEIVE"):
        ozeki_parse({"GPRSAPN": "internet"})


def test_settings_persist_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "db.sqlite"))
    PortConfig(store.port_settings).put(1, to_core({"LIMITTOMPM": "5", "SEND": "off"}))
    store.close()
    again = PortConfig(Store(str(tmp_path / "db.sqlite")).port_settings)
    shown = to_ozeki(again.effective(1))
    assert shown["LIMITTOMPM"] == "5" and shown["SEND"] == "off"
    assert again.effective(0) == {k: spec.default for k, spec in KEYS.items()}
    again.clear(1)
    assert again.stored(1) == {}


def test_limit_per_minute_is_a_sliding_window(rig: Rig) -> None:
    rig.svc.ports.set_settings(0, max_parts_per_minute=2)
    rig.send(5, ports=(0,))
    assert rig.handed()[0] == 2
    rig.clock.now += 30
    assert rig.handed()[0] == 2                  # still inside the minute
    delay = rig.sched.dispatch_once()
    assert 29 < delay <= 30.01                   # it wakes when the window frees a place
    rig.clock.now += 30.5
    assert rig.handed()[0] == 4
    rig.clock.now += 61
    assert rig.handed()[0] == 5


def test_send_off_and_stopped_ports_get_nothing(rig: Rig) -> None:
    rig.svc.ports.set_settings(0, send="off")
    rig.send(4)
    assert rig.handed() == {0: 0, 1: 4}
    rig.svc.ports.set_settings(0, send="on")
    rig.svc.ports.connection_run("GSMModem1", False)
    rig.send(3)
    # Port 1 gives back the 4 parts it never started; port 0 gets them and the 3 new ones.
    assert rig.handed() == {0: 7, 1: 4}
    ports = rig.store.db.conn().execute(
        "SELECT DISTINCT port FROM parts WHERE status = 'leased'").fetchall()
    assert ports == [(0,)]
    assert any(isinstance(j, Refresh) for j in rig.workers[1].jobs)   # the worker was told


def test_stopping_a_port_takes_back_parts_it_has_not_started(rig: Rig) -> None:
    rig.send(2, ports=(0, 1))
    rig.handed()
    rig.svc.ports.connection_run("GSMModem0", False)
    leased = rig.store.db.conn().execute(
        "SELECT count(*) FROM parts WHERE status = 'leased' AND port = 0").fetchone()[0]
    assert leased == 0


def test_charset_and_status_report_settings_shape_the_pdus(rig: Rig) -> None:
    rig.svc.ports.set_settings(1, charset="UCS2", status_reports="off")
    rig.send(1, ports=(0,), text="hello")
    rig.send(1, ports=(1,), text="hello")
    rig.handed()
    [p0] = [decode(p.pdu_hex) for p in rig.workers[0].parts()]
    [p1] = [decode(p.pdu_hex) for p in rig.workers[1].parts()]
    assert (p0.encoding, p0.status_report_requested) == ("gsm7", True)
    assert (p1.encoding, p1.status_report_requested, p1.text) == ("ucs2", False, "hello")


def test_connections_bind_names_to_ports(rig: Rig) -> None:
    assert [d.name for d in rig.svc.ports.connections()] == ["GSMModem0", "GSMModem1"]
    made = rig.svc.ports.connection_create("GSMModem", "Alpha")
    assert (made.name, made.port) == ("Alpha", 0)
    assert rig.svc.ports.connection_create("gsm").port == 1                # the next port without a name
    with pytest.raises(BadRequest, match="every modem port"):
        rig.svc.ports.connection_create("GSMModem")
    with pytest.raises(BadRequest, match="SMPP.*not supported"):
        rig.svc.ports.connection_create("SMPP")
    assert rig.svc.ports.connection_port("alpha") == 0
    rig.svc.ports.connection_config("Alpha", to_core({"LIMITTOMPM": "3"}))
    assert rig.svc.ports.connection_delete("Alpha") == 0
    assert to_ozeki(rig.svc.ports.settings(0))["LIMITTOMPM"] == "0"         # back to defaults
    assert rig.svc.ports.connection_port("GSMModem0") == 0
    with pytest.raises(BadRequest, match="built-in"):
        rig.svc.ports.connection_delete("GSMModem0")
    with pytest.raises(BadRequest, match="no port 7"):
        rig.svc.ports.settings(7)
