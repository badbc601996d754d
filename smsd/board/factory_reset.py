"""Factory reset: forget everything the box learned, so the next start is a first start.

What "factory settings" means here: the state database (users, queue, inbox, routes, per-port
settings, push cursors) and the generated admin password file are deleted. The configuration
file and the board description are conffiles and stay. The daemon wipes only after it stopped
(the store is closed, so no writer races the deletion), then exits with FACTORY_RESET_EXIT;
systemd restarts it (Restart=on-failure) and the fresh start creates a new admin account and
writes its new password file.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger("smsd.board")

FACTORY_RESET_EXIT = 3
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def wipe_state(state_dir: str, database: str, others: tuple[str, ...] = ()) -> list[str]:
    """Delete the database (with its WAL files) and `others` in state_dir; return what went."""
    names = [database + suffix for suffix in SQLITE_COMPANIONS] + list(others)
    removed = []
    for name in names:
        path = os.path.join(state_dir, name)
        try:
            os.remove(path)
        except FileNotFoundError:
            continue
        removed.append(path)
    log.warning("factory reset: removed %s", ", ".join(removed) or "nothing")
    return removed
