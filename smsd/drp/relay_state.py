"""The relay's accounts and devices: one JSON file in its state dir, written atomically.

`smsd drp-server user add` / `device add` write it while the relay may be running; the relay
re-reads it when its modification time changes, so a new device can connect at once. Only
hashes are kept: scrypt for account passwords, salted SHA-256 for the random device secrets.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass

from smsd.drp import protocol
from smsd.errors import ConfigError

STATE_FILE = "drp-state.json"
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


@dataclass(frozen=True)
class Device:
    sn: str
    owner: str
    secret_hash: str


class RelayState:
    def __init__(self, state_dir: str) -> None:
        self.path = os.path.join(state_dir, STATE_FILE)
        self._state_dir = state_dir
        self._mtime: float | None = None
        self.accounts: dict[str, str] = {}        # name -> password hash
        self.devices: dict[str, Device] = {}      # serial -> device
        self.reload()

    # --- reading -----------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the file again if it changed since the last read (cheap: one stat)."""
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            self.accounts, self.devices, self._mtime = {}, {}, None
            return
        if mtime == self._mtime:
            return
        with open(self.path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except ValueError as exc:
                raise ConfigError(f"{self.path}: not the relay's state file: {exc}") from None
        self.accounts = {str(k): str(v) for k, v in data.get("accounts", {}).items()}
        self.devices = {sn: Device(sn, str(d["owner"]), str(d["secret"]))
                        for sn, d in data.get("devices", {}).items()}
        self._mtime = mtime

    def login(self, name: str, password: str) -> bool:
        self.reload()
        stored = self.accounts.get(name)
        if stored is None:
            protocol.hash_password(password)      # the same time for an unknown name
            return False
        return protocol.password_matches(password, stored)

    def device(self, sn: str) -> Device | None:
        self.reload()
        return self.devices.get(sn)

    # --- writing (the CLI) -------------------------------------------------------------------
    def add_account(self, name: str, password: str) -> None:
        if not _NAME.match(name):
            raise ConfigError(f"account name {name!r}: 1-64 letters, digits or ._@-")
        if not password:
            raise ConfigError("the password must not be empty")
        self.accounts[name] = protocol.hash_password(password)
        self._save()

    def add_device(self, sn_text: str, owner: str) -> str:
        """Add (or re-key) a device; return its new secret, which is kept only as a hash."""
        sn = protocol.normal_serial(sn_text)
        if sn is None:
            raise ConfigError(f"serial number {sn_text!r}: letters, digits and dashes")
        if owner not in self.accounts:
            raise ConfigError(f"no account {owner!r}: add it first (drp-server user add)")
        secret = protocol.new_secret()
        self.devices[sn] = Device(sn, owner, protocol.hash_secret(secret))
        self._save()
        return secret

    def remove_account(self, name: str) -> bool:
        if self.accounts.pop(name, None) is None:
            return False
        self._save()
        return True

    def remove_device(self, sn_text: str) -> bool:
        if self.devices.pop(protocol.normal_serial(sn_text) or sn_text, None) is None:
            return False
        self._save()
        return True

    def _save(self) -> None:
        data = {"accounts": self.accounts,
                "devices": {d.sn: {"owner": d.owner, "secret": d.secret_hash}
                            for d in self.devices.values()}}
        os.makedirs(self._state_dir, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._state_dir, prefix=".drp-state.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._mtime = os.stat(self.path).st_mtime_ns
