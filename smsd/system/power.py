"""Restart, reboot and factory reset asked for on the System page, done without privileges.

The daemon runs as the unprivileged user smsd under systemd (smsd.service, Restart=on-failure):
- restart: the daemon stops as on SIGTERM (the parts on the air finish) and exits with
  RESTART_EXIT, a failure status systemd restarts it on;
- factory reset: the same stop, then the state is wiped (smsd/board/factory_reset.py, the reset
  button's way) and the exit status FACTORY_RESET_EXIT restarts it on a fresh state;
- reboot: a request file in the state dir that smsd-reboot.path (root) acts on, the way
  smsd-update.path installs a staged update: the daemon is never given the right to reboot.
A daemon not started by systemd (a shell, the tests, simulate mode) would not come back after
exiting, so these are refused there, saying why.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Mapping

from smsd.errors import ServiceError

log = logging.getLogger("smsd")

RESTART_EXIT = 4
REBOOT_REQUEST = "reboot-request"       # smsd-reboot.path watches /var/lib/smsd/reboot-request


class SystemUnavailable(ServiceError):
    """This daemon cannot do that here (not run by systemd, simulate mode); the message says why.
    Defined here, below the service that raises it too (svc.system without controls), as
    TlsUnavailable and NetworkUnavailable are beside what they guard."""

    reason = "system_unavailable"


def under_systemd(env: Mapping[str, str] | None = None) -> bool:
    """Started by systemd as a service (it sets INVOCATION_ID for every unit it runs)."""
    return bool((os.environ if env is None else env).get("INVOCATION_ID"))


class DaemonControls:
    def __init__(self, state_dir: str, *, simulate: bool, stop: Callable[[str], None],
                 env: Mapping[str, str] | None = None) -> None:
        """`stop(reason)`: the daemon's graceful stop, reason "restart" or "factory_reset"."""
        self._state_dir = state_dir
        self._simulate = simulate
        self._stop = stop
        self._systemd = under_systemd(env)

    def restart(self) -> None:
        self._need_systemd("restart itself")
        log.warning("restart asked for on the System page")
        self._stop("restart")

    def factory_reset(self) -> None:
        self._need_systemd("come back after a factory reset")
        log.warning("factory reset asked for on the System page")
        self._stop("factory_reset")

    def reboot(self) -> None:
        if self._simulate:
            raise SystemUnavailable("simulate mode: a simulated box does not reboot "
                                    "(restart the daemon instead)")
        self._need_systemd("reboot the box")
        path = os.path.join(self._state_dir, REBOOT_REQUEST)
        with open(path, "w", encoding="ascii") as f:
            f.write("reboot\n")
        log.warning("reboot asked for on the System page")

    def _need_systemd(self, what: str) -> None:
        if not self._systemd:
            raise SystemUnavailable(f"this daemon cannot {what}: it is not run by smsd.service "
                                    "(systemd would start it again; a daemon started by hand "
                                    "would just stop)")
