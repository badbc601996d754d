"""Check the HTTP listen addresses before the server binds them.

waitress binds every address in turn and fails with a bare "[Errno 98] Address already in use"
that names none of them. Binding each address once here, with the options waitress uses, turns
that into one line naming the address another process holds (or that this host does not have).
"""
from __future__ import annotations

import socket

from smsd.errors import SmsdError


class ListenError(SmsdError, OSError):
    """A listen address cannot be bound: in use, not on this host, or not allowed."""


def check_listen(addresses: tuple[str, ...]) -> None:
    """Raise ListenError for the first address (HOST:PORT, as config.parse_listen makes them)
    that cannot be bound now."""
    for address in addresses:
        host, _, port = address.rpartition(":")
        try:
            for family, kind, proto, _, sockaddr in socket.getaddrinfo(
                    host.strip("[]") or None, int(port), type=socket.SOCK_STREAM,
                    proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE):
                with socket.socket(family, kind, proto) as probe:
                    # As waitress does: a port whose last connections linger in TIME_WAIT is
                    # free, and an IPv6 address does not take the IPv4 one too.
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if family == socket.AF_INET6:
                        probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    probe.bind(sockaddr)
        except OSError as exc:
            raise ListenError(f"cannot listen on {address}: {exc.strerror}") from None
