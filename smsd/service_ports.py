"""Service mixin: per-port settings (Ozeki connections) and per-dialect message folders.

A connection ("driver") is one modem port. Every port has one from the start, named
`GSMModem<port>`; `driver_create` gives a port a name of the caller's choosing (the port that has
none yet, or the one asked for), `driver_delete` takes the name and every setting away again, so
the port works with the defaults under its default name. Stopping a connection stores
RUNNING=off: the scheduler hands it nothing and the worker leaves received SMS on the SIM; the
port shows state "stopped" in `driver_list`, while `port_info` keeps showing the modem itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from smsd.errors import BadRequest, NotFound
from smsd.model import InboundSms, MessageState
from smsd.modem.jobs import Refresh
from smsd.portcfg import NAME_KEY, RUNNING_KEY, PortConfig, parse_values
from smsd.service_access import AccessService

GSM_TYPES = frozenset({"gsm", "gsmmodem", "gsm/gprs", "gsmgprs", "gsm modem"})
FOLDER_STATES = {"outbox": ("SENDING",), "sent": ("SENT_OK", "DELIVERED"), "notsent": ("FAILED",)}
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,32}").fullmatch


class UnsupportedDriver(BadRequest):
    reason = "driver_type"


@dataclass(frozen=True)
class Driver:
    name: str
    port: int
    running: bool
    created: bool            # named by driver_create (else the port's default connection)


class PortsService(AccessService):
    """Settings and connections are port control (`require_port_control`); folders show what
    the asking user may see (smsd/service_access.py)."""

    _store: Any
    _scheduler: Any
    _ports: frozenset[int]

    # --- settings -------------------------------------------------------------------------------
    @property
    def port_config(self) -> PortConfig:
        config: PortConfig = self._scheduler.port_config
        return config

    def _check_port(self, port: int) -> None:
        if port not in self._ports:
            raise BadRequest(f"no port {port}")

    def port_settings(self, port: int) -> dict[str, str]:
        """Every supported setting of `port` with its value (stored or default)."""
        self._check_port(port)
        return self.port_config.effective(port)

    def set_port_settings(self, port: int, *, user: str | None = None, **values: Any) -> None:
        """Validate all, store all (persisted), then let the scheduler and the worker apply them."""
        self.require_port_control(user, "port settings")
        self._check_port(port)
        parsed = parse_values(values)
        self.port_config.put(port, dict(parsed))
        self._applied(port)

    def _applied(self, port: int) -> None:
        self._scheduler.port_settings_changed(port)
        self._scheduler.submit(port, Refresh())

    # --- connections ----------------------------------------------------------------------------
    def drivers(self, user: str | None = None) -> list[Driver]:
        self.require_port_control(user, "connection management")
        cfg = self.port_config
        return [Driver(cfg.name(p), p, cfg.on(p, RUNNING_KEY), cfg.named(p))
                for p in sorted(self._ports)]

    def driver_port(self, name: str) -> int:
        port = self.port_config.find(name, sorted(self._ports))
        if port is None:
            raise NotFound(f"no connection named {name!r}")
        return port

    def driver_create(self, kind: str, name: str | None = None, port: int | None = None,
                      user: str | None = None) -> Driver:
        self.require_port_control(user, "connection management")
        if kind.strip().lower() not in GSM_TYPES:
            raise UnsupportedDriver(f"connection type {kind!r} is not supported: smsd drives "
                                    "GSM modem ports only (type GSMModem)")
        target = self._free_port(port)
        if name is not None and not _NAME(name):
            raise BadRequest("name: 1 to 32 letters, digits, '_', '.' or '-'")
        chosen = name or f"GSMModem{target}"
        taken = self.port_config.find(chosen, sorted(self._ports))
        if taken is not None and taken != target:
            raise BadRequest(f"a connection named {chosen!r} exists (port {taken})")
        self.port_config.put(target, {NAME_KEY: chosen, RUNNING_KEY: "on"})
        self._applied(target)
        return Driver(chosen, target, True, True)

    def _free_port(self, port: int | None) -> int:
        if port is not None:
            self._check_port(port)
            if self.port_config.named(port):
                raise BadRequest(f"port {port} already has the connection "
                                 f"{self.port_config.name(port)!r}")
            return port
        for candidate in sorted(self._ports):
            if not self.port_config.named(candidate):
                return candidate
        raise BadRequest("every modem port already has a created connection")

    def driver_delete(self, name: str, user: str | None = None) -> int:
        self.require_port_control(user, "connection management")
        port = self.driver_port(name)
        if not self.port_config.named(port):
            raise BadRequest(f"{name!r} is the built-in connection of port {port}; "
                             "it cannot be deleted (stop it instead)")
        self.port_config.clear(port)
        self._applied(port)
        return port

    def driver_run(self, name: str, running: bool, user: str | None = None) -> int:
        self.require_port_control(user, "connection management")
        port = self.driver_port(name)
        self.port_config.put(port, {RUNNING_KEY: "on" if running else "off"})
        self._applied(port)
        return port

    def driver_config(self, name: str, values: Mapping[str, str],
                      user: str | None = None) -> int:
        self.require_port_control(user, "connection management")
        port = self.driver_port(name)
        self.set_port_settings(port, user=user, **values)
        return port

    # --- folders of a dialect -------------------------------------------------------------------
    def inbox_visible(self, dialect: str, *, unread_only: bool, limit: int, mark_read: bool,
                      user: str | None = None) -> list[tuple[InboundSms, bool]]:
        return list(self._store.views.inbox_visible(dialect, unread_only=unread_only, limit=limit,
                                              mark_read=mark_read, viewer=self._owner(user)))

    def inbox_message(self, dialect: str, inbound_id: int,
                      user: str | None = None) -> tuple[InboundSms, bool] | None:
        found = self._store.views.inbound_one(dialect, inbound_id, viewer=self._owner(user))
        return None if found is None else (found[0], bool(found[1]))

    def folder_messages(self, dialect: str, folder: str, user: str | None,
                        limit: int) -> list[MessageState]:
        """Sent messages of a folder (outbox, sent, notsent) that `user` sent (None, or an
        admin: everybody's)."""
        states = FOLDER_STATES.get(folder)
        if states is None:
            raise BadRequest(f"no folder {folder!r}: inbox, outbox, sent or notsent")
        ids = self._store.views.messages_visible(dialect, states, self._owner(user), limit)
        found = (self._store.outbox.message_state(i) for i in ids)
        return [m for m in found if m is not None]

    def hide_messages(self, dialect: str, kind: str, ids: Iterable[int],
                      user: str | None = None) -> int:
        """Hide from `dialect`'s folders those of `ids` that `user` may see."""
        if kind not in ("in", "out"):
            raise BadRequest("kind must be in or out")
        return int(self._store.views.hide(dialect, kind, [i for i in ids if self._sees(kind, i, user)]))

    def _sees(self, kind: str, ident: int, user: str | None) -> bool:
        if user is None:
            return True
        if kind == "in":
            return self._store.views.inbound_one("", ident, viewer=self._owner(user)) is not None
        state = self._store.outbox.message_state(ident)
        return state is not None and self._may_see(user, state.user)

    def hidden_messages(self, dialect: str, kind: str, ids: Iterable[int]) -> set[int]:
        return set(self._store.views.hidden(dialect, kind, ids))


__all__ = ["PortsService", "Driver", "UnsupportedDriver"]
