"""The INI sections of the tunnel: `[remote]` (the box's side) and `[drp-server]` (the relay's).

`config.py` knows both sections' keys (so a typo is refused like any other) and keeps the box's
`[remote]` as a RemoteSettings; the relay reads `[drp-server]` itself (read_relay).
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from typing import Any

from smsd.drp import protocol
from smsd.errors import ConfigError

REMOTE_KEYS = frozenset({"server", "secret", "fingerprint", "ca_file", "enabled"})
RELAY_KEYS = frozenset({"listen", "device_listen", "state_dir", "tls_cert", "tls_key",
                        "log_level", "session_rate", "device_rate", "max_body"})
DEFAULT_RELAY_STATE_DIR = "/var/lib/smsd-drp"


@dataclass(frozen=True)
class RemoteSettings:
    server: str                    # HOST:PORT of the relay's device port
    secret: str
    fingerprint: str = ""          # SHA-256 of the relay's certificate, 64 hex digits
    ca_file: str = ""              # or: a CA file the relay's certificate must chain to
    enabled: bool = True

    @property
    def host(self) -> str:
        return self.server.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.server.rpartition(":")[2])

    def validate(self) -> RemoteSettings:
        """Raises ConfigError naming the key; returns the settings with a normal fingerprint."""
        host, sep, port = self.server.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"[remote] server: {self.server!r} must look like HOST:PORT")
        if not self.secret.strip() or len(self.secret) > 256 or not self.secret.isprintable():
            raise ConfigError("[remote] secret: the secret `smsd drp-server device add` printed")
        fingerprint = ""
        if self.fingerprint.strip():
            fingerprint = protocol.normal_fingerprint(self.fingerprint) or ""
            if not fingerprint:
                raise ConfigError("[remote] fingerprint: the SHA-256 of the relay's certificate "
                                  "(64 hex digits, colons allowed)")
        if not fingerprint and not self.ca_file.strip():
            raise ConfigError("[remote] fingerprint: set the relay certificate's fingerprint "
                              "or a ca_file: the box never talks to an unchecked relay")
        return RemoteSettings(self.server.strip(), self.secret.strip(), fingerprint,
                              self.ca_file.strip(), self.enabled)


def read_remote(parser: configparser.ConfigParser) -> dict[str, Any]:
    """Config values of the file's `[remote]` section ({} without one)."""
    if not parser.has_section("remote"):
        return {}
    sec = parser["remote"]
    try:
        enabled = sec.getboolean("enabled", fallback=True)
    except ValueError:
        raise ConfigError(f"[remote] enabled: {sec['enabled']!r} is not yes or no") from None
    settings = RemoteSettings(sec.get("server", ""), sec.get("secret", ""),
                              sec.get("fingerprint", ""), sec.get("ca_file", ""), enabled)
    return {"remote": settings.validate()}


@dataclass(frozen=True)
class RelaySettings:
    listen: str = "0.0.0.0:8443"
    device_listen: str = "0.0.0.0:8444"
    state_dir: str = DEFAULT_RELAY_STATE_DIR
    tls_cert: str | None = None
    tls_key: str | None = None
    log_level: str = "info"
    session_rate: float = 20.0         # requests per second per client session (bursts twice)
    device_rate: float = 200.0         # requests per second per device, all sessions together
    max_body: int = protocol.MAX_BODY


def read_relay(path: str) -> dict[str, Any]:
    """The `[drp-server]` section of `path` as RelaySettings field values."""
    parser = configparser.ConfigParser(interpolation=None, default_section="\n")
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_string(f.read(), source=path)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except configparser.Error as exc:
        raise ConfigError(" ".join(str(exc).split())) from None
    if not parser.has_section("drp-server"):
        return {}
    sec = parser["drp-server"]
    values: dict[str, Any] = {}
    for key in sec:
        if key not in RELAY_KEYS:
            raise ConfigError(f"{path}: [drp-server] {key}: unknown key "
                              f"(known: {', '.join(sorted(RELAY_KEYS))})")
        values[key] = _relay_value(key, sec[key].strip(), path)
    return values


def _relay_value(key: str, text: str, path: str) -> Any:
    try:
        if key in ("session_rate", "device_rate"):
            value: Any = float(text)
            ok = 0 < value <= 1e6
        elif key == "max_body":
            value = int(text)
            ok = 0 <= value <= 64 << 20
        else:
            return text or None
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"{path}: [drp-server] {key}: {text!r} is out of range")
    return value
