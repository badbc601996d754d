"""svc.remote: the remote tunnel's settings and status (docs/remote.md).

The settings in force are the console's, once saved there (one row of the settings table),
else the config file's `[remote]` section. Saving restarts the tunnel with the new settings at
once; the daemon attaches the tunnel (smsd.drp.device.RemoteTunnel) at start.
"""
from __future__ import annotations

import json
from typing import Callable, Protocol

from smsd.drp.settings import RemoteSettings
from smsd.errors import BadRequest, ConfigError
from smsd.store.db import Store

SETTING = "remote"


class Tunnel(Protocol):
    def start(self, settings: RemoteSettings) -> None: ...
    def stop(self) -> None: ...
    def status(self) -> dict[str, object]: ...


class InvalidRemoteSettings(BadRequest):
    """The form's remote settings do not hold together (message names the field)."""


class Remote:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._file: RemoteSettings | None = None
        self._tunnel: Tunnel | None = None

    def attach(self, tunnel: Tunnel, file_settings: RemoteSettings | None) -> None:
        """Called once by the daemon after HTTP listens: start the tunnel if configured."""
        self._tunnel, self._file = tunnel, file_settings
        current = self.settings()
        if current is not None and current.enabled:
            tunnel.start(current)

    def close(self) -> None:
        if self._tunnel is not None:
            self._tunnel.stop()

    def settings(self) -> RemoteSettings | None:
        saved = self._store.settings.get(SETTING)
        if saved:
            try:
                data = json.loads(saved)
                return RemoteSettings(str(data["server"]), str(data["secret"]),
                                      str(data.get("fingerprint", "")),
                                      str(data.get("ca_file", "")), bool(data.get("enabled")))
            except (ValueError, KeyError, TypeError):
                pass
        return self._file

    def source(self) -> str:
        return "console" if self._store.settings.get(SETTING) else (
            "config" if self._file is not None else "")

    def save(self, settings: RemoteSettings) -> RemoteSettings:
        """Validate (InvalidRemoteSettings, nothing written), keep, restart the tunnel."""
        try:
            checked = settings.validate()
        except ConfigError as exc:
            raise InvalidRemoteSettings(str(exc).replace("[remote] ", "")) from None
        self._store.settings.set(SETTING, json.dumps({
            "server": checked.server, "secret": checked.secret,
            "fingerprint": checked.fingerprint, "ca_file": checked.ca_file,
            "enabled": checked.enabled}))
        if self._tunnel is not None:
            if checked.enabled:
                self._tunnel.start(checked)
            else:
                self._tunnel.stop()
        return checked

    def status(self) -> dict[str, object] | None:
        """For get_status and the Network page: None when no tunnel is configured."""
        current = self.settings()
        if current is None or self._tunnel is None:
            return None
        if not current.enabled:
            return {"server": current.server, "connected": False, "since": "",
                    "last_error": "disabled"}
        return self._tunnel.status()


# The remote tunnel made on its first start, not at the daemon's:
# smsd.drp.device (with asyncio, h2 and h11, 69 modules) adds ~2.5 MB to the daemon's resident
# size (issue 20), and most boxes never switch the remote connection on. The daemon attaches this
# stand-in instead; it makes the real tunnel the first time the tunnel is started (at start when
# configured, or when the Network page switches it on) and hands every call on from then.

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
