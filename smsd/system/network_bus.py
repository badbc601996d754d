"""Blocking calls to systemd-networkd, hostnamed and timedated over the system bus (dbus-next).

Each call opens its own connection inside `asyncio.run`: network changes are rare, the callers
are plain threads (HTTP handlers, the rollback timer) and this keeps them synchronous without an
event-loop thread to own and stop. Only the low-level `Message` API is used, so no introspection
data is needed and the code works with dbus-next 0.2.3 (Debian 12). `interactive` is always
false: a daemon has no polkit agent to ask a person.
"""
from __future__ import annotations

import asyncio
from typing import Any

from dbus_next import BusType, Message, MessageType
from dbus_next.aio import MessageBus
from dbus_next.errors import AuthError

from smsd.system.network import NetworkBusError

NETWORKD = ("org.freedesktop.network1", "/org/freedesktop/network1",
            "org.freedesktop.network1.Manager")
HOSTNAMED = ("org.freedesktop.hostname1", "/org/freedesktop/hostname1",
             "org.freedesktop.hostname1")
TIMEDATED = ("org.freedesktop.timedate1", "/org/freedesktop/timedate1",
             "org.freedesktop.timedate1")
PROPERTIES = "org.freedesktop.DBus.Properties"
CALL_TIMEOUT = 25.0          # the bus's own default reply timeout


class SystemBus:
    """The handful of calls network configuration needs. The address comes from the
    environment (DBUS_SYSTEM_BUS_ADDRESS) as usual, which is how tests point it at a private bus."""

    def __init__(self, timeout: float = CALL_TIMEOUT) -> None:
        self._timeout = timeout

    # --- networkd -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Make networkd re-read its .network files."""
        self._call(NETWORKD, "Reload")

    def link_index(self, name: str) -> int:
        body = self._call(NETWORKD, "GetLinkByName", "s", name)
        return int(body[0])

    def reconfigure_link(self, ifindex: int) -> None:
        self._call(NETWORKD, "ReconfigureLink", "i", ifindex)

    # --- hostnamed ------------------------------------------------------------------------------
    def set_hostname(self, name: str) -> None:
        """The static name (kept across boots) and the running one, so both change now."""
        self._call(HOSTNAMED, "SetStaticHostname", "sb", name, False)
        self._call(HOSTNAMED, "SetHostname", "sb", name, False)

    def hostname(self) -> str:
        return str(self._get(HOSTNAMED, "StaticHostname") or self._get(HOSTNAMED, "Hostname"))

    # --- timedated ------------------------------------------------------------------------------
    def set_timezone(self, tz: str) -> None:
        self._call(TIMEDATED, "SetTimezone", "sb", tz, False)

    def set_ntp(self, on: bool) -> None:
        self._call(TIMEDATED, "SetNTP", "bb", on, False)

    def timezone(self) -> str:
        return str(self._get(TIMEDATED, "Timezone"))

    def ntp(self) -> bool:
        return bool(self._get(TIMEDATED, "NTP"))

    # --- plumbing -------------------------------------------------------------------------------
    def _get(self, target: tuple[str, str, str], prop: str) -> Any:
        name, path, iface = target
        body = self._call((name, path, PROPERTIES), "Get", "ss", iface, prop)
        return body[0].value

    def _call(self, target: tuple[str, str, str], member: str, signature: str = "",
              *args: Any) -> list[Any]:
        name, path, iface = target
        message = Message(destination=name, path=path, interface=iface, member=member,
                          signature=signature, body=list(args))
        try:
            return asyncio.run(self._roundtrip(message))
        except NetworkBusError:
            raise
        except (OSError, asyncio.TimeoutError, ValueError, AuthError) as exc:
            raise NetworkBusError(f"{name} {member}: {exc or type(exc).__name__}") from exc

    async def _roundtrip(self, message: Message) -> list[Any]:
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        try:
            reply = await asyncio.wait_for(bus.call(message), self._timeout)
        finally:
            bus.disconnect()
        if reply is None:
            return []
        if reply.message_type == MessageType.ERROR:
            detail = reply.body[0] if reply.body else ""
            raise NetworkBusError(f"{message.destination} {message.member}: "
                                  f"{reply.error_name} {detail}".rstrip(), reply.error_name or "")
        return list(reply.body)
