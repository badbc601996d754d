"""Commands the worker hands to the AT engine and the events the engine hands back.

All frozen dataclasses: events are values, safe to log, compare and pass between threads.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One AT command line.

    `expect` lists extra information-response prefixes this command claims (besides the one
    derived from its own name, e.g. `AT+CICCID` answers `+ICCID:`). `prompt_payload` makes the
    command a two-phase one: after the modem's `> ` prompt the engine sends payload + Ctrl-Z.
    The prompt must come within `prompt_timeout` (default: `timeout`), the final result within
    `timeout` after it: a modem that is slow on the network still prompts at once, so a short
    prompt timeout finds a dead modem before anything went on air.
    """

    text: str
    timeout: float = 5.0
    prompt_payload: str | None = None
    expect: tuple[str, ...] = ()
    prompt_timeout: float | None = None


@dataclass(frozen=True)
class Response:
    """The command completed with OK; `lines` are its information lines, in order."""

    command: Command
    lines: tuple[str, ...]
    ok: bool = True


@dataclass(frozen=True)
class CommandError:
    """The command completed with ERROR, +CME ERROR, +CMS ERROR or a call result code.

    `prompt_seen` tells whether the payload of a prompt command was already handed over.
    """

    command: Command
    lines: tuple[str, ...]
    cme: int | None = None
    cms: int | None = None
    text: str = "ERROR"
    prompt_seen: bool = False


@dataclass(frozen=True)
class Timeout:
    """No final result arrived before the command's deadline; the engine is idle again."""

    command: Command
    prompt_seen: bool = False


@dataclass(frozen=True)
class Urc:
    """An unsolicited result. `name` is the prefix (`+CMTI`, `RING`, ...), `args` the split
    fields of the first line, `lines` every line that belongs to it (PDU line included)."""

    name: str
    args: tuple[str, ...]
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Discarded:
    """A line nobody claims (late OK after a timeout, line noise); kept for logging."""

    line: str
    reason: str


Event = Response | CommandError | Timeout | Urc | Discarded
Final = Response | CommandError | Timeout
