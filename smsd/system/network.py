"""Network settings of the appliance: validation, the systemd-networkd `.network` file, atomic
writes.

Everything here is checked before anything is written: a setting that would leave the box
unreachable by construction (a gateway outside the address's subnet, a static set-up without an
address, the subnet's own network or broadcast address) is refused with a message naming the
field. What validation cannot see (a wrong subnet for this LAN, a cable in another switch) is the
job of confirm-or-rollback in `smsd.system.network_config`.

smsd owns one file, `MANAGED_FILE`, in the networkd directory. Its name sorts early so it wins
over the image's defaults (networkd applies the first matching file in lexical order), and
`parse()` reads back only what `render()` writes.
"""
from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from smsd.errors import BadRequest, NotFound, ServiceError, SmsdError

MANAGED_FILE = "10-smsd.network"
NO_SUCH_LINK = "org.freedesktop.network1.NoSuchLink"      # networkd's answer to unknown names
HEADER = "# Written by smsd: change these settings on the network setup page, not here.\n"
HOSTNAME_MAX = 64            # hostnamed refuses longer static host names
IFNAME_MAX = 15              # IFNAMSIZ - 1
MAX_SERVERS = 8
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?").fullmatch
_IFNAME = re.compile(r"[A-Za-z0-9_.:@-]+").fullmatch
_TZ = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*").fullmatch

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidNetworkSettings(BadRequest):
    """A network setting is malformed or would leave the box unreachable; nothing was written."""

    reason = "network_settings"


class NetworkUnavailable(ServiceError):
    """This box does not manage its network (no [network] manage = yes), or D-Bus failed."""

    reason = "network_unavailable"


class ChangePending(ServiceError):
    """A network change is waiting for its confirmation; confirm it or let it roll back first."""

    reason = "network_pending"


class UnknownChange(NotFound):
    """No pending change has this id (confirmed already, rolled back, or never made)."""


class NetworkBusError(SmsdError):
    """A D-Bus call to networkd, hostnamed or timedated failed; `error_name` is the D-Bus error
    name when the service answered with one."""

    def __init__(self, message: str, error_name: str = "") -> None:
        super().__init__(message)
        self.error_name = error_name


@dataclass(frozen=True)
class NetworkSettings:
    interface: str = "eth0"
    dhcp: bool = True
    address: str = ""                    # static IPv4/IPv6 address without the prefix
    prefix: int = 24
    gateway: str = ""
    dns: tuple[str, ...] = ()
    ntp_servers: tuple[str, ...] = ()
    hostname: str = "smsd"
    timezone: str = "UTC"
    ntp: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> NetworkSettings:
        """Build from a form or JSON object; lists become tuples, unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidNetworkSettings(f"unknown network setting(s): {', '.join(unknown)}")
        cooked: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in values.items()}
        return replace(cls(), **cooked)

    def validate(self) -> NetworkSettings:
        """Raise InvalidNetworkSettings naming the first bad field; return self when all is well."""
        _check_types(self)
        _check_interface(self.interface)
        if self.dhcp:
            _check_dhcp(self)
        else:
            _check_static(self)
        _check_servers(self)
        check_hostname(self.hostname, "hostname")
        _check_timezone(self.timezone)
        return self


def _fail(message: str) -> InvalidNetworkSettings:
    return InvalidNetworkSettings(message)


def _check_types(s: NetworkSettings) -> None:
    for name in ("interface", "address", "gateway", "hostname", "timezone"):
        if not isinstance(getattr(s, name), str):
            raise _fail(f"{name} must be text")
    for name in ("dhcp", "ntp"):
        if not isinstance(getattr(s, name), bool):
            raise _fail(f"{name} must be true or false")
    if isinstance(s.prefix, bool) or not isinstance(s.prefix, int):
        raise _fail("prefix must be a whole number")
    for name in ("dns", "ntp_servers"):
        value = getattr(s, name)
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            raise _fail(f"{name} must be a list of text")


def _check_interface(name: str) -> None:
    if not name or len(name) > IFNAME_MAX or name in (".", "..") or not _IFNAME(name):
        raise _fail(f"interface {name!r}: 1 to {IFNAME_MAX} letters, digits or _.:@-")


def _check_dhcp(s: NetworkSettings) -> None:
    if s.address or s.gateway:
        raise _fail("address and gateway are given by DHCP: leave them empty or turn DHCP off")


def _check_static(s: NetworkSettings) -> None:
    if not s.address:
        raise _fail("a static set-up needs an address (or turn DHCP on)")
    host = parse_ip(s.address, "address")
    if host.is_multicast or host.is_loopback or host.is_unspecified or host.is_link_local:
        raise _fail(f"address {s.address}: not a usable host address")
    if not 1 <= s.prefix <= host.max_prefixlen:
        raise _fail(f"prefix {s.prefix}: must be 1..{host.max_prefixlen} for {s.address}")
    net = ipaddress.ip_interface(f"{host}/{s.prefix}").network
    if host.version == 4 and s.prefix < 31 and host in (net.network_address,
                                                        net.broadcast_address):
        raise _fail(f"address {s.address} is the network or broadcast address of {net}")
    if s.gateway:
        _check_gateway(s.gateway, host, net)


def _check_gateway(text: str, host: Address, net: Any) -> None:
    gateway = parse_ip(text, "gateway")
    if gateway.version != host.version:
        raise _fail(f"gateway {text} and address {host} are not the same IP version")
    if gateway == host:
        raise _fail(f"gateway {text} is the box's own address")
    if gateway not in net and not gateway.is_link_local:
        # Nothing could reach a router outside the subnet: the box would be cut off.
        raise _fail(f"gateway {text} is outside {net}: the box could not reach it")


def _check_servers(s: NetworkSettings) -> None:
    if len(s.dns) > MAX_SERVERS or len(s.ntp_servers) > MAX_SERVERS:
        raise _fail(f"at most {MAX_SERVERS} DNS and {MAX_SERVERS} NTP servers")
    for server in s.dns:
        parse_ip(server, "DNS server")
    for server in s.ntp_servers:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            check_hostname(server, "NTP server", fqdn=True)


def parse_ip(text: str, what: str) -> Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise _fail(f"{what} {text!r} is not an IP address") from None


def check_hostname(name: str, what: str, *, fqdn: bool = False) -> None:
    """RFC 1123 names: dot-separated labels of letters, digits and inner hyphens."""
    limit = 253 if fqdn else HOSTNAME_MAX
    if not name or len(name) > limit:
        raise _fail(f"{what} {name!r}: 1 to {limit} characters")
    labels = name.split(".")
    if not all(_LABEL(label) for label in labels):
        raise _fail(f"{what} {name!r}: labels of letters, digits and inner hyphens, "
                    f"1 to 63 characters each, separated by dots")
    if labels[-1].isdigit():
        raise _fail(f"{what} {name!r}: the last label must not be all digits")


def _check_timezone(tz: str) -> None:
    if not tz or not _TZ(tz) or ".." in tz:
        raise _fail(f"time zone {tz!r} is not a zone name like Europe/London")
    import zoneinfo    # here: with sysconfig ~0.8 MB a daemon would keep for one rare check
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail(f"time zone {tz!r} is unknown") from None


# --- the .network file -------------------------------------------------------------------------
def render(s: NetworkSettings) -> str:
    """The `.network` file for `s` (validated first)."""
    lines = [HEADER, "[Match]", f"Name={s.interface}", "", "[Network]",
             f"DHCP={'yes' if s.dhcp else 'no'}"]
    if not s.dhcp:
        lines.append(f"Address={s.address}/{s.prefix}")
        if s.gateway:
            lines.append(f"Gateway={s.gateway}")
    lines += [f"DNS={server}" for server in s.dns]
    if s.ntp_servers:
        lines.append(f"NTP={' '.join(s.ntp_servers)}")
    return "\n".join(lines) + "\n"


def parse(text: str, base: NetworkSettings) -> NetworkSettings:
    """The network part of a file `render()` wrote; hostname, time zone and NTP come from `base`."""
    values: dict[str, Any] = {"dns": [], "ntp_servers": [], "address": "", "gateway": ""}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep:
            _parse_line(key.strip(), value.strip(), values)
    values["dns"] = tuple(values["dns"])
    values["ntp_servers"] = tuple(values["ntp_servers"])
    return replace(base, **values)


def _parse_line(key: str, value: str, values: dict[str, Any]) -> None:
    if key == "Name":
        values["interface"] = value
    elif key == "DHCP":
        values["dhcp"] = value.lower() in ("yes", "true", "ipv4", "ipv6", "1")
    elif key == "Address":
        address, _, prefix = value.partition("/")
        values["address"] = address
        values["prefix"] = int(prefix) if prefix.isdigit() else 24
    elif key == "Gateway":
        values["gateway"] = value
    elif key == "DNS":
        values["dns"] += value.split()
    elif key == "NTP":
        values["ntp_servers"] += value.split()


def read_file(path: str) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_atomic(path: str, text: str, mode: int = 0o644) -> None:
    """Replace `path` so that readers (and a power cut) see the old file or the new, never half.

    The temporary file lives in the same directory (os.replace is atomic only within one file
    system); the directory is fsynced too, so the rename itself survives a crash.
    """
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".smsd-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    _fsync_dir(directory)


def remove_file(path: str) -> None:
    _unlink(path)
    _fsync_dir(os.path.dirname(path) or ".")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
