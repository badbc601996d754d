"""Applying network settings with confirm-or-rollback.

Theory of operation. A network change can cut off the very page that made it (a new address, a
wrong gateway), so every change is provisional: `apply()` first records how to undo it, then
writes the new `.network` file and tells networkd, hostnamed and timedated, and arms a timer.
Unless `confirm(change_id)` arrives before the timer fires — which proves that someone could
still reach the box under the new settings — the previous file, host name, time zone and NTP
switch come back and are re-applied the same way.

States: idle -> (apply) pending -> (confirm) idle, keeping the change
                               \\-> (timer) idle, after rolling back
Only one change may be pending; a second `apply()` is refused until the first is settled.

Crash safety: the undo record (the previous file's text, or "there was none", and the previous
host name, time zone and NTP switch) is written atomically to the state directory *before*
anything changes, and removed only when the change is confirmed or rolled back. A daemon that
starts and finds a record calls `recover()`, which rolls back: after a restart nobody can show
that the new settings let anyone in, and the deadline (a monotonic clock) did not survive. A
rollback that fails on D-Bus keeps the record, so the next start tries again.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Protocol

from smsd.system.network import (MANAGED_FILE, NO_SUCH_LINK, ChangePending, InvalidNetworkSettings,
                                 NetworkBusError, NetworkSettings, UnknownChange, parse,
                                 read_file, remove_file, render, write_atomic)

log = logging.getLogger("smsd.network")

DEFAULT_DIR = "/etc/systemd/network"
RECORD_FILE = "network-rollback.json"
MIN_WINDOW = 1.0
MAX_WINDOW = 3600.0


class Timers(Protocol):
    def call_later(self, delay: float, fn: Callable[[], None]) -> Callable[[], None]:
        """Run `fn` after `delay` seconds unless the returned cancel function is called first."""


class ThreadTimers:
    def call_later(self, delay: float, fn: Callable[[], None]) -> Callable[[], None]:
        timer = threading.Timer(delay, fn)
        timer.name = "network-rollback"
        timer.daemon = True
        timer.start()
        return timer.cancel


@dataclass(frozen=True)
class Undo:
    """What `apply()` changed and how to put it back (persisted as JSON)."""

    change_id: str
    interface: str                 # the link the change configured
    file: str | None               # the previous managed file; None = there was none
    previous_interface: str
    hostname: str
    timezone: str
    ntp: bool

    @classmethod
    def from_json(cls, text: str) -> Undo:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class PendingChange:
    change_id: str
    settings: NetworkSettings
    seconds_left: float


@dataclass
class _Pending:
    undo: Undo
    settings: NetworkSettings
    deadline: float
    cancel: Callable[[], None]


class NetworkConfigurator:
    def __init__(self, state_dir: str, *, directory: str = DEFAULT_DIR, interface: str = "eth0",
                 bus: Any = None, timers: Timers | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if bus is None:
            from smsd.system.network_bus import SystemBus
            bus = SystemBus()
        self._bus = bus
        self._path = os.path.join(directory, MANAGED_FILE)
        self._record = os.path.join(state_dir, RECORD_FILE)
        self._interface = interface          # the link to manage before smsd wrote any file
        self._timers = timers or ThreadTimers()
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: _Pending | None = None

    @property
    def path(self) -> str:
        return self._path

    # --- reading --------------------------------------------------------------------------------
    def current(self) -> NetworkSettings:
        """The settings in force: the managed file (DHCP when there is none) plus the host name,
        time zone and NTP switch as hostnamed and timedated report them."""
        text = read_file(self._path)
        base = NetworkSettings(interface=self._interface, hostname=self._bus.hostname(),
                               timezone=self._bus.timezone(), ntp=self._bus.ntp())
        return base if text is None else parse(text, base)

    def pending(self) -> PendingChange | None:
        with self._lock:
            p = self._pending
            if p is None:
                return None
            left = max(0.0, p.deadline - self._clock())
            return PendingChange(p.undo.change_id, p.settings, left)

    # --- changing -------------------------------------------------------------------------------
    def apply(self, settings: NetworkSettings, confirm_within: float = 60.0) -> str:
        """Validate, record the undo, apply; return the id `confirm()` needs within the window."""
        settings.validate()
        if not MIN_WINDOW <= confirm_within <= MAX_WINDOW:
            raise InvalidNetworkSettings(f"confirm_within must be {MIN_WINDOW:g}.."
                                         f"{MAX_WINDOW:g} seconds")
        with self._lock:
            if self._pending is not None:
                raise ChangePending(f"change {self._pending.undo.change_id} is waiting for its "
                                    f"confirmation")
            self._retry_leftover()
            self._check_link(settings.interface)
            undo = self._snapshot(settings.interface)
            write_atomic(self._record, json.dumps(asdict(undo)), 0o600)
            self._push_or_undo(settings, undo)
            cancel = self._timers.call_later(confirm_within,
                                             lambda: self._expire(undo.change_id))
            self._pending = _Pending(undo, settings, self._clock() + confirm_within, cancel)
        log.info("network change %s applied; rolls back unless confirmed within %g s",
                 undo.change_id, confirm_within)
        return undo.change_id

    def confirm(self, change_id: str) -> None:
        """Keep the pending change. UnknownChange when it is not the one pending (too late)."""
        with self._lock:
            p = self._pending
            if p is None or p.undo.change_id != change_id:
                raise UnknownChange(f"no pending network change {change_id!r} (rolled back, "
                                    f"already confirmed, or never made)")
            p.cancel()
            remove_file(self._record)
            self._pending = None
        log.info("network change %s confirmed", change_id)

    def recover(self) -> bool:
        """At start: roll back a change an earlier run applied and never saw confirmed."""
        with self._lock:
            undo = self._read_undo()
            if undo is None:
                return False
            log.warning("network change %s was not confirmed before the restart: rolling back",
                        undo.change_id)
            self._restore(undo)
            return True

    def _read_undo(self) -> Undo | None:
        text = read_file(self._record)
        if text is None:
            return None
        try:
            return Undo.from_json(text)
        except (ValueError, TypeError) as exc:
            # Written atomically, so only a hand edit gets here: keep it for a person to read
            # rather than stop the daemon or guess at settings.
            os.replace(self._record, self._record + ".bad")
            log.error("unreadable network undo record (%s); moved to %s.bad", exc, self._record)
            return None

    def _retry_leftover(self) -> None:
        # A record with nothing pending is a rollback that failed: finish it before the box's
        # state is snapshotted again, or the undo would capture the half-restored settings.
        undo = self._read_undo()
        if undo is not None:
            self._restore(undo)

    def close(self) -> None:
        """Stop the timer; a pending change stays recorded, so the next start rolls it back."""
        with self._lock:
            if self._pending is not None:
                self._pending.cancel()

    # --- steps ----------------------------------------------------------------------------------
    def _check_link(self, name: str) -> None:
        """A file for a link the box does not have would leave it with no address at all."""
        try:
            self._bus.link_index(name)
        except NetworkBusError as exc:
            if exc.error_name != NO_SUCH_LINK:
                raise
            raise InvalidNetworkSettings(f"interface {name!r}: the box has no such network "
                                         f"link") from None

    def _snapshot(self, interface: str) -> Undo:
        text = read_file(self._path)
        previous = self._interface if text is None else parse(text, NetworkSettings()).interface
        return Undo(secrets.token_hex(8), interface, text, previous, self._bus.hostname(),
                    self._bus.timezone(), self._bus.ntp())

    def _push_or_undo(self, settings: NetworkSettings, undo: Undo) -> None:
        try:
            write_atomic(self._path, render(settings))
            self._activate((undo.previous_interface, settings.interface))
            self._set_system(settings.hostname, settings.timezone, settings.ntp)
        except (NetworkBusError, OSError) as exc:
            log.error("network change %s failed (%s): restoring the previous settings",
                      undo.change_id, exc)
            self._restore_quietly(undo)
            raise NetworkBusError(f"the change could not be applied ({exc}); the previous "
                                  f"settings were restored") from exc

    def _activate(self, interfaces: tuple[str, ...]) -> None:
        self._bus.reload()
        for name in dict.fromkeys(interfaces):     # each link once, in order
            self._reconfigure(name)

    def _reconfigure(self, name: str) -> None:
        try:
            index = self._bus.link_index(name)
        except NetworkBusError as exc:
            if exc.error_name != NO_SUCH_LINK:
                raise
            # Gone since (a USB adapter unplugged): nothing there to configure or undo.
            log.warning("network link %s no longer exists; not reconfigured", name)
            return
        self._bus.reconfigure_link(index)

    def _set_system(self, hostname: str, timezone: str, ntp: bool) -> None:
        self._bus.set_hostname(hostname)
        self._bus.set_timezone(timezone)
        self._bus.set_ntp(ntp)

    def _restore(self, undo: Undo) -> None:
        """Put the previous file back and re-apply everything; the record goes last."""
        if undo.file is None:
            remove_file(self._path)
        else:
            write_atomic(self._path, undo.file)
        self._activate((undo.interface, undo.previous_interface))
        self._set_system(undo.hostname, undo.timezone, undo.ntp)
        remove_file(self._record)
        log.warning("network change %s rolled back", undo.change_id)

    def _restore_quietly(self, undo: Undo) -> None:
        try:
            self._restore(undo)
        except (NetworkBusError, OSError) as exc:
            log.error("rolling back network change %s failed (%s); the next start retries",
                      undo.change_id, exc)

    def _expire(self, change_id: str) -> None:
        with self._lock:
            p = self._pending
            if p is None or p.undo.change_id != change_id:
                return                 # confirmed just before the timer fired
            self._pending = None
            log.warning("network change %s was not confirmed in time", change_id)
            self._restore_quietly(p.undo)
