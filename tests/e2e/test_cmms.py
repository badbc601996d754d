"""The worker keeps a busy port's radio link open with AT+CMMS=2 (issue 20): on a board whose
modems pay a long link set-up before each submit unless the link is held (`python -m smsd.sim
--link-setup`, smsd/sim/cmms.py), a run of messages on one port pays it once, not per part."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from e2e.harness import Daemon, journal_counts, wait_for

LATENCY = 0.05
SETUP = 1.0
MESSAGES = 4          # one of them long: 2 parts


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    journal = str(tmp_path / "network.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "smsd.sim", "--ports", "1", "--latency",
                             str(LATENCY), "--link-setup", str(SETUP), "--journal", journal],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    yield json.loads(proc.stdout.readline())["devices"], journal
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_a_run_of_messages_sets_the_link_up_once(tmp_path: Path,
                                                  board: tuple[list[str], str]) -> None:
    devices, journal = board
    config = tmp_path / "smsd.conf"
    config.write_text(f"[port.0]\ndevice = {devices[0]}\n")
    d = Daemon(str(tmp_path / "state"), ports=1)
    d.args = [sys.executable, "-m", "smsd", "run", "--config", str(config), "--listen",
              f"127.0.0.1:{d.port}", "--state-dir", d.state_dir, "--admin-password", d.password]
    try:
        d.start()
        began = time.monotonic()
        texts = [f"cmms {i}" for i in range(MESSAGES - 1)] + ["long " * 40]
        for text in texts:
            reply = d.api("send_sms", {"text": text, "param": [{"number": "+447700900123"}]})
            assert reply["error_code"] == 202, reply
        wait_for(lambda: sum(journal_counts(journal).values()) == MESSAGES + 1, 30,
                 interval=0.02, what="every part on the air")
        took = time.monotonic() - began
    finally:
        d.stop()
    # Five parts: without the link held each pays SETUP, 5 s at least; held, the first pays it
    # and the rest only their submits and the worker's own steps between them.
    assert SETUP < took < 3 * SETUP, took
