"""The waits of a modem worker."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Every wait of the worker, in seconds; tests shrink them."""

    command: float = 5.0
    cmgs: float = 60.0           # after the prompt; the prompt itself gets `command`
    ussd: float = 30.0
    boot: float = 30.0           # ready URCs after AT+CFUN=1,1 / power on
    sim_ready: float = 15.0      # +CPIN: READY after a slot switch
    refresh: float = 30.0        # periodic signal/registration refresh while idle
    probe: float = 2.0
    probe_tries: int = 3
    quarantine_retry: float = 60.0
    reappear: float = 10.0       # a vanished device (USB re-enumerating) may take this to return
    idle_wait: float = 1.0


# The [modem] section of the config (docs/recovery.md): key -> Timing field.
CONFIG_KEYS: dict[str, str] = {
    "command_timeout": "command", "probe_timeout": "probe", "boot_timeout": "boot",
    "quarantine_retry": "quarantine_retry", "reappear": "reappear"}
MAX_SECONDS = 86400.0


def from_config(section: Mapping[str, str]) -> Timing:
    """A Timing with the section's keys (seconds, > 0) over the defaults; ValueError names the
    key that is wrong (the caller refuses unknown keys)."""
    changes: dict[str, Any] = {}         # float fields only (CONFIG_KEYS)
    for key, name in CONFIG_KEYS.items():
        if key in section:
            try:
                value = float(section[key])
            except ValueError:
                raise ValueError(f"[modem] {key}: seconds expected, not {section[key]!r}") \
                    from None
            if not 0 < value <= MAX_SECONDS:          # NaN fails this too
                raise ValueError(f"[modem] {key} must be > 0 and at most {MAX_SECONDS:g}")
            changes[name] = value
    return replace(Timing(), **changes)
