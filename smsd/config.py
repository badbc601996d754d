"""Start-up configuration: one INI file (a Debian conffile) plus command-line overrides.

Only what the box needs to start lives here; settings users change at run time live in the
database. `load()` returns a frozen Config or raises ConfigError naming the section and key (and
the line), so a broken file stops the daemon before anything starts. A section or key the daemon
does not know is refused too: a typo would otherwise silently leave a setting at its default.
"""
from __future__ import annotations

import argparse
import configparser
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from smsd.board import description as board_description
from smsd.board.description import BoardDescription
from smsd.drp import settings as drp_settings
from smsd.modem import timing as modem_timing
from smsd.errors import ConfigError

DEFAULT_STATE_DIR = "/var/lib/smsd"   # the package's; `make run` gives --state-dir state
DEFAULT_LISTEN = ("127.0.0.1:8080",)
LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_SIM_LATENCY = 3.0      # seconds per SMS part: a realistic LTE submit time
# Seconds a stop waits for the parts on the air; under the unit's TimeoutStopSec=90, which
# leaves the rest of the stop its time.
DEFAULT_DRAIN_TIMEOUT = 80.0
MAX_DRAIN_TIMEOUT = 3600
DEFAULT_SESSION_IDLE = 30 * 60.0   # a web console session ends after this long without a request
MAX_SESSION_IDLE_MINUTES = 24 * 60
DEFAULT_SMPP_MAX_QUEUE = 10_000   # messages waiting; SMPP answers ESME_RTHROTTLED beyond


@dataclass(frozen=True)
class SerialPortConfig:
    port: int
    device: str
    slots: int = 1
    baudrate: int = 115200


@dataclass(frozen=True)
class Config:
    state_dir: str = DEFAULT_STATE_DIR
    listen: tuple[str, ...] = DEFAULT_LISTEN
    tls_listen: tuple[str, ...] = ()        # HTTPS listen addresses (HOST:PORT)
    tls_cert: str | None = None             # PEM certificate (chain) for HTTPS; with tls_key
    tls_key: str | None = None              # else a self-signed one in the state dir
    log_level: str = "info"
    simulate: int = 0                       # 0 = real serial ports
    slots: int = 1
    sim_latency: float = DEFAULT_SIM_LATENCY
    sim_journal: str | None = None          # simulated network's record of every accepted SUBMIT
    admin_password: str | None = None
    push_urls: tuple[str, ...] = ()
    serial_ports: tuple[SerialPortConfig, ...] = ()
    http_threads: int = 16
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT
    board: str | None = None                # board description file (GPIO lines, LEDs, button)
    board_description: BoardDescription | None = None   # parsed from `board` by build()
    network_manage: bool = False            # [network] manage = yes: smsd owns the box's network
    network_dir: str = "/etc/systemd/network"
    network_interface: str = "eth0"         # the link managed before smsd wrote its file
    web_session_idle: float = DEFAULT_SESSION_IDLE   # seconds; [web] session_idle in minutes
    smpp_listen: str | None = None          # [smpp] listen: the SMPP server's HOST:PORT (off)
    smpp_max_queue: int = DEFAULT_SMPP_MAX_QUEUE   # submit_sm is throttled beyond this queue
    remote: drp_settings.RemoteSettings | None = None   # [remote]: the tunnel to a DRP relay
    modem_timing: modem_timing.Timing = modem_timing.Timing()   # [modem]: the workers' waits
    metrics_open_on_loopback: bool = True   # [metrics]: GET /metrics needs no login from the box
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def port_count(self) -> int:
        return self.simulate or len(self.serial_ports)


def parse_listen(value: str) -> str:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"listen address {value!r} must look like HOST:PORT")
    return f"{host or '0.0.0.0'}:{port}"


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.replace("\n", ",").split(",") if v.strip())


# Every section and key the file may hold ("port.N" stands for port.0 .. port.31).
SECTIONS: dict[str, frozenset[str]] = {
    "daemon": frozenset({"state_dir", "listen", "log_level", "http_threads", "board",
                         "drain_timeout", "tls_listen", "tls_cert", "tls_key"}),
    "push": frozenset({"url"}),
    "simulate": frozenset({"ports", "slots", "latency"}),
    "port.N": frozenset({"device", "slots", "baudrate"}),
    "network": frozenset({"manage", "dir", "interface"}),
    "web": frozenset({"session_idle"}),
    "smpp": frozenset({"listen", "max_queue"}),
    "metrics": frozenset({"open_on_loopback"}),
    "remote": drp_settings.REMOTE_KEYS,        # smsd/drp/settings.py
    "modem": frozenset(modem_timing.CONFIG_KEYS),   # smsd/modem/timing.py
    "drp-server": drp_settings.RELAY_KEYS,     # the relay's own (smsd drp-server --config)
}


def load_file(path: str) -> dict[str, Any]:
    """Read the INI file into Config field values."""
    # No section is special: configparser would copy the keys of a [DEFAULT] section into every
    # section; as an ordinary section name it is refused like any other unknown one. A newline
    # can never be part of a section header, so this name matches nothing in the file.
    parser = configparser.ConfigParser(interpolation=None, default_section="\n")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        parser.read_string(text, source=path)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except configparser.Error as exc:
        raise ConfigError(" ".join(str(exc).split())) from None
    values: dict[str, Any] = {}
    try:
        _check_known(parser)
        _read_daemon(parser, values)
        _read_simulate(parser, values)
        _read_ports(parser, values)
        _read_network(parser, values)
        _read_web(parser, values)
        _read_smpp(parser, values)
        _read_metrics(parser, values)
        values.update(drp_settings.read_remote(parser))
        if parser.has_section("modem"):
            values["modem_timing"] = modem_timing.from_config(parser["modem"])
    except (ValueError, ConfigError) as exc:
        raise ConfigError(f"{_where(path, text, str(exc))}: {exc}") from None
    return values


_PLACE = re.compile(r"\[(?P<section>[^\]]+)\](?: (?P<key>[^:]+))?:")


def _where(path: str, text: str, message: str) -> str:
    """`path:line` for a message that starts with "[section] key" (configparser keeps no lines)."""
    place = _PLACE.match(message)
    if place is None:
        return path
    lines = board_description.key_lines(text)
    section, key = place["section"], (place["key"] or "").lower()
    line = lines.get((section, key)) or lines.get((section, ""))
    return f"{path}:{line}" if line else path


def _check_known(parser: configparser.ConfigParser) -> None:
    """Refuse the first unknown section or key, in file order."""
    for name in parser.sections():
        known = SECTIONS.get("port.N" if name.startswith("port.") else name)
        if known is None:
            hint = board_description.did_you_mean(name, SECTIONS, "[%s]") \
                or f" (known: {', '.join(f'[{s}]' for s in SECTIONS)})"
            raise ConfigError(f"[{name}]: unknown section{hint}")
        for key in parser[name]:
            if key not in known:
                raise ConfigError(f"[{name}] {key}: unknown key{_key_hint(key, known)}")


def _key_hint(key: str, known: frozenset[str]) -> str:
    hint = board_description.did_you_mean(key, known)
    if hint:
        return hint
    homes = [f"[{s}]" for s, keys in SECTIONS.items() if key in keys]
    if homes:
        return f" (it belongs in {' or '.join(homes)})"
    return f" (known: {', '.join(sorted(known))})"


def _read_daemon(parser: configparser.ConfigParser, values: dict[str, Any]) -> None:
    if parser.has_section("daemon"):
        sec = parser["daemon"]
        if "state_dir" in sec:
            values["state_dir"] = sec["state_dir"]
        if "listen" in sec:
            values["listen"] = tuple(parse_listen(v) for v in _split(sec["listen"]))
        if "tls_listen" in sec:
            values["tls_listen"] = tuple(parse_listen(v) for v in _split(sec["tls_listen"]))
        for key in ("tls_cert", "tls_key"):
            if key in sec:
                values[key] = sec[key].strip() or None
        if "log_level" in sec:
            # Checked here, not only in validate(): every command that reads the file checks it.
            values["log_level"] = sec["log_level"].strip().lower()
            if values["log_level"] not in LOG_LEVELS:
                raise ConfigError(f"[daemon] log_level: {sec['log_level']!r} is not one of "
                                  f"{', '.join(LOG_LEVELS)}")
        if "http_threads" in sec:
            values["http_threads"] = _int(sec, "http_threads", 1, 256)
        if "board" in sec:
            values["board"] = sec["board"].strip()
        if "drain_timeout" in sec:
            values["drain_timeout"] = float(_int(sec, "drain_timeout", 0, MAX_DRAIN_TIMEOUT))
    if parser.has_section("push") and "url" in parser["push"]:
        values["push_urls"] = _split(parser["push"]["url"])


def _read_simulate(parser: configparser.ConfigParser, values: dict[str, Any]) -> None:
    if not parser.has_section("simulate"):
        return
    sec = parser["simulate"]
    values["simulate"] = _int(sec, "ports", 1, 32) if "ports" in sec else 0
    if "slots" in sec:
        values["slots"] = _int(sec, "slots", 1, 4)
    if "latency" in sec:
        values["sim_latency"] = float(sec["latency"])


def _read_ports(parser: configparser.ConfigParser, values: dict[str, Any]) -> None:
    ports = []
    for name in parser.sections():
        if not name.startswith("port."):
            continue
        index = name.partition(".")[2]
        if not index.isdigit() or int(index) > 31:
            raise ConfigError(f"[{name}]: port sections are [port.0] .. [port.31]")
        sec = parser[name]
        if "device" not in sec:
            raise ConfigError(f"[{name}]: 'device' is required")
        ports.append(SerialPortConfig(int(index), sec["device"],
                                      _int(sec, "slots", 1, 4) if "slots" in sec else 1,
                                      _int(sec, "baudrate", 1200, 4000000)
                                      if "baudrate" in sec else 115200))
    if ports:
        values["serial_ports"] = tuple(sorted(ports, key=lambda p: p.port))


def _read_network(parser: configparser.ConfigParser, values: dict[str, Any]) -> None:
    if not parser.has_section("network"):
        return
    sec = parser["network"]
    try:
        values["network_manage"] = sec.getboolean("manage", fallback=False)
    except ValueError:
        raise ConfigError(f"[network] manage: {sec['manage']!r} is not yes or no") from None
    if "dir" in sec:
        values["network_dir"] = sec["dir"].strip()
    if "interface" in sec:
        values["network_interface"] = sec["interface"].strip()


def _read_web(parser: configparser.ConfigParser, values: dict[str, Any]) -> None:
    if parser.has_section("web") and "session_idle" in parser["web"]:
        minutes = _int(parser["web"], "session_idle", 1, MAX_SESSION_IDLE_MINUTES)
        values["web_session_idle"] = minutes * 60.0


def _read_smpp(parser: configparser.ConfigParser, values: dict[str, Any]) -> None:
    if not parser.has_section("smpp"):
        return
    sec = parser["smpp"]
    if sec.get("listen", "").strip():
        values["smpp_listen"] = parse_listen(sec["listen"])
    if "max_queue" in sec:
        values["smpp_max_queue"] = _int(sec, "max_queue", 1, 10_000_000)


def _read_metrics(parser: configparser.ConfigParser, values: dict[str, Any]) -> None:
    if parser.has_section("metrics") and "open_on_loopback" in parser["metrics"]:
        sec = parser["metrics"]
        try:
            values["metrics_open_on_loopback"] = sec.getboolean("open_on_loopback")
        except ValueError:
            raise ConfigError(f"[metrics] open_on_loopback: {sec['open_on_loopback']!r} is not "
                              "yes or no") from None


def _int(sec: configparser.SectionProxy, key: str, lo: int, hi: int) -> int:
    try:
        value = int(sec[key])
    except ValueError:
        raise ConfigError(f"[{sec.name}] {key}: {sec[key]!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"[{sec.name}] {key}: {value} is outside {lo}..{hi}")
    return value


def validate(cfg: Config) -> Config:
    """Checks shared by start-up and (later) the web forms."""
    if not 0 <= cfg.simulate <= 32:
        raise ConfigError("--simulate takes 1..32 ports")
    if not 1 <= cfg.slots <= 4:
        raise ConfigError("--slots takes 1..4")
    if cfg.sim_latency < 0:
        raise ConfigError("--sim-latency must not be negative")
    if not 0 <= cfg.drain_timeout <= MAX_DRAIN_TIMEOUT:
        raise ConfigError(f"--drain-timeout takes 0..{MAX_DRAIN_TIMEOUT} seconds")
    if cfg.port_count == 0:
        raise ConfigError("no modem ports: give --simulate N or [port.N] sections in the config")
    if cfg.log_level not in LOG_LEVELS:
        raise ConfigError(f"log_level {cfg.log_level!r} must be debug, info, warning or error")
    if (cfg.tls_cert is None) != (cfg.tls_key is None):
        raise ConfigError("tls_cert and tls_key go together: set both or neither")
    both = set(cfg.listen) & set(cfg.tls_listen)
    if both:
        raise ConfigError(f"{sorted(both)[0]} is both a listen and a tls_listen address")
    if not cfg.listen and not cfg.tls_listen:
        raise ConfigError("no listen address: give listen or tls_listen")
    return cfg


def build(file_values: dict[str, Any], overrides: dict[str, Any]) -> Config:
    merged = {**file_values, **{k: v for k, v in overrides.items() if v is not None}}
    return validate(_with_board(replace(Config(), **merged)))


def _with_board(cfg: Config) -> Config:
    """Parse the board description now, so a broken one stops the daemon before it starts;
    on real hardware its [port.N] sections name the serial devices."""
    if not cfg.board:
        return cfg
    description = board_description.load(cfg.board)
    if cfg.simulate:
        for lines in description.ports:
            if lines.port >= cfg.simulate:
                line = description.lines.get((f"port.{lines.port}", ""), 0)
                raise ConfigError(f"{cfg.board}:{line}: [port.{lines.port}]: the simulated board "
                                  f"has only {cfg.simulate} port(s)")
        return replace(cfg, board_description=description)
    if cfg.serial_ports:
        raise ConfigError(f"serial ports are given both in the config's [port.N] sections and in "
                          f"the board description {cfg.board}: keep them in the board description")
    ports = tuple(SerialPortConfig(p.port, p.device, p.slots, p.baudrate)
                  for p in description.ports)
    return replace(cfg, board_description=description, serial_ports=ports)


# --- what every subcommand that opens the state database shares --------------------------------
def add_state_options(parser: argparse.ArgumentParser) -> None:
    """--config and --state-dir, resolved by startup() alike for every subcommand."""
    parser.add_argument("--config", metavar="FILE", help="INI configuration file")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="the database and runtime files (default: [daemon] state_dir of "
                             f"--config, else {DEFAULT_STATE_DIR})")


@dataclass(frozen=True)
class Startup:
    """What a subcommand starts from: the checked config file's values and the state dir."""

    file_values: dict[str, Any]
    state_dir: str
    defaulted: bool             # neither --state-dir nor the config file chose the state dir

    def announce(self) -> None:
        """Say which state dir is opened when nobody chose it: e.g. `make run` keeps its
        database in ./state, and an administration command aimed at it without --state-dir
        would otherwise quietly work on another one."""
        if self.defaulted:
            print(f"smsd: using state dir {self.state_dir} (the default; --state-dir DIR "
                  "chooses another)", file=sys.stderr)


def startup(config_file: str | None, state_dir: str | None) -> Startup:
    """Read and check the config file (the same checks for every subcommand); the state dir is
    --state-dir, else the file's [daemon] state_dir, else DEFAULT_STATE_DIR."""
    values = load_file(config_file) if config_file else {}
    chosen = state_dir or values.get("state_dir") or None
    return Startup(values, chosen or DEFAULT_STATE_DIR, chosen is None)
