"""The modem ports: their state, control (slot, reset, power, SIM lock), settings, connections.

A connection (an Ozeki "driver") is one modem port. Every port has one from the start, named
`GSMModem<port>`; `connection_create` gives a port a name of the caller's choosing (the port that
has none yet, or the one asked for), `connection_delete` takes the name and every setting away
again, so the port works with the defaults under its default name. Stopping a connection stores
running=off: the scheduler hands it nothing and the worker leaves received SMS on the SIM; the
port shows state "stopped" in `connections`, while `info` keeps showing the modem itself.

Unknown ports: `info` raises NotFound (a lookup of a thing that does not exist); every other
method raises BadRequest (the request names a port the box does not have, which the vendor APIs
answer with "format not valid").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from smsd.errors import BadRequest, NotFound
from smsd.model import (REG_NO_SIM, REG_OK, REG_POWER_OFF, STATE_INIT, STATE_POWER_OFF, ModemJob,
                        PortInfo)
from smsd.modem.jobs import Power, Refresh, Reset, SimLock, SwitchSlot
from smsd.portcfg import NAME_KEY, RUNNING_KEY, PortConfig, parse_values
from smsd.scheduler import Scheduler
from smsd.service.access import AccessPolicy
from smsd.service.signal import SignalHistory

GSM_TYPES = frozenset({"gsm", "gsmmodem", "gsm/gprs", "gsmgprs", "gsm modem"})
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,32}").fullmatch
_PIN = re.compile(r"[0-9]{4,8}").fullmatch


class UnsupportedConnection(BadRequest):
    reason = "driver_type"          # the word the dialects map (Ozeki: its DRIVER_TYPE code)


@dataclass(frozen=True)
class Connection:
    name: str
    port: int
    running: bool
    created: bool            # named by connection_create (else the port's default connection)


def will_send(info: PortInfo) -> bool:
    """A port that can send now, or a registered one still finishing its start-up sequence
    (accepting then is what an operator expects right after boot; the part waits seconds)."""
    return info.can_send or (info.state == STATE_INIT and info.reg == REG_OK)


def require_sim(info: PortInfo) -> None:
    """BadRequest unless the port is powered and holds a SIM (what any SIM query needs)."""
    if info.state == STATE_POWER_OFF or info.reg == REG_POWER_OFF:
        raise BadRequest(f"port {info.port} is powered off")
    if info.reg == REG_NO_SIM:
        raise BadRequest(f"port {info.port} has no SIM")


class Ports:
    """Control, settings and connections are port control (`require_port_control`)."""

    def __init__(self, scheduler: Scheduler, ports: Iterable[int], access: AccessPolicy) -> None:
        self._scheduler = scheduler
        self.all = frozenset(ports)
        self._access = access
        self.signal = SignalHistory()

    @property
    def count(self) -> int:
        return len(self.all)

    def known(self, ports: Iterable[int] | None) -> list[int] | None:
        """The ports asked for, sorted and without repeats; BadRequest for one the box lacks."""
        if ports is None:
            return None
        wanted = sorted(set(ports))
        for port in wanted:
            if port not in self.all:
                raise BadRequest(f"no port {port}")
        return wanted or None

    # --- state and control ----------------------------------------------------------------------
    def info(self, ports: Sequence[int] | None = None) -> list[PortInfo]:
        wanted = sorted(self.all) if ports is None else list(ports)
        for port in wanted:
            if port not in self.all:
                raise NotFound(f"no port {port}")
        infos = [self._scheduler.info(p) for p in wanted]
        self.signal.record(infos)
        return infos

    def signal_history(self, port: int) -> list[int]:
        """The port's recent signal samples, oldest first (smsd/service/signal.py)."""
        return self.signal.of(port)

    def control(self, port: int, action: str, param: str | None = None,
                 user: str | None = None) -> None:
        """Actions: slot <0..3>, reset, power on|off, lock <pin>, unlock <pin>. Every one, and
        any other name, needs port control (checked first: a refusal tells nothing more)."""
        self._access.require_port_control(user)
        self.known([port])
        job = self._port_job(port, (action or "").strip().lower(), (param or "").strip())
        self._scheduler.submit(port, job)

    def _port_job(self, port: int, action: str, param: str) -> ModemJob:
        if action == "slot":
            if not param.isdigit() or not 0 <= int(param) <= 3:
                raise BadRequest("slot needs param 0..3")
            if int(param) >= max(1, self._scheduler.info(port).slots):
                raise BadRequest(f"port {port} has no slot {param}")
            return SwitchSlot(int(param))
        if action == "reset":
            return Reset()
        if action == "power":
            if param.lower() not in ("on", "off"):
                raise BadRequest("power needs param on or off")
            return Power(param.lower() == "on")
        if action in ("lock", "unlock"):
            if not _PIN(param):
                raise BadRequest(f"{action} needs the SIM PIN (4 to 8 digits) as param")
            return SimLock(param, action == "lock")
        raise BadRequest(f"unsupported action {action!r}: use slot, reset, power, lock or unlock")

    # --- settings -------------------------------------------------------------------------------
    @property
    def config(self) -> PortConfig:
        config: PortConfig = self._scheduler.port_config
        return config

    def _check_port(self, port: int) -> None:
        if port not in self.all:
            raise BadRequest(f"no port {port}")

    def settings(self, port: int) -> dict[str, str]:
        """Every supported setting of `port` with its value (stored or default)."""
        self._check_port(port)
        return self.config.effective(port)

    def set_settings(self, port: int, *, user: str | None = None, **values: Any) -> None:
        """Validate all, store all (persisted), then let the scheduler and the worker apply them."""
        self._access.require_port_control(user, "port settings")
        self._check_port(port)
        parsed = parse_values(values)
        self.config.put(port, dict(parsed))
        self._applied(port)

    def _applied(self, port: int) -> None:
        self._scheduler.port_settings_changed(port)
        self._scheduler.submit(port, Refresh())

    # --- connections ----------------------------------------------------------------------------
    def connections(self, user: str | None = None) -> list[Connection]:
        self._access.require_port_control(user, "connection management")
        cfg = self.config
        return [Connection(cfg.name(p), p, cfg.on(p, RUNNING_KEY), cfg.named(p))
                for p in sorted(self.all)]

    def connection_port(self, name: str) -> int:
        port = self.config.find(name, sorted(self.all))
        if port is None:
            raise NotFound(f"no connection named {name!r}")
        return port

    def connection_create(self, kind: str, name: str | None = None, port: int | None = None,
                      user: str | None = None) -> Connection:
        self._access.require_port_control(user, "connection management")
        if kind.strip().lower() not in GSM_TYPES:
            raise UnsupportedConnection(f"connection type {kind!r} is not supported: smsd drives "
                                    "GSM modem ports only (type GSMModem)")
        target = self._free_port(port)
        if name is not None and not _NAME(name):
            raise BadRequest("name: 1 to 32 letters, digits, '_', '.' or '-'")
        chosen = name or f"GSMModem{target}"
        taken = self.config.find(chosen, sorted(self.all))
        if taken is not None and taken != target:
            raise BadRequest(f"a connection named {chosen!r} exists (port {taken})")
        self.config.put(target, {NAME_KEY: chosen, RUNNING_KEY: "on"})
        self._applied(target)
        return Connection(chosen, target, True, True)

    def _free_port(self, port: int | None) -> int:
        if port is not None:
            self._check_port(port)
            if self.config.named(port):
                raise BadRequest(f"port {port} already has the connection "
                                 f"{self.config.name(port)!r}")
            return port
        for candidate in sorted(self.all):
            if not self.config.named(candidate):
                return candidate
        raise BadRequest("every modem port already has a created connection")

    def connection_delete(self, name: str, user: str | None = None) -> int:
        self._access.require_port_control(user, "connection management")
        port = self.connection_port(name)
        if not self.config.named(port):
            raise BadRequest(f"{name!r} is the built-in connection of port {port}; "
                             "it cannot be deleted (stop it instead)")
        self.config.clear(port)
        self._applied(port)
        return port

    def connection_run(self, name: str, running: bool, user: str | None = None) -> int:
        self._access.require_port_control(user, "connection management")
        port = self.connection_port(name)
        self.config.put(port, {RUNNING_KEY: "on" if running else "off"})
        self._applied(port)
        return port

    def connection_config(self, name: str, values: Mapping[str, str],
                      user: str | None = None) -> int:
        self._access.require_port_control(user, "connection management")
        port = self.connection_port(name)
        self.set_settings(port, user=user, **values)
        return port
