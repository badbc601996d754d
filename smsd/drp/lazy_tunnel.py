"""The remote tunnel made on its first start, not at the daemon's.

smsd.drp.device (with asyncio, h2 and h11, 69 modules) adds ~2.5 MB to the daemon's resident
size (issue 20), and most boxes never switch the remote connection on. The daemon attaches this
stand-in instead; it makes the real tunnel the first time the tunnel is started (at start when
configured, or when the Network page switches it on) and hands every call on from then."""
from __future__ import annotations

from typing import Callable

from smsd.drp.settings import RemoteSettings
from smsd.service.remote import Tunnel

# What RemoteTunnel.status() says before it ever ran (smsd.drp.device.TunnelStatus()).
NEVER_STARTED: dict[str, object] = {"server": "", "connected": False, "since": "",
                                    "last_error": ""}


class LazyTunnel:
    def __init__(self, make: Callable[[], Tunnel]) -> None:
        self._make = make
        self._tunnel: Tunnel | None = None

    @property
    def made(self) -> bool:
        return self._tunnel is not None

    def start(self, settings: RemoteSettings) -> None:
        if self._tunnel is None:
            self._tunnel = self._make()
        self._tunnel.start(settings)

    def stop(self) -> None:
        if self._tunnel is not None:
            self._tunnel.stop()

    def status(self) -> dict[str, object]:
        return dict(NEVER_STARTED) if self._tunnel is None else self._tunnel.status()
