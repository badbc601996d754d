"""The board description: which GPIO lines and serial device belong to which modem port.

An INI file (a conffile beside the main configuration). Example:

    [board]
    name = smsd-8p rev B
    button = GPIO21             ; front-panel button to ground (internal pull-up)
    button_hold = 5             ; seconds of holding that arm a factory reset
    confirm_window = 10         ; seconds in which a second press confirms it

    [port.0]
    device = /dev/smsd/platform-3f980000.usb-usb-0:1.2-at
    model = quectel             ; pulse timings: quectel (EC25) | simcom (SIM7600)
    power_key = GPIO5
    reset = GPIO6
    power_enable = GPIO13
    status = GPIO19
    sim_mux = GPIO20, GPIO26    ; slot-select lines, least significant first
    led = GPIO12
    active_high = yes           ; outputs drive a transistor that pulls the module pin low

Everything is checked before anything starts: an unknown section or key (a typo would otherwise
silently leave a line undriven), a malformed pin, a pin used twice, a missing device. Errors name
the file, the line, the section and the key, because configparser keeps no line numbers for
values, this module scans the file for them itself.
"""
from __future__ import annotations

import configparser
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from smsd.errors import ConfigError

log = logging.getLogger("smsd.board")

MAX_PORTS = 32
MODELS = ("quectel", "simcom")
BOARD_KEYS = frozenset({"name", "button", "button_hold", "confirm_window"})
LINE_KEYS = ("power_key", "reset", "power_enable", "status", "led")
PORT_KEYS = frozenset({"device", "model", "slots", "baudrate", "sim_mux", "active_high",
                       "status_active_high", *LINE_KEYS})
# gpiozero pin names: a Broadcom number, GPIOn/BCMn, BOARDn/WPIn or HEADER:n (e.g. J8:11).
_PIN = re.compile(r"^(?:\d+|(?:GPIO|BCM|BOARD|WPI)\d+|[A-Z][A-Z0-9]*:\d+)$")
_UNSTABLE = re.compile(r"^/dev/tty(USB|ACM)\d+$")     # numbered in probe order, not by socket
_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]")
_KEY = re.compile(r"^(?P<key>[^\s=:;#][^=:]*?)\s*[=:]")


@dataclass(frozen=True)
class PortLines:
    """One modem port: its serial device and its board lines (None: not wired)."""

    port: int
    device: str
    model: str = "quectel"
    slots: int = 1
    baudrate: int = 115200
    power_key: str | None = None
    reset: str | None = None
    power_enable: str | None = None
    status: str | None = None
    led: str | None = None
    sim_mux: tuple[str, ...] = ()
    active_high: bool = True          # outputs: True = driving the GPIO high asserts the line
    status_active_high: bool = True   # status input: True = high means "module on"


@dataclass(frozen=True)
class BoardDescription:
    name: str = "board"
    button: str | None = None
    button_hold: float = 5.0
    confirm_window: float = 10.0
    ports: tuple[PortLines, ...] = ()
    source: str = ""                  # the file it came from, for messages
    lines: dict[tuple[str, str], int] = field(default_factory=dict, compare=False)

    def port(self, port: int) -> PortLines:
        for lines in self.ports:
            if lines.port == port:
                return lines
        raise KeyError(port)


def load(path: str) -> BoardDescription:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read board description {path}: {exc.strerror}") from None
    return parse(text, path)


def parse(text: str, path: str = "<board>") -> BoardDescription:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return _Reader(parser, path, key_lines(text)).read()


def canonical_pin(spec: str) -> str:
    """GPIO17, BCM17 and 17 are one pin; other forms are kept as written (upper case)."""
    spec = spec.strip().upper()
    number = spec.removeprefix("GPIO").removeprefix("BCM")
    return f"GPIO{int(number)}" if number.isdigit() else spec


def key_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, key) -> 1-based line number; sections themselves under key ""."""
    found: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        head = _SECTION.match(line)
        if head:
            section = head["name"].strip()
            found.setdefault((section, ""), number)
            continue
        key = _KEY.match(line)
        if key and section:
            found.setdefault((section, key["key"].strip().lower()), number)
    return found


def did_you_mean(word: str, choices: Iterable[str], form: str = "'%s'") -> str:
    """" (did you mean 'x'?)" when one choice is close to the word, else ""."""
    import difflib     # here: only a config mistake needs it, and it stays resident once loaded
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {form % close[0]}?)" if close else ""


class _Reader:
    def __init__(self, parser: configparser.ConfigParser, path: str,
                 lines: dict[tuple[str, str], int]) -> None:
        self._parser = parser
        self._path = path
        self._lines = lines
        self._pins: dict[str, tuple[str, str]] = {}

    def fail(self, section: str, key: str, message: str) -> ConfigError:
        line = self._lines.get((section, key)) or self._lines.get((section, ""))
        where = f"{self._path}:{line}" if line else self._path
        name = f"[{section}] {key}" if key else f"[{section}]"
        return ConfigError(f"{where}: {name}: {message}")

    def read(self) -> BoardDescription:
        ports = []
        board = BoardDescription()
        for section in self._parser.sections():      # in file order: errors come out in order
            if section.startswith("port."):
                ports.append(self._port(section))
            elif section == "board":
                board = self._board()
            else:
                raise self.fail(section, "", "unknown section (expected [board] or [port.N])")
        if not ports:
            raise ConfigError(f"{self._path}: no [port.N] sections: the board has no modems")
        return replace(board, ports=tuple(sorted(ports, key=lambda p: p.port)),
                       source=self._path, lines=dict(self._lines))

    def _board(self) -> BoardDescription:
        sec = self._parser["board"]
        self._known(sec, BOARD_KEYS)
        default = BoardDescription()
        return BoardDescription(
            name=sec.get("name", default.name),
            button=self._pin(sec, "button") if "button" in sec else None,
            button_hold=self._seconds(sec, "button_hold", default.button_hold),
            confirm_window=self._seconds(sec, "confirm_window", default.confirm_window))

    def _port(self, section: str) -> PortLines:
        index = section.partition(".")[2]
        if not index.isdigit() or int(index) >= MAX_PORTS:
            raise self.fail(section, "", f"port sections are [port.0] .. [port.{MAX_PORTS - 1}]")
        sec = self._parser[section]
        self._known(sec, PORT_KEYS)
        if not sec.get("device", "").strip():
            raise self.fail(section, "", "'device' (the serial device of the modem) is required")
        if _UNSTABLE.match(sec["device"].strip()):
            log.warning("%s: [%s] device %s may be renumbered at boot; a udev name such as "
                        "/dev/smsd/<usb path>-at is stable", self._path, section, sec["device"])
        pins = {key: self._pin(sec, key) for key in LINE_KEYS if key in sec}
        mux = self._mux(sec)
        return PortLines(int(index), sec["device"].strip(), model=self._model(sec),
                         slots=self._slots(sec, mux), baudrate=self._baud(sec), sim_mux=mux,
                         active_high=self._bool(sec, "active_high", True),
                         status_active_high=self._bool(sec, "status_active_high", True), **pins)

    def _known(self, sec: configparser.SectionProxy, keys: frozenset[str]) -> None:
        for key in sec:
            if key not in keys:
                hint = did_you_mean(key, keys) or f" (known: {', '.join(sorted(keys))})"
                raise self.fail(sec.name, key, f"unknown key{hint}")

    def _pin(self, sec: configparser.SectionProxy, key: str, value: str | None = None) -> str:
        spec = (sec[key] if value is None else value).strip().upper()
        if not _PIN.match(spec):
            raise self.fail(sec.name, key, f"{spec!r} is not a GPIO pin (use e.g. GPIO17)")
        canonical = canonical_pin(spec)
        if canonical in self._pins:
            section, used_as = self._pins[canonical]
            raise self.fail(sec.name, key, f"{canonical} is already used by [{section}] {used_as}")
        self._pins[canonical] = (sec.name, key)
        return canonical

    def _mux(self, sec: configparser.SectionProxy) -> tuple[str, ...]:
        if "sim_mux" not in sec:
            return ()
        specs = [v for v in sec["sim_mux"].replace("\n", ",").split(",") if v.strip()]
        if not 1 <= len(specs) <= 2:
            raise self.fail(sec.name, "sim_mux", "give one or two slot-select pins (2 or 4 slots)")
        return tuple(self._pin(sec, "sim_mux", v) for v in specs)

    def _model(self, sec: configparser.SectionProxy) -> str:
        model = sec.get("model", "quectel").strip().lower()
        if model not in MODELS:
            raise self.fail(sec.name, "model", f"{model!r} is not one of {', '.join(MODELS)}")
        return model

    def _slots(self, sec: configparser.SectionProxy, mux: tuple[str, ...]) -> int:
        # Without mux lines the module itself may switch slots (e.g. AT+QDSIM on dual-SIM EC25).
        wired = 2 ** len(mux)
        slots = int(self._number(sec, "slots", int, 1, 4)) if "slots" in sec else wired
        if mux and slots > wired:
            raise self.fail(sec.name, "slots", f"{slots} slots need {slots.bit_length() - 1} "
                            f"sim_mux line(s), the port has {len(mux)}")
        return int(slots)

    def _baud(self, sec: configparser.SectionProxy) -> int:
        return int(self._number(sec, "baudrate", int, 1200, 4_000_000)) \
            if "baudrate" in sec else 115200

    def _seconds(self, sec: configparser.SectionProxy, key: str, default: float) -> float:
        return float(self._number(sec, key, float, 0.1, 600.0)) if key in sec else default

    def _number(self, sec: configparser.SectionProxy, key: str, kind: Callable[[str], float],
                lo: float, hi: float) -> float:
        try:
            value = kind(sec[key].strip())
        except ValueError:
            raise self.fail(sec.name, key, f"{sec[key]!r} is not a number") from None
        if not lo <= value <= hi:
            raise self.fail(sec.name, key, f"{value} is outside {lo:g}..{hi:g}")
        return value

    def _bool(self, sec: configparser.SectionProxy, key: str, default: bool) -> bool:
        try:
            return sec.getboolean(key, default)
        except ValueError:
            raise self.fail(sec.name, key, f"{sec[key]!r} is not yes/no") from None
