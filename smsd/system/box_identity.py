"""The box as the JSON API's `device` push names it: port count, IP and MAC of its main interface.

The main interface is the first one, in the kernel's order, that is up, not loopback and has an
IPv4 address (read by ioctl, as system/tls.py reads them); its MAC comes from sysfs and is
written the vendor's way, upper-case pairs joined by '-'. A box (or container) where none can be
read says "" for both rather than failing: a push with empty fields beats no push.
"""
from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from typing import Any

SIOCGIFADDR = 0x8915
SYSFS_NET = "/sys/class/net"


def main_interface() -> tuple[str, str, str]:
    """(name, IPv4, MAC) of the main interface; ("", "", "") when there is none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            if name == "lo":
                continue
            request = struct.pack("256s", name.encode()[:15])
            try:
                reply = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue
            address = ipaddress.IPv4Address(reply[20:24])
            if not address.is_loopback:
                return name, str(address), mac_of(name)
    return "", "", ""


def mac_of(interface: str) -> str:
    try:
        with open(f"{SYSFS_NET}/{interface}/address", encoding="ascii") as f:
            raw = f.read().strip()
    except OSError:
        return ""
    return raw.upper().replace(":", "-")


def device_payload(port_count: int, status: str) -> dict[str, Any]:
    """The `device` event: status power_on (start-up) or power_off (stop, reboot, power-off)."""
    _, ip, mac = main_interface()
    return {"port_number": port_count, "IP": ip, "MAC": mac, "status": status}
