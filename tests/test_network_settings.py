"""Network settings: validation before anything is written, the .network file, atomic writes,
and the [network] config section."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from smsd import config
from smsd.errors import BadRequest, ConfigError
from smsd.system.network import (InvalidNetworkSettings, NetworkSettings, parse, read_file,
                                 render, write_atomic)

STATIC = NetworkSettings(interface="eth0", dhcp=False, address="192.168.10.20", prefix=24,
                         gateway="192.168.10.1", dns=("192.168.10.1", "9.9.9.9"),
                         ntp_servers=("ntp.example.org", "192.168.10.1"), hostname="smsd-lab",
                         timezone="Europe/London", ntp=True)


@pytest.mark.parametrize("changes, fragment", [
    ({"address": "192.168.10.300"}, "address '192.168.10.300' is not an IP address"),
    ({"address": ""}, "a static set-up needs an address"),
    ({"prefix": 33}, "prefix 33: must be 1..32"),
    ({"prefix": 0}, "prefix 0: must be 1..32"),
    ({"prefix": "24"}, "prefix must be a whole number"),
    ({"gateway": "10.0.0.1"}, "gateway 10.0.0.1 is outside 192.168.10.0/24"),
    ({"gateway": "192.168.10.20"}, "the box's own address"),
    ({"gateway": "fe80::1x"}, "gateway 'fe80::1x' is not an IP address"),
    ({"gateway": "2001:db8::1"}, "not the same IP version"),
    ({"address": "192.168.10.0"}, "network or broadcast address"),
    ({"address": "192.168.10.255"}, "network or broadcast address"),
    ({"address": "127.0.0.5", "gateway": ""}, "not a usable host address"),
    ({"address": "224.0.0.9", "gateway": ""}, "not a usable host address"),
    ({"dns": ("dns.example.org",)}, "DNS server 'dns.example.org' is not an IP address"),
    ({"dns": ["9.9.9.9"]}, "dns must be a list of text"),
    ({"dns": tuple(f"10.0.0.{i}" for i in range(9))}, "at most 8 DNS"),
    ({"ntp_servers": ("bad_name.example",)}, "NTP server 'bad_name.example'"),
    ({"hostname": ""}, "hostname '': 1 to 64 characters"),
    ({"hostname": "-smsd"}, "labels of letters, digits and inner hyphens"),
    ({"hostname": "smsd-"}, "labels of letters, digits and inner hyphens"),
    ({"hostname": "sms_d"}, "labels of letters, digits and inner hyphens"),
    ({"hostname": "a" * 65}, "1 to 64 characters"),
    ({"hostname": "box..lan"}, "labels of letters"),
    ({"hostname": "box.42"}, "the last label must not be all digits"),
    ({"timezone": "Mars/Olympus"}, "time zone 'Mars/Olympus' is unknown"),
    ({"timezone": "../etc/passwd"}, "is not a zone name"),
    ({"interface": ""}, "interface ''"),
    ({"interface": "eth0/../x"}, "interface"),
    ({"interface": "averyveryverylongname"}, "1 to 15"),
    ({"ntp": "yes"}, "ntp must be true or false"),
])
def test_bad_settings_are_refused_naming_the_field(changes: dict, fragment: str) -> None:
    with pytest.raises(InvalidNetworkSettings) as err:
        replace(STATIC, **changes).validate()
    assert fragment in str(err.value)
    assert isinstance(err.value, BadRequest) and err.value.reason == "network_settings"


def test_dhcp_refuses_a_static_address_or_gateway() -> None:
    with pytest.raises(InvalidNetworkSettings, match="given by DHCP"):
        replace(STATIC, dhcp=True).validate()
    with pytest.raises(InvalidNetworkSettings, match="given by DHCP"):
        NetworkSettings(dhcp=True, gateway="192.168.1.1").validate()


@pytest.mark.parametrize("settings", [
    STATIC,
    NetworkSettings(),
    NetworkSettings(dhcp=True, dns=("2001:4860:4860::8888",), ntp_servers=("pool.ntp.org",)),
    NetworkSettings(dhcp=False, address="2001:db8::20", prefix=64, gateway="fe80::1",
                    hostname="gw", timezone="UTC"),
    NetworkSettings(dhcp=False, address="10.1.1.0", prefix=31, gateway="10.1.1.1"),
    NetworkSettings(dhcp=False, address="172.16.0.9", prefix=16, hostname="box.lan"),
])
def test_good_settings_pass_and_survive_the_file(settings: NetworkSettings) -> None:
    assert settings.validate() is settings
    back = parse(render(settings), replace(NetworkSettings(), hostname=settings.hostname,
                                           timezone=settings.timezone, ntp=settings.ntp))
    assert back == settings


def test_static_file_layout() -> None:
    lines = render(STATIC).splitlines()
    assert lines[0].startswith("#")
    assert lines[1:] == ["", "[Match]", "Name=eth0", "", "[Network]", "DHCP=no",
                         "Address=192.168.10.20/24", "Gateway=192.168.10.1",
                         "DNS=192.168.10.1", "DNS=9.9.9.9",
                         "NTP=ntp.example.org 192.168.10.1"]


def test_dhcp_file_has_no_address_or_gateway() -> None:
    text = render(NetworkSettings(interface="enp1s0", dns=("1.1.1.1",)))
    assert "Name=enp1s0\n" in text and "DHCP=yes\n" in text and "DNS=1.1.1.1\n" in text
    assert "Address=" not in text and "Gateway=" not in text and "NTP=" not in text


def test_from_mapping_takes_lists_and_refuses_unknown_keys() -> None:
    s = NetworkSettings.from_mapping({"dhcp": False, "address": "10.0.0.2", "prefix": 8,
                                      "dns": ["10.0.0.1"], "hostname": "box"})
    assert s.dns == ("10.0.0.1",) and s.prefix == 8 and s.validate() is s
    with pytest.raises(InvalidNetworkSettings, match="unknown network setting.*netmask"):
        NetworkSettings.from_mapping({"netmask": "255.0.0.0"})


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = str(tmp_path / "10-smsd.network")
    write_atomic(path, "old\n")
    write_atomic(path, "new\n", 0o640)
    assert read_file(path) == "new\n"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["10-smsd.network"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = str(tmp_path / "10-smsd.network")
    write_atomic(path, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "half \udc80 written")         # cannot be encoded: fails mid-write
    assert read_file(path) == "old\n"
    assert os.listdir(tmp_path) == ["10-smsd.network"]
    assert read_file(str(tmp_path / "absent")) is None


def test_network_config_section(tmp_path: Path) -> None:
    path = tmp_path / "smsd.conf"
    path.write_text("[network]\nmanage = yes\ndir = /run/test-net\ninterface = enp2s0\n")
    cfg = config.build(config.load_file(str(path)), {"simulate": 1})
    assert (cfg.network_manage, cfg.network_dir, cfg.network_interface) == (
        True, "/run/test-net", "enp2s0")
    assert config.build({}, {"simulate": 1}).network_manage is False
    path.write_text("[network]\nmanage = perhaps\n")
    with pytest.raises(ConfigError, match=r"\[network\] manage: 'perhaps' is not yes or no"):
        config.load_file(str(path))
