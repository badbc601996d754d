"""The daemon with a board: simulate mode drives the modules through the Board on mock pins,
the front-panel button's confirmed factory reset wipes the state, and a broken description
stops the daemon before anything starts."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smsd import cli, config
from smsd.board.board import LED_ON
from smsd.board.factory_reset import FACTORY_RESET_EXIT
from smsd.daemon import ADMIN_PASSWORD_FILE, DB_FILE, Daemon
from smsd.errors import ConfigError
from tests.e2e.harness import reserved_port as free_port, wait_for   # parallel workers

BOARD = """\
[board]
name = bench
button = GPIO21
button_hold = 0.2
confirm_window = 2

[port.0]
device = replaced-by-the-simulator
power_key = GPIO5
reset = GPIO6
power_enable = GPIO13
status = GPIO19
led = GPIO12
"""


def press(pin, seconds: float) -> None:  # type: ignore[no-untyped-def]
    pin.drive_low()
    time.sleep(seconds)
    pin.drive_high()
    time.sleep(0.05)


def test_simulate_mode_runs_the_board_and_a_confirmed_reset_wipes(tmp_path: Path) -> None:
    (tmp_path / "board.ini").write_text(BOARD)
    cfg = config.build({}, {"simulate": 1, "sim_latency": 0.02,
                            "board": str(tmp_path / "board.ini"),
                            "state_dir": str(tmp_path / "state"),
                            "listen": (f"127.0.0.1:{free_port()}",)})
    daemon = Daemon(cfg)
    daemon.start()
    try:
        assert set(daemon.workers[0]._hooks) == {"reset_line", "power_key", "power_enable"}
        wait_for(lambda: daemon.gpio.led_mode(0) == LED_ON, what="port 0 LED on (registered)")
        assert daemon.gpio.status(0) is True              # the simulated module's STATUS pin
        button = daemon.gpio.button.pin
        press(button, 0.4)
        assert not daemon.stopping.is_set()               # armed, not yet confirmed
        press(button, 0.05)
        assert daemon.stopping.wait(2) and daemon.factory_reset
    finally:
        daemon.stop()
    state = tmp_path / "state"
    assert (state / DB_FILE).exists() and (state / ADMIN_PASSWORD_FILE).exists()
    assert daemon.after_stop() == FACTORY_RESET_EXIT
    assert not (state / DB_FILE).exists() and not (state / ADMIN_PASSWORD_FILE).exists()
    assert not any(name.startswith(DB_FILE) for name in os.listdir(state))


def test_a_broken_board_description_stops_the_daemon_before_it_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "board.ini").write_text(BOARD.replace("status = GPIO19", "status = GPIO5"))
    state = tmp_path / "state"
    status = cli.main(["run", "--board", str(tmp_path / "board.ini"), "--state-dir", str(state)])
    assert status == 2
    assert "board.ini:12: [port.0] status: GPIO5 is already used by [port.0] power_key" \
        in capsys.readouterr().err
    assert not state.exists()                             # nothing was started or created


def _on_a_raspberry_pi() -> bool:
    try:
        with open("/proc/device-tree/model", encoding="ascii", errors="replace") as f:
            return "Raspberry" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(_on_a_raspberry_pi(), reason="real GPIO is available here")
def test_without_gpio_the_daemon_refuses_to_start_naming_the_port(tmp_path: Path) -> None:
    (tmp_path / "board.ini").write_text(BOARD.replace("replaced-by-the-simulator", "/dev/null"))
    cfg = config.build({}, {"board": str(tmp_path / "board.ini"), "state_dir": str(tmp_path),
                            "listen": (f"127.0.0.1:{free_port()}",)})
    daemon = Daemon(cfg)
    with pytest.warns(Warning), pytest.raises(ConfigError,
                                              match=r"board.ini:7: \[port.0\]: cannot set up"):
        daemon.start()
    daemon.stop()
    assert daemon.workers == {} and daemon.server is None     # nothing half-started


@pytest.mark.skipif(_on_a_raspberry_pi(), reason="real GPIO is available here")
def test_without_gpio_the_daemon_exits_2_so_systemd_does_not_loop(tmp_path: Path) -> None:
    (tmp_path / "board.ini").write_text(BOARD.replace("replaced-by-the-simulator", "/dev/null"))
    run = subprocess.run([sys.executable, "-m", "smsd", "run",
                          "--board", str(tmp_path / "board.ini"),
                          "--state-dir", str(tmp_path / "state"),
                          "--listen", f"127.0.0.1:{free_port()}"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "board.ini:7: [port.0]: cannot set up the GPIO line(s)" in run.stderr
