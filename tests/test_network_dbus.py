"""Network configuration against a private system bus: networkd, hostnamed and timedated are
python-dbusmock objects (timedated from dbusmock's own template, the other two from
tests/network_mocks/), and the tests read back the calls they received."""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

if shutil.which("dbus-daemon") is None:
    pytest.skip("dbus-daemon is not installed (apt-get install dbus): no private system bus "
                "for the D-Bus network tests", allow_module_level=True)

import dbus  # noqa: E402
import dbusmock  # noqa: E402
from dbusmock.testcase import BusType, PrivateDBus, SpawnedMock  # noqa: E402

from e2e.harness import reserved_port  # noqa: E402
from smsd.errors import NotFound, ServiceError  # noqa: E402
from smsd.scheduler import Scheduler  # noqa: E402
from smsd.service import Service  # noqa: E402
from smsd.store import Store  # noqa: E402
from smsd.system.network import (MANAGED_FILE, ChangePending, InvalidNetworkSettings,  # noqa: E402
                                 NetworkBusError, NetworkSettings, NetworkUnavailable,
                                 UnknownChange, read_file, render)
from smsd.system.network_bus import SystemBus  # noqa: E402
from smsd.system.network_config import RECORD_FILE, NetworkConfigurator  # noqa: E402

MOCKS = Path(__file__).parent / "network_mocks"
ADDR_ENV = "DBUS_SYSTEM_BUS_ADDRESS"
OLD_FILE = "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n"     # the image's factory file
NEW = NetworkSettings(interface="eth0", dhcp=False, address="192.168.7.50", prefix=24,
                      gateway="192.168.7.1", dns=("192.168.7.1",), ntp_servers=("192.168.7.1",),
                      hostname="sms-gw", timezone="America/New_York", ntp=False)


@dataclass
class Mocks:
    networkd: Any
    hostnamed: Any
    timedated: Any

    def all(self) -> list[Any]:
        return [self.networkd, self.hostnamed, self.timedated]


@pytest.fixture(scope="module")
def mocks() -> Iterator[Mocks]:
    saved = os.environ.get(ADDR_ENV)
    bus = PrivateDBus(BusType.SYSTEM)
    bus.start()                       # sets DBUS_SYSTEM_BUS_ADDRESS for dbus-next too
    spawned: list[SpawnedMock] = []
    try:
        for template, params in ((str(MOCKS / "networkd.py"), {"links": {"eth0": 2, "eth1": 3}}),
                                 (str(MOCKS / "hostnamed.py"), {"StaticHostname": "smsd"}),
                                 ("timedated", {"Timezone": "Europe/London", "NTP": True})):
            spawned.append(SpawnedMock.spawn_with_template(template, params,
                                                           bustype=BusType.SYSTEM))
        yield Mocks(*(dbus.Interface(s.obj, dbusmock.MOCK_IFACE) for s in spawned))
    finally:
        for s in spawned:
            s.terminate()
        bus.stop()
        if saved is None:
            os.environ.pop(ADDR_ENV, None)
        else:
            os.environ[ADDR_ENV] = saved


@pytest.fixture()
def fresh(mocks: Mocks) -> Mocks:
    for mock in mocks.all():
        mock.Reset()                  # templates re-loaded: properties back to their start values
        mock.ClearCalls()
    return mocks


class FakeTimers:
    """Timers on a hand-turned clock: `advance` fires what falls due."""

    def __init__(self) -> None:
        self.now = 0.0
        self.due: list[list[Any]] = []

    def call_later(self, delay: float, fn: Callable[[], None]) -> Callable[[], None]:
        entry = [self.now + delay, fn, False]
        self.due.append(entry)
        return lambda: entry.__setitem__(2, True)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for entry in list(self.due):
            if not entry[2] and entry[0] <= self.now:
                entry[2] = True
                entry[1]()

    def clock(self) -> float:
        return self.now


@dataclass
class Box:
    net: NetworkConfigurator
    timers: FakeTimers
    netdir: Path
    state: Path

    @property
    def file(self) -> str | None:
        return read_file(str(self.netdir / MANAGED_FILE))

    @property
    def record(self) -> Path:
        return self.state / RECORD_FILE

    def again(self) -> NetworkConfigurator:
        """A configurator of a restarted daemon on the same directories."""
        return make(self.netdir, self.state, self.timers)


def make(netdir: Path, state: Path, timers: FakeTimers) -> NetworkConfigurator:
    return NetworkConfigurator(str(state), directory=str(netdir), interface="eth0",
                               timers=timers, clock=timers.clock)


@pytest.fixture()
def box(fresh: Mocks, tmp_path: Path) -> Box:
    netdir, state = tmp_path / "network", tmp_path / "state"
    netdir.mkdir()
    state.mkdir()
    (netdir / MANAGED_FILE).write_text(OLD_FILE)
    timers = FakeTimers()
    return Box(make(netdir, state, timers), timers, netdir, state)


def calls(mock: Any) -> list[tuple[str, list[Any]]]:
    return [(str(name), [_plain(a) for a in args]) for _, name, args in mock.GetCalls()]


def _plain(value: Any) -> Any:
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Int32, dbus.Int64, dbus.UInt32)):
        return int(value)
    return str(value)


def clear(mocks: Mocks) -> None:
    for mock in mocks.all():
        mock.ClearCalls()


def assert_applied(mocks: Mocks, hostname: str, tz: str, ntp: bool,
                   links: list[tuple[str, int]], checked: str | None = None) -> None:
    """`checked`: apply() first asks networkd whether the new settings' link exists."""
    expected: list[tuple[str, list[Any]]] = [] if checked is None else [
        ("GetLinkByName", [checked])]
    expected.append(("Reload", []))
    for name, index in links:
        expected += [("GetLinkByName", [name]), ("ReconfigureLink", [index])]
    assert calls(mocks.networkd) == expected
    assert calls(mocks.hostnamed) == [("SetStaticHostname", [hostname, False]),
                                      ("SetHostname", [hostname, False])]
    assert calls(mocks.timedated) == [("SetTimezone", [tz, False]), ("SetNTP", [ntp, False])]


# --- the bus client ------------------------------------------------------------------------------
def test_bus_client_reads_the_properties_and_reports_failures(fresh: Mocks) -> None:
    bus = SystemBus()
    assert (bus.hostname(), bus.timezone(), bus.ntp()) == ("smsd", "Europe/London", True)
    assert bus.link_index("eth1") == 3
    with pytest.raises(NetworkBusError, match="GetLinkByName.*NoSuchLink"):
        bus.link_index("wlan9")


# --- apply, confirm, roll back -----------------------------------------------------------------
def test_apply_writes_the_file_and_tells_the_daemons(box: Box, fresh: Mocks) -> None:
    change = box.net.apply(NEW, confirm_within=60)
    assert box.file == render(NEW)
    assert_applied(fresh, "sms-gw", "America/New_York", False, [("eth0", 2)], checked="eth0")
    assert box.net.current() == NEW          # file + what hostnamed/timedated now report
    pending = box.net.pending()
    assert pending is not None and pending.change_id == change and pending.settings == NEW
    box.timers.advance(20)
    assert box.net.pending().seconds_left == pytest.approx(40)   # type: ignore[union-attr]
    assert box.record.exists()


def test_confirm_within_the_window_keeps_the_change(box: Box, fresh: Mocks) -> None:
    change = box.net.apply(NEW, confirm_within=60)
    box.timers.advance(59)
    box.net.confirm(change)
    clear(fresh)
    box.timers.advance(3600)
    assert box.file == render(NEW) and box.net.pending() is None
    assert all(calls(m) == [] for m in fresh.all())     # nothing rolled back
    assert not box.record.exists()
    with pytest.raises(UnknownChange):
        box.net.confirm(change)


def test_unconfirmed_change_rolls_back(box: Box, fresh: Mocks) -> None:
    """The page that made the change cannot reach the box any more: nobody confirms."""
    change = box.net.apply(NEW, confirm_within=30)
    clear(fresh)
    box.timers.advance(29.9)
    assert box.file == render(NEW)
    box.timers.advance(0.2)
    assert box.file == OLD_FILE
    assert_applied(fresh, "smsd", "Europe/London", True, [("eth0", 2)])
    assert box.net.current() == NetworkSettings(interface="eth0", dhcp=True, hostname="smsd",
                                                timezone="Europe/London", ntp=True)
    assert box.net.pending() is None and not box.record.exists()
    with pytest.raises(UnknownChange, match="rolled back"):
        box.net.confirm(change)


def test_rollback_removes_a_file_that_was_not_there(box: Box, fresh: Mocks) -> None:
    (box.netdir / MANAGED_FILE).unlink()
    box.net.apply(replace(NEW, interface="eth1"), confirm_within=10)
    clear(fresh)
    box.timers.advance(10)
    assert box.file is None and os.listdir(box.netdir) == []
    # Both the link the change configured and the default link are reconfigured.
    assert_applied(fresh, "smsd", "Europe/London", True, [("eth1", 3), ("eth0", 2)])


def test_one_pending_change_at_a_time(box: Box, fresh: Mocks) -> None:
    first = box.net.apply(NEW, confirm_within=60)
    clear(fresh)
    with pytest.raises(ChangePending, match=first):
        box.net.apply(replace(NEW, hostname="other"), confirm_within=60)
    assert box.file == render(NEW) and all(calls(m) == [] for m in fresh.all())
    box.net.confirm(first)
    second = box.net.apply(replace(NEW, hostname="other"), confirm_within=60)
    assert second != first


@pytest.mark.parametrize("settings, window", [
    (replace(NEW, gateway="10.9.9.1"), 60),          # a router the box could not reach
    (replace(NEW, dns=("not-an-ip",)), 60),
    (replace(NEW, hostname="-bad-"), 60),
    (NEW, 0.1),
])
def test_invalid_settings_write_nothing_and_call_nobody(box: Box, fresh: Mocks,
                                                        settings: NetworkSettings,
                                                        window: float) -> None:
    with pytest.raises(InvalidNetworkSettings):
        box.net.apply(settings, confirm_within=window)
    assert box.file == OLD_FILE and not box.record.exists()
    assert all(calls(m) == [] for m in fresh.all())


def test_a_link_the_box_does_not_have_is_refused_before_writing(box: Box, fresh: Mocks) -> None:
    with pytest.raises(InvalidNetworkSettings, match="'wlan9': the box has no such network link"):
        box.net.apply(replace(NEW, interface="wlan9"), confirm_within=60)
    assert box.file == OLD_FILE and not box.record.exists()
    assert calls(fresh.networkd) == [("GetLinkByName", ["wlan9"])]
    assert calls(fresh.hostnamed) == [] and calls(fresh.timedated) == []


def refuse_time_zone(mocks: Mocks, zone: str) -> None:
    """timedated answers SetTimezone(zone) with an error, as for a zone its tzdata lacks."""
    code = (f"if args[0] == {zone!r}: raise dbus.exceptions.DBusException("
            f"'Invalid or not installed time zone', name='org.freedesktop.DBus.Error.InvalidArgs')"
            f"\nself.Set('org.freedesktop.timedate1', 'Timezone', args[0])")
    mocks.timedated.AddMethod("org.freedesktop.timedate1", "SetTimezone", "sb", "", code)


def test_a_failure_half_way_restores_the_previous_settings(box: Box, fresh: Mocks) -> None:
    refuse_time_zone(fresh, NEW.timezone)
    with pytest.raises(NetworkBusError, match="InvalidArgs.*previous settings were restored"):
        box.net.apply(NEW, confirm_within=60)
    assert box.file == OLD_FILE and box.net.pending() is None and not box.record.exists()
    assert calls(fresh.hostnamed)[-2:] == [("SetStaticHostname", ["smsd", False]),
                                           ("SetHostname", ["smsd", False])]
    assert calls(fresh.timedated) == [("SetTimezone", ["America/New_York", False]),
                                      ("SetTimezone", ["Europe/London", False]),
                                      ("SetNTP", [True, False])]
    assert SystemBus().hostname() == "smsd"


def test_rollback_that_fails_is_finished_by_the_next_change(box: Box, fresh: Mocks) -> None:
    box.net.apply(NEW, confirm_within=60)
    refuse_time_zone(fresh, "Europe/London")        # the rollback itself will fail
    box.timers.advance(60)
    assert box.record.exists() and box.net.pending() is None
    fresh.timedated.Reset()                          # timedated works again
    clear(fresh)
    box.net.apply(replace(NEW, hostname="third"), confirm_within=60)
    # First the outstanding rollback, then the new change on top of the restored settings.
    assert [c for c in calls(fresh.timedated) if c[0] == "SetTimezone"] == [
        ("SetTimezone", ["Europe/London", False]), ("SetTimezone", ["America/New_York", False])]
    clear(fresh)
    box.timers.advance(60)
    assert box.file == OLD_FILE
    assert calls(fresh.timedated)[0] == ("SetTimezone", ["Europe/London", False])


def test_restart_during_the_window_rolls_back_at_start(box: Box, fresh: Mocks) -> None:
    box.net.apply(NEW, confirm_within=60)
    box.net.close()                  # the daemon stops (or dies) before anyone confirms
    assert box.record.exists()
    clear(fresh)
    restarted = box.again()
    assert restarted.recover() is True
    assert box.file == OLD_FILE and not box.record.exists()
    assert_applied(fresh, "smsd", "Europe/London", True, [("eth0", 2)])
    clear(fresh)
    assert box.again().recover() is False
    assert all(calls(m) == [] for m in fresh.all())
    box.timers.advance(120)          # the old run's timer was stopped: nothing happens twice
    assert all(calls(m) == [] for m in fresh.all())


def test_real_timer_rolls_back(fresh: Mocks, tmp_path: Path) -> None:
    (tmp_path / MANAGED_FILE).write_text(OLD_FILE)
    net = NetworkConfigurator(str(tmp_path), directory=str(tmp_path))
    net.apply(NEW, confirm_within=1.0)
    deadline = time.monotonic() + 10
    while read_file(str(tmp_path / MANAGED_FILE)) != OLD_FILE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_file(str(tmp_path / MANAGED_FILE)) == OLD_FILE
    assert net.pending() is None and SystemBus().timezone() == "Europe/London"


# --- through the service ---------------------------------------------------------------------------
@pytest.fixture()
def service(tmp_path: Path) -> Iterator[Service]:
    store = Store(str(tmp_path / "svc.db"))
    yield Service(store, Scheduler(store), {})
    store.close()


def test_service_without_a_configurator_says_why(service: Service) -> None:
    assert service.network.managed is False
    for call in (service.network.settings, service.network.pending,
                 lambda: service.network.apply(NEW), lambda: service.network.confirm("x")):
        with pytest.raises(NetworkUnavailable, match=r"\[network\] manage = yes"):
            call()


def test_service_applies_and_confirms(service: Service, box: Box, fresh: Mocks) -> None:
    service.network.attach(box.net)
    assert service.network.settings().dhcp is True
    with pytest.raises(InvalidNetworkSettings, match="netmask"):
        service.network.apply({"netmask": "255.255.255.0"})
    change = service.network.apply({"interface": "eth0", "dhcp": False, "address": "10.0.0.9",
                                    "prefix": 8, "gateway": "10.0.0.1", "dns": ["10.0.0.1"],
                                    "hostname": "gw2", "timezone": "UTC"}, confirm_within=45)
    pending = service.network.pending()
    assert pending is not None and pending.change_id == change
    assert pending.seconds_left == 45 and pending.settings.address == "10.0.0.9"
    service.network.confirm(change)
    assert service.network.pending() is None
    assert service.network.settings().hostname == "gw2"
    with pytest.raises(NotFound):
        service.network.confirm(change)


def test_service_reports_bus_failures_as_service_errors(service: Service, box: Box,
                                                        fresh: Mocks) -> None:
    service.network.attach(box.net)
    refuse_time_zone(fresh, NEW.timezone)
    with pytest.raises(ServiceError) as err:
        service.network.apply(replace(NEW, ntp=True))     # timedated refuses the zone
    assert err.value.reason == "network_unavailable" and "restored" in str(err.value)
    assert box.file == OLD_FILE


# --- the daemon ----------------------------------------------------------------------------------
def daemon_config(tmp_path: Path, manage: bool) -> Any:
    from smsd import config
    conf = tmp_path / "smsd.conf"
    conf.write_text(f"[network]\nmanage = {'yes' if manage else 'no'}\n"
                    f"dir = {tmp_path / 'network'}\ninterface = eth0\n")
    listen = f"127.0.0.1:{reserved_port()}"
    return config.build(config.load_file(str(conf)), {
        "simulate": 1, "sim_latency": 0.05, "listen": (listen,),
        "state_dir": str(tmp_path / "state"), "admin_password": "pw"})


def test_daemon_start_rolls_back_what_the_last_run_left_unconfirmed(box: Box, fresh: Mocks,
                                                                    tmp_path: Path) -> None:
    from smsd.daemon import Daemon
    box.net.apply(NEW, confirm_within=60)
    box.net.close()                             # the daemon went down inside the window
    clear(fresh)
    daemon = Daemon(daemon_config(tmp_path, manage=True))
    daemon.start()
    try:
        assert box.file == OLD_FILE and not box.record.exists()
        assert_applied(fresh, "smsd", "Europe/London", True, [("eth0", 2)])
        assert daemon.service.network.managed
        assert daemon.service.network.settings().interface == "eth0"
    finally:
        daemon.stop()


def test_daemon_leaves_the_network_alone_unless_told(box: Box, fresh: Mocks,
                                                     tmp_path: Path) -> None:
    from smsd.daemon import Daemon
    box.net.apply(NEW, confirm_within=60)
    box.net.close()
    clear(fresh)
    daemon = Daemon(daemon_config(tmp_path, manage=False))
    daemon.start()
    try:
        assert box.file == render(NEW) and box.record.exists()
        assert all(calls(m) == [] for m in fresh.all())
        with pytest.raises(NetworkUnavailable):
            daemon.service.network.pending()
    finally:
        daemon.stop()


def test_an_unreadable_undo_record_is_set_aside(box: Box, fresh: Mocks) -> None:
    box.record.write_text('{"change_id": "x", "interface": ')
    assert box.net.recover() is False
    assert not box.record.exists() and (box.state / (RECORD_FILE + ".bad")).exists()
    assert box.file == OLD_FILE and all(calls(m) == [] for m in fresh.all())
    box.record.write_text('{"change_id": "x"}')       # valid JSON, fields missing
    assert box.net.recover() is False
