"""The daemon's announcement of a new admin account: the password goes to a terminal or a pipe
(`make run`, scripts), never into systemd's journal, which would keep it (the appliance shows it
from the saved file instead, e.g. after a factory reset)."""
from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from e2e.harness import Daemon
from smsd.daemon import stdout_is_journal


def _announcement(tmp_path: Path, journal: bool) -> tuple[str, str]:
    """The daemon's admin line and saved password, its stdout a pipe that JOURNAL_STREAM names
    (as systemd sets it when stdout is the journal) or not."""
    args = Daemon(str(tmp_path / "state"), ports=1, admin_password=None).args
    r, w = os.pipe()
    st = os.fstat(w)
    env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}" if journal else "0:0"}
    proc = subprocess.Popen(args, stdout=w, stderr=subprocess.STDOUT, env=env)
    os.close(w)
    guard = threading.Timer(30, proc.kill)                  # a hung start ends the read loop
    guard.start()
    try:
        with os.fdopen(r) as out:
            line = next((x for x in out if "admin account created" in x), "")
    finally:
        guard.cancel()
        proc.terminate()
        proc.wait(15)
    return line, (tmp_path / "state" / "admin-password").read_text().strip()


def test_a_pipe_gets_the_password(tmp_path: Path) -> None:
    line, saved = _announcement(tmp_path, journal=False)
    assert saved and f"password '{saved}'" in line


def test_the_journal_gets_only_where_it_is_saved(tmp_path: Path) -> None:
    line, saved = _announcement(tmp_path, journal=True)
    assert saved and saved not in line
    assert "password saved in" in line and line.rstrip().endswith("(mode 0600)")


def test_stdout_is_journal_matches_only_its_own_stream() -> None:
    r, w = os.pipe()
    try:
        st = os.fstat(w)
        assert stdout_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, w)
        assert not stdout_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}, w)
        assert not stdout_is_journal({}, w)
    finally:
        os.close(r)
        os.close(w)
