"""Board description files: what a good one yields, and how a broken one is refused."""
from __future__ import annotations

from pathlib import Path

import pytest

from smsd import config
from smsd.board.description import load, parse
from smsd.errors import ConfigError

GOOD = """\
# an 2-port board
[board]
name = test board
button = GPIO21
button_hold = 3
confirm_window = 8

[port.0]
device = /dev/serial/by-id/modem-0
model = quectel
power_key = GPIO5
reset = BCM6
power_enable = 13
status = GPIO19
sim_mux = GPIO20, GPIO26
led = GPIO12

[port.1]
device = /dev/serial/by-id/modem-1   ; trailing comment
model = SIMCom
power_key = GPIO7
active_high = no
status_active_high = false
slots = 2
"""


def test_good_description() -> None:
    desc = parse(GOOD, "b.ini")
    assert (desc.name, desc.button, desc.button_hold, desc.confirm_window) == \
        ("test board", "GPIO21", 3.0, 8.0)
    p0, p1 = desc.ports
    assert (p0.device, p0.model, p0.power_key, p0.reset, p0.power_enable, p0.status, p0.led) == \
        ("/dev/serial/by-id/modem-0", "quectel", "GPIO5", "GPIO6", "GPIO13", "GPIO19", "GPIO12")
    assert p0.sim_mux == ("GPIO20", "GPIO26") and p0.slots == 4 and p0.active_high
    assert (p1.device, p1.model, p1.slots, p1.reset, p1.led) == \
        ("/dev/serial/by-id/modem-1", "simcom", 2, None, None)
    assert not p1.active_high and not p1.status_active_high
    assert desc.port(1) is p1


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text, "b.ini")
    return str(info.value)


def _broken(key_line: str, section_extra: str = "") -> str:
    return ("[board]\nname = x\n\n[port.0]\ndevice = /dev/ttyUSB0\n"
            f"{key_line}\n{section_extra}")


@pytest.mark.parametrize("line, fragment", [
    ("power_kee = GPIO5", "b.ini:6: [port.0] power_kee: unknown key"),
    ("power_key = GPIOX", "b.ini:6: [port.0] power_key: 'GPIOX' is not a GPIO pin"),
    ("model = huawei", "b.ini:6: [port.0] model: 'huawei' is not one of quectel, simcom"),
    ("slots = 9", "b.ini:6: [port.0] slots: 9 is outside 1..4"),
    ("baudrate = fast", "b.ini:6: [port.0] baudrate: 'fast' is not a number"),
    ("active_high = maybe", "b.ini:6: [port.0] active_high: 'maybe' is not yes/no"),
    ("sim_mux = GPIO1, GPIO2, GPIO3", "b.ini:6: [port.0] sim_mux: give one or two"),
    ("sim_mux = GPIO20\nslots = 4", "b.ini:7: [port.0] slots: 4 slots need 2 sim_mux line(s)"),
])
def test_broken_values_name_file_line_section_and_key(line: str, fragment: str) -> None:
    assert fragment in _error(_broken(line))


def test_a_pin_used_twice_names_both_uses() -> None:
    text = _broken("power_key = GPIO5\nreset = BCM5")
    assert "b.ini:7: [port.0] reset: GPIO5 is already used by [port.0] power_key" in _error(text)


def test_a_pin_used_twice_across_ports_and_the_button() -> None:
    text = "[board]\nbutton = 21\n[port.3]\ndevice = /dev/x\n\n\nled = GPIO21\n"
    assert "b.ini:7: [port.3] led: GPIO21 is already used by [board] button" in _error(text)


@pytest.mark.parametrize("text, fragment", [
    ("[port.0]\nmodel = quectel\n", "b.ini:1: [port.0]: 'device'"),
    ("[port.40]\ndevice = /dev/x\n", "b.ini:1: [port.40]: port sections are"),
    ("[port.0]\ndevice = /dev/x\n[modem]\nx = 1\n", "b.ini:3: [modem]: unknown section"),
    ("[board]\nname = x\n", "b.ini: no [port.N] sections"),
    ("[board]\nbutton_hold = 0\n[port.0]\ndevice = /d\n", "b.ini:2: [board] button_hold: 0.0"),
    ("[board]\nname = x\n[board]\n", "b.ini: While reading from 'b.ini' [line  3]"),
    ("device = /dev/x\n", "b.ini: File contains no section headers"),
])
def test_broken_structure(text: str, fragment: str) -> None:
    assert fragment in _error(text)


def test_key_lines_survive_continuations_and_comments() -> None:
    text = ("[port.0]\n; a comment = not a key\ndevice = /dev/x\nsim_mux = GPIO1,\n"
            "  GPIO2\n\n# another\nled = nope\n")
    assert "b.ini:8: [port.0] led: 'NOPE'" in _error(text)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read board description .*none.ini"):
        load(str(tmp_path / "none.ini"))


def _build(tmp_path: Path, text: str, **overrides: object) -> config.Config:
    path = tmp_path / "board.ini"
    path.write_text(text)
    return config.build({}, {"board": str(path), **overrides})


def test_config_takes_the_serial_ports_from_the_board(tmp_path: Path) -> None:
    cfg = _build(tmp_path, GOOD)
    assert cfg.port_count == 2 and cfg.board_description is not None
    assert [(p.port, p.device, p.slots) for p in cfg.serial_ports] == \
        [(0, "/dev/serial/by-id/modem-0", 4), (1, "/dev/serial/by-id/modem-1", 2)]


def test_config_refuses_a_broken_board_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"board.ini:6: \[port.0\] power_kee"):
        _build(tmp_path, _broken("power_kee = GPIO5"))


def test_config_board_from_the_daemon_section(tmp_path: Path) -> None:
    (tmp_path / "board.ini").write_text(GOOD)
    conf = tmp_path / "smsd.ini"
    conf.write_text(f"[daemon]\nboard = {tmp_path / 'board.ini'}\n")
    cfg = config.build(config.load_file(str(conf)), {})
    assert cfg.board_description is not None and cfg.port_count == 2


def test_config_refuses_ports_given_twice(tmp_path: Path) -> None:
    (tmp_path / "board.ini").write_text(GOOD)
    conf = tmp_path / "smsd.ini"
    conf.write_text(f"[daemon]\nboard = {tmp_path / 'board.ini'}\n[port.0]\ndevice = /dev/x\n")
    with pytest.raises(ConfigError, match="both in the config's"):
        config.build(config.load_file(str(conf)), {})


def test_simulate_with_a_board_checks_the_port_count(tmp_path: Path) -> None:
    cfg = _build(tmp_path, GOOD, simulate=2)
    assert cfg.board_description is not None and cfg.serial_ports == ()
    with pytest.raises(ConfigError, match=r"board.ini:18: \[port.1\]: the simulated board has"):
        _build(tmp_path, GOOD, simulate=1)


def test_the_documented_example_is_a_valid_description() -> None:
    manual = (Path(__file__).parent.parent / "docs" / "board.md").read_text(encoding="utf-8")
    example = manual.split("```ini\n", 1)[1].split("```", 1)[0]
    desc = parse(example, "docs/board.md")
    assert [p.port for p in desc.ports] == [0, 1] and desc.button == "GPIO21"
