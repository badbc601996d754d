"""The daemon makes its state files owner-only whatever umask it was started with (issue 13):
the database, its WAL files and the admin-password file hold secrets and every message."""
from __future__ import annotations

import os
import stat
from pathlib import Path


def test_a_fresh_state_dir_is_private_after_a_real_start(make_daemon) -> None:  # type: ignore[no-untyped-def]
    old = os.umask(0o022)                 # the unit's default; the daemon must not rely on it
    try:
        d = make_daemon(admin_password=None).start(wait_ports=False)
    finally:
        os.umask(old)
    state = Path(d.state_dir)
    names = sorted(p.name for p in state.iterdir())
    assert {"smsd.db", "smsd.db-wal", "smsd.db-shm", "admin-password"} <= set(names), names
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in state.iterdir() if p.is_file()}
    assert modes == {name: 0o600 for name in modes}
    assert stat.S_IMODE(state.stat().st_mode) & 0o027 == 0       # nothing for group or others
