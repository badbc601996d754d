"""The shipped systemd unit, udev rules, system user and configuration file, checked offline.

The package test (tests/package/run.sh) checks the same files again inside a Debian 12 system
where the package is installed and booted; these checks run in the normal suite.
"""
from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess

import pytest

from smsd import config
from smsd.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIT = os.path.join(ROOT, "systemd", "smsd.service")
UDEV = os.path.join(ROOT, "debian", "smsd.udev")
CONF = os.path.join(ROOT, "debian", "smsd.conf")
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is not installed")


def unit_text() -> str:
    with open(UNIT, encoding="utf-8") as f:
        return f.read()


def service_section() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    section = ""
    for line in unit_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def verify(tmp_path, text: str) -> str:  # type: ignore[no-untyped-def]
    """systemd-analyze verify's output for `text` (the binary pointed at one that exists)."""
    path = tmp_path / "smsd.service"
    path.write_text(text.replace("/usr/bin/smsd", "/bin/true"), encoding="utf-8")
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)],
                          capture_output=True, text=True, timeout=60)
    return (proc.stdout + proc.stderr).strip()


@needs_analyze
def test_unit_verifies_silently(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert verify(tmp_path, unit_text()) == ""


@needs_analyze
def test_verify_does_complain_about_a_bad_value(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # verify exits 0 on bad values: only its output tells, so make sure it would tell.
    broken = unit_text().replace("WatchdogSec=60", "WatchdogSec=sixty")
    assert "sixty" in verify(tmp_path, broken)


@needs_analyze
def test_security_exposure_is_2_5_or_better() -> None:
    proc = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", UNIT],
                          capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for smsd.service: ([0-9.]+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert float(match.group(1)) <= 2.5


def test_unit_is_a_watchdogged_unprivileged_notify_service() -> None:
    svc = service_section()
    assert svc["Type"] == ["notify"]
    assert int(svc["WatchdogSec"][0]) > 0
    assert svc["Restart"] == ["on-failure"]
    assert svc["RestartPreventExitStatus"] == ["2"]      # a config error does not loop
    assert svc["User"] == ["smsd"]
    assert set(svc["SupplementaryGroups"][0].split()) == {"dialout", "gpio"}
    assert svc["StateDirectory"] == ["smsd"] and svc["ConfigurationDirectory"] == ["smsd"]
    assert svc["AmbientCapabilities"] == svc["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert "--state-dir /var/lib/smsd" in svc["ExecStart"][0]
    assert "/etc/smsd/smsd.conf" in svc["ExecStart"][0]


def test_unit_lets_the_daemon_reach_its_devices_and_the_bus() -> None:
    svc = service_section()
    allowed = {v.split()[0] for v in svc["DeviceAllow"]}
    assert {"char-ttyUSB", "char-ttyACM", "char-ttyS", "char-gpiochip", "/dev/ptmx",
            "char-pts"} <= allowed
    assert "AF_UNIX" in svc["RestrictAddressFamilies"][0]   # the system bus
    assert "PrivateDevices" not in svc                    # it would hide the modem ports


def udev_rules() -> list[str]:
    with open(UDEV, encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def test_udev_rules_are_well_formed() -> None:
    key = r'(ACTION|SUBSYSTEM|KERNEL|ATTR\{\w+\}|ATTRS\{\w+\}|ENV\{[.\w]+\}|GROUP|MODE|' \
          r'SYMLINK|IMPORT\{builtin\}|GOTO|LABEL)'
    pair = re.compile(key + r'(==|!=|=|\+=)"[^"]*"')
    labels: set[str] = set()
    gotos: set[str] = set()
    for line in udev_rules():
        parts = [p.strip() for p in line.split(", ")]
        for part in parts:
            assert pair.fullmatch(part), f"bad rule item {part!r} in {line!r}"
            name, value = part.split("=", 1)[0].rstrip("=!+"), part.split('"')[1]
            if name == "LABEL":
                labels.add(value)
            elif name == "GOTO":
                gotos.add(value)
    assert gotos <= labels, f"GOTO without LABEL: {gotos - labels}"


def test_udev_rules_keep_modemmanager_off_and_name_ports_and_gpio() -> None:
    text = "\n".join(udev_rules())
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in text
    assert 'SYMLINK+="smsd/$env{ID_PATH}-at"' in text
    assert re.search(r'SUBSYSTEM=="gpio", KERNEL=="gpiochip\*", GROUP="gpio", MODE="0660"', text)


def test_system_user_gets_the_device_groups() -> None:
    with open(os.path.join(ROOT, "debian", "smsd.sysusers"), encoding="utf-8") as f:
        lines = [ln.split() for ln in f if ln.strip() and not ln.startswith("#")]
    assert ["g", "gpio", "-"] in lines
    assert ["m", "smsd", "dialout"] in lines and ["m", "smsd", "gpio"] in lines
    assert any(ln[:2] == ["u", "smsd"] for ln in lines)


def test_shipped_config_parses_and_asks_for_ports() -> None:
    values = config.load_file(CONF)
    assert values["listen"] == ("0.0.0.0:80",)
    with pytest.raises(ConfigError, match="no modem ports"):
        config.build(values, {})
    assert config.build(values, {"simulate": 8}).port_count == 8


def test_shipped_config_examples_work_when_uncommented(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with open(CONF, encoding="utf-8") as f:
        text = f.read()
    uncommented = re.sub(r"^# (\[(port\.\d|simulate)\]|(device|slots|baudrate|ports|latency) =)",
                         r"\1", text, flags=re.M)
    path = tmp_path / "smsd.conf"
    path.write_text(uncommented, encoding="utf-8")
    configparser.ConfigParser(interpolation=None).read_string(uncommented)
    cfg = config.build(config.load_file(str(path)), {})
    assert [p.device for p in cfg.serial_ports] == [
        "/dev/smsd/platform-xhci-hcd.0-usb-0:1.1:1.0-at", "/dev/ttyS1"]
    assert cfg.simulate == 8
