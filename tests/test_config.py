"""Start-up configuration: the INI file and command-line overrides."""
from __future__ import annotations

import pytest

from smsd import config
from smsd.errors import ConfigError


def write(tmp_path, text: str) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "smsd.conf"
    path.write_text(text)
    return str(path)


def test_file_values_and_overrides(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "[daemon]\nlisten = 127.0.0.1:80, :9501\nstate_dir = /tmp/x\n"
                           "[push]\nurl = http://127.0.0.1:9/a\n"
                           "[port.1]\ndevice = /dev/ttySMS1\nslots = 4\n[port.0]\ndevice = /dev/ttySMS0\n")
    cfg = config.build(config.load_file(path), {"state_dir": "/tmp/y", "listen": None})
    assert cfg.listen == ("127.0.0.1:80", "0.0.0.0:9501")
    assert cfg.state_dir == "/tmp/y" and cfg.push_urls == ("http://127.0.0.1:9/a",)
    assert [(p.port, p.device, p.slots) for p in cfg.serial_ports] == [
        (0, "/dev/ttySMS0", 1), (1, "/dev/ttySMS1", 4)]
    assert cfg.port_count == 2


@pytest.mark.parametrize("text, fragment", [
    ("[daemon\nlisten = x", "line: 1"),
    ("[simulate]\nports = 40\n", "smsd.conf:2: [simulate] ports: 40 is outside 1..32"),
    ("# a comment\n[simulate]\nslots = 1\nports = many\n", "smsd.conf:4: [simulate] ports:"),
    ("[daemon]\nlisten = nowhere\n", "HOST:PORT"),
    ("[port.0]\nslots = 2\n", "smsd.conf:1: [port.0]: 'device' is required"),
    ("[port.x]\ndevice = /dev/a\n", "[port.0] .. [port.31]"),
])
def test_broken_files_are_refused_with_a_clear_message(tmp_path, text: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as err:
        config.build(config.load_file(write(tmp_path, text)), {})
    assert fragment in str(err.value)


def test_no_ports_is_refused() -> None:
    with pytest.raises(ConfigError, match="no modem ports"):
        config.build({}, {})
    with pytest.raises(ConfigError, match="1..4"):
        config.build({}, {"simulate": 2, "slots": 5})


def test_drain_timeout_from_the_file_and_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert config.build({}, {"simulate": 1}).drain_timeout == config.DEFAULT_DRAIN_TIMEOUT
    path = write(tmp_path, "[daemon]\ndrain_timeout = 120\n")
    assert config.build(config.load_file(path), {"simulate": 1}).drain_timeout == 120.0
    assert config.build(config.load_file(path), {"simulate": 1,
                                                 "drain_timeout": 0.5}).drain_timeout == 0.5
    with pytest.raises(ConfigError, match=r"smsd.conf:2: \[daemon\] drain_timeout: 4000 is outside"):
        config.load_file(write(tmp_path, "[daemon]\ndrain_timeout = 4000\n"))
    for bad in (-1.0, float("nan")):
        with pytest.raises(ConfigError, match="--drain-timeout"):
            config.build({}, {"simulate": 1, "drain_timeout": bad})
